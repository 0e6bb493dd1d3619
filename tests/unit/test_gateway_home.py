"""Issue 16: the gateway's root page, where the credentials email's link leads: French, what
Jalon is, its documentation, and the API route each kind of email link opens."""
from __future__ import annotations

from contracts.common.links import SPACE_LINKS
from gateway.pages import home_page
from gateway.routes import routes_of
from gateway.service import GatewayService


def test_the_root_page_says_what_jalon_is_and_where_links_lead():
    response = home_page()
    html = response.get_data(as_text=True)
    assert (response.status_code, response.mimetype) == (200, "text/html")
    assert "<html lang=\"fr\">" in html and "<title>Accueil – Jalon</title>" in html
    assert "Jalon est l'espace où les organismes de formation" in html
    assert '<a href="/docs">' in html
    assert "<code>GET /dossiers/{dossier_id}/certificates/{month}</code>" in html
    assert "<code>GET /me/alert-settings</code>" in html
    assert "Le certificat de réalisation d&#39;un mois d&#39;un dossier" in html
    assert html.count("<code>GET ") == len(SPACE_LINKS) - 1  # all but the page itself
    assert "http" not in html.replace('href="/', "")  # no remote resource


def test_the_root_is_a_public_html_route():
    [home] = [spec for spec in routes_of(GatewayService) if spec.path == "/"]
    assert (home.method, home.auth, home.media_type) == ("GET", False, "text/html")



def test_every_kind_of_link_opens_a_get_route_of_the_gateway():
    gets = {spec.path for spec in routes_of(GatewayService) if spec.method == "GET"}
    assert {path for path, _ in SPACE_LINKS.values()} <= gets
