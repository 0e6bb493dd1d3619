"""The two pages an emailed link opens (identifier confirmation, new password).

They only ask: the confirmation itself is the POST their button sends to the API. A link that
acted on GET would be acted upon by the mail scanners that prefetch links.
"""
from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.openapi import _TEMPLATES

PAGES = {
    "confirm_identifier": {
        "title": "Confirmer votre nouvel identifiant",
        "intro": "Cliquez sur le bouton pour confirmer votre nouvel identifiant de connexion.",
        "action": "/auth/confirm-identifier",
        "button": "Confirmer",
        "done": "Votre nouvel identifiant est confirmé : utilisez-le dès votre prochaine "
                "connexion.",
        "passwords": False,
    },
    "reset_password": {
        "title": "Choisir un nouveau mot de passe",
        "intro": "Au moins 8 caractères, dont une majuscule et un caractère spécial "
                 "(_ ! @ # $ % & * ( ) - + = { } [ ] \\ ; < > , . ? /).",
        "action": "/auth/password-reset/confirm",
        "button": "Enregistrer",
        "done": "Votre mot de passe est changé : connectez-vous avec le nouveau.",
        "passwords": True,
    },
}


def link_page(kind: str, token: str) -> Response:
    html = _TEMPLATES.get_template("link.html").render(page=PAGES[kind], token=token)
    response = Response(html, mimetype="text/html")
    # The token is in the address: never send it on to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
