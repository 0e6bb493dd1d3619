"""The gateway's HTML pages: those an emailed link opens (identifier or email confirmation,
email change cancellation, new password), sign-up, the root page and the API reader.

A link's page only asks: the confirmation itself is the POST its button sends to the API. A
link that acted on GET would be acted upon by the mail scanners that prefetch links.
"""
from __future__ import annotations

import functools
from pathlib import Path

import jinja2
from swagger_ui_bundle import swagger_ui_path
from werkzeug.wrappers import Response

from contracts.common.links import SPACE_LINKS
from gateway.errors import HttpProblem

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined)

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
    "confirm_email": {
        "title": "Confirmer votre nouvelle adresse e-mail",
        "intro": "Cliquez sur le bouton pour que cette adresse devienne celle de votre compte.",
        "action": "/auth/confirm-email",
        "button": "Confirmer",
        "done": "Votre nouvelle adresse e-mail est enregistrée.",
        "passwords": False,
    },
    "cancel_email_change": {
        "title": "Annuler le changement d'adresse e-mail",
        "intro": "Cliquez sur le bouton pour annuler la demande : votre adresse actuelle reste "
                 "celle du compte, et toutes les sessions ouvertes sur votre compte prennent "
                 "fin.",
        "action": "/auth/cancel-email-change",
        "button": "Annuler le changement",
        "done": "La demande est annulée. Changez maintenant votre mot de passe (« Mot de passe "
                "oublié » sur la page de connexion) : elle a été faite avec votre mot de passe.",
        "passwords": False,
    },
}


def link_page(kind: str, token: str, rules_text: str | None = None) -> Response:
    """`rules_text`: the password rules of the link's funder (issue 15), instead of the
    page's default intro."""
    page = PAGES[kind] if rules_text is None else {
        **PAGES[kind], "intro": f"Votre mot de passe doit comporter {rules_text}"}
    html = _TEMPLATES.get_template("link.html").render(page=page, token=token)
    response = Response(html, mimetype="text/html")
    # The token is in the address: never send it on to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# --- self-service sign-up (issue 15) ----------------------------------------------------------

def _page(template: str, **values) -> Response:
    response = Response(_TEMPLATES.get_template(template).render(**values), mimetype="text/html")
    response.headers["Referrer-Policy"] = "no-referrer"  # the code may be in the address
    return response


CAPTCHA_WIDGETS = {
    # provider: (its script, the widget's class, the form field its answer lands in)
    "hcaptcha": ("https://js.hcaptcha.com/1/api.js", "h-captcha", "h-captcha-response"),
    "recaptcha": ("https://www.google.com/recaptcha/api.js", "g-recaptcha",
                  "g-recaptcha-response"),
}


def signup_page(funder_code: str, captcha_provider: str = "none",
                captcha_site_key: str = "") -> Response:
    """Seed 003's form, in one page: it POSTs /signup, with the provider's CAPTCHA widget
    when one is set (its answer is the request's captcha_token)."""
    widget = CAPTCHA_WIDGETS.get(captcha_provider) if captcha_site_key else None
    return _page("signup.html", funder=funder_code, captcha=widget and {
        "script": widget[0], "css_class": widget[1], "field": widget[2],
        "site_key": captcha_site_key})


def activation_page(funder_code: str, email: str, code: str) -> Response:
    """What the activation email's link opens, email and code prefilled; it shows the
    funder's password rules (GET /password-rules) and POSTs /signup/activate."""
    return _page("signup_activate.html", funder=funder_code, email=email, code=code)


# --- the root page, where emails' default links lead (issue 16) -------------------------------

def home_page() -> Response:
    """What Jalon is, where its documentation is, and which API route each email link opens."""
    links = [(path, label[:1].upper() + label[1:]) for path, label in SPACE_LINKS.values()
             if path != "/"]
    return Response(_TEMPLATES.get_template("home.html").render(links=links),
                    mimetype="text/html")


# --- the API reader (issue 17): Swagger UI from the gateway itself, so it works offline ------

# The files of swagger-ui-bundle that docs.html loads, and their types: nothing else is served.
DOCS_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
DOCS_ASSET_MAX_AGE = 24 * 3600


def docs_page() -> Response:
    """Swagger UI reading /openapi.json; every address in it is relative, so the page works
    behind a proxy that adds a prefix."""
    return Response(_TEMPLATES.get_template("docs.html").render(), mimetype="text/html")


def docs_asset(name: str) -> Response:
    """A file of DOCS_ASSETS; any other name (a path, "..") is an unknown address."""
    if name not in DOCS_ASSETS:
        raise HttpProblem(404, "route_not_found", "Cette adresse n'existe pas.")
    return Response(_asset_content(name), mimetype=DOCS_ASSETS[name],
                    headers={"Cache-Control": f"public, max-age={DOCS_ASSET_MAX_AGE}"})


@functools.cache
def _asset_content(name: str) -> bytes:
    return (swagger_ui_path / name).read_bytes()


# --- the public events' reader (issue 17): /asyncapi.json made readable, offline -------------

def asyncapi_page(events: dict, broker: dict) -> Response:
    """`events`: gateway.asyncapi.readable's channels and envelope fields; `broker`: where
    subscribers connect (protocol, host, vhost)."""
    return Response(_TEMPLATES.get_template("asyncapi.html").render(
        envelope=events["envelope"], channels=events["channels"], broker=broker),
        mimetype="text/html")
