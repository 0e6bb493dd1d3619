"""The most common passwords, refused whatever the other rules say (issue 4).

Source: the top entries of public breach-frequency lists (SecLists
"Passwords/Common-Credentials/10k-most-common.txt", the NCSC "100k most common" list and
published French top lists: azerty, soleil, motdepasse...), lower-cased, plus their usual
variants that pass the character rules (an upper-case first letter, a digit run, a trailing
special character, "@" for "a", "0" for "o"). Compared lower-cased: "P@ssw0rd" is refused.
Pure data, no I/O: kept out of passwords.py only for its length.
"""
from __future__ import annotations

_BASES = (
    "password", "passw0rd", "p@ssword", "p@ssw0rd", "motdepasse", "m0tdepasse", "azerty",
    "azertyuiop", "qwerty", "qwertyuiop", "123456", "12345678", "123456789", "1234567890",
    "iloveyou", "jetaime", "soleil", "bonjour", "doudou", "chouchou", "loulou", "marseille",
    "football", "baseball", "dragon", "monkey", "letmein", "welcome", "admin", "administrator",
    "abc123", "sunshine", "princess", "master", "shadow", "superman", "batman", "trustno1",
    "starwars", "liverpool", "chelsea", "arsenal", "michael", "jennifer", "nicolas", "camille",
    "julien", "vivelafrance", "france", "paris", "changeme", "secret123", "azerty123",
    "qwerty123", "password1", "password123", "motdepasse1", "motdepasse123", "bienvenue",
    "bienvenue1", "welcome1", "admin123", "root", "toor", "test1234", "jalon", "jalon2026",
    "formation", "organisme", "transitionspro", "default", "passe", "utilisateur",
)

_SUFFIXES = ("", "!", "?", ".", "@", "#", "*", "1!", "123!", "2024!", "2025!", "2026!",
             "_2024", "_2025", "_2026", "-2026", "@2026", "#1", "$")


def _variants() -> frozenset[str]:
    return frozenset(base + suffix for base in _BASES for suffix in _SUFFIXES)


COMMON_PASSWORDS: frozenset[str] = _variants() | frozenset({
    "p@ssw0rd!", "p@$$w0rd", "p@$$word", "passw0rd!", "azerty&123", "azerty!123",
    "a123456789!", "aa123456!", "abcd1234!", "abc123!", "qwerty!23", "1q2w3e4r!",
    "1qaz2wsx!", "zaq12wsx!", "qazwsx123!", "changeme!", "welcome@123", "admin@123",
    "password@123", "password#123", "motdepasse@123", "iloveyou!", "monkey123!",
})


def is_common(password: str) -> bool:
    return password.lower() in COMMON_PASSWORDS
