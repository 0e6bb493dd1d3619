"""The OpenAPI document generated from the gateway's routes."""
from __future__ import annotations

import pytest

from gateway.errors import HttpProblem
from gateway.openapi import build
from gateway.pages import DOCS_ASSETS, docs_asset, docs_page
from gateway.routes import routes_of
from gateway.service import GatewayService

EXPECTED = {
    ("post", "/auth/login"), ("post", "/auth/logout"), ("get", "/me"),
    ("post", "/organisations"), ("get", "/organisations/{organisation_id}"),
    ("post", "/beneficiaries"), ("post", "/employers"), ("post", "/dossiers"),
    ("get", "/dossiers"), ("get", "/dossiers/counts"), ("get", "/dossiers/{dossier_id}"),
    ("get", "/dossiers/{dossier_id}/certificates"),
    ("get", "/dossiers/{dossier_id}/certificates/{month}"),
    ("put", "/dossiers/{dossier_id}/certificates/{month}/hours"),
    ("patch", "/dossiers/{dossier_id}/certificates/{month}/hours"),
    ("post", "/dossiers/{dossier_id}/certificates/{month}/certify"),
    ("get", "/dossiers/{dossier_id}/certificates/{month}/payment-lock"),
    ("get", "/dossiers/{dossier_id}/documents"), ("get", "/documents/{document_id}/content"),
    ("get", "/dossiers/{dossier_id}/certificates/{month}/draft"),
    ("get", "/verifications/{reference}"),
    ("get", "/auth/confirm-identifier"), ("get", "/auth/password-reset/confirm"),
    ("post", "/dossiers/{dossier_id}/certificates/{month}/attendance-sheet"),
    ("get", "/dossiers/{dossier_id}/certificates/{month}/hours/proposal"),
    ("post", "/dossiers/{dossier_id}/certificates/{month}/certification-code"),
    ("post", "/dossiers/{dossier_id}/certificates/{month}/reopen"),
    ("post", "/dossiers/{dossier_id}/certificates/{month}/validate"),
    ("post", "/dossiers/{dossier_id}/certificates/{month}/contest"),
    ("post", "/dossiers/{dossier_id}/certificates/{month}/transmit"),
    ("get", "/pending-actions"),
    ("patch", "/dossiers/{dossier_id}"), ("post", "/dossiers/import"),
    ("post", "/dossiers/import/spreadsheet"),
    ("get", "/certificates/template"),
    ("post", "/certificates/import"),
    ("get", "/certification-settings"),
    ("put", "/certification-settings"),
    ("get", "/payment-settings"), ("put", "/payment-settings"),
    ("get", "/document-categories"), ("post", "/document-categories"),
    ("post", "/documents"), ("get", "/documents"), ("get", "/documents/{document_id}"),
    ("patch", "/documents/{document_id}"), ("delete", "/documents/{document_id}"),
    ("put", "/documents/{document_id}/content"), ("post", "/documents/{document_id}/check"),
    ("post", "/documents/{document_id}/reject"),
    ("get", "/dossiers/{dossier_id}/documents/by-category"),
    ("get", "/health"), ("get", "/openapi.json"), ("get", "/docs"), ("get", "/"),  # issue 16
    ("get", "/health/live"), ("get", "/health/ready"),  # issue 18
    ("get", "/docs/assets/{asset}"),  # issue 17
    ("get", "/asyncapi.json"), ("get", "/asyncapi"),  # issue 17
    ("get", "/emails"), ("post", "/emails/{email_id}/resend"),  # issue 16
    ("post", "/integration/replays"), ("get", "/integration/replays"),  # issue 17
    ("get", "/integration/replays/{replay_id}"),
    ("post", "/webhooks"), ("get", "/webhooks"), ("get", "/webhooks/{webhook_id}"),  # issue 17
    ("delete", "/webhooks/{webhook_id}"), ("post", "/webhooks/{webhook_id}/rotate-secret"),
    ("get", "/webhooks/{webhook_id}/deliveries"), ("post", "/webhooks/{webhook_id}/replays"),
    ("get", "/webhooks/{webhook_id}/deliveries/{delivery_id}"),
    ("post", "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"),
    # identity and access (issue 4)
    ("post", "/auth/personalise"), ("post", "/auth/confirm-identifier"),
    ("post", "/auth/privacy-policy"), ("post", "/auth/password-reset"),
    ("post", "/auth/password-reset/confirm"), ("patch", "/me"), ("post", "/me/password"),
    ("post", "/me/identifier"), ("get", "/organisations/{organisation_id}/profile"),
    ("patch", "/organisations/{organisation_id}/profile"),
    ("put", "/organisations/{organisation_id}/certifier"),
    ("get", "/organisations/{organisation_id}/users"),
    ("post", "/organisations/{organisation_id}/users"), ("patch", "/users/{user_id}"),
    ("post", "/users/{user_id}/resend-credentials"),
    ("get", "/users/{user_id}"), ("post", "/users/{user_id}/reset-link"),  # issue 15
    ("get", "/notifications"), ("get", "/notifications/unread-count"),  # issue 16
    ("post", "/notifications/{notification_id}/read"), ("post", "/notifications/read-all"),
    ("get", "/me/alert-settings"), ("put", "/me/alert-settings"),
    ("post", "/parties/{party_id}/resend-credentials"),
    ("post", "/funder-users"), ("get", "/api-tokens"), ("post", "/api-tokens"),
    ("delete", "/api-tokens/{token_id}"), ("get", "/organisations/{organisation_id}/audit"),
    ("get", "/audit"), ("get", "/audit/verify"),  # one audit trail (issue 15)
    # email change by confirmation (issue 11)
    ("post", "/auth/confirm-email"), ("get", "/auth/confirm-email"),
    ("post", "/auth/cancel-email-change"), ("get", "/auth/cancel-email-change"),
    # payments (issue 6)
    ("post", "/dossiers/{dossier_id}/certificates/{month}/payment-lock/unlock"),
    ("post", "/payments"), ("post", "/payments/import"), ("get", "/payments"),
    ("post", "/payments/exports"), ("get", "/payments/{payment_id}"),
    ("post", "/payments/{payment_id}/remittance-advice"),
    ("put", "/payments/{payment_id}/reconciliation"),
    ("get", "/organisations/{organisation_id}/bank-details"),
    ("post", "/organisations/{organisation_id}/bank-details"),
    ("post", "/organisations/{organisation_id}/bank-details/review"),
    ("get", "/organisations/{organisation_id}/credit-note-mode"),
    ("put", "/organisations/{organisation_id}/credit-note-mode"),
    ("post", "/credit-notes"), ("get", "/credit-notes"), ("get", "/credit-notes/{credit_note_id}"),
    ("post", "/credit-notes/{credit_note_id}/received"),
    ("post", "/credit-notes/{credit_note_id}/pro-forma"),
    # account settings and self-service sign-up (issue 15)
    ("get", "/account-settings"), ("put", "/account-settings"), ("get", "/password-rules"),
    ("post", "/signup"), ("get", "/signup"), ("post", "/signup/activate"),
    ("get", "/signup/activate"), ("get", "/signups"), ("post", "/signups/{signup_id}/suspend"),
    # long work as jobs (issue 18)
    ("get", "/jobs"), ("get", "/jobs/{job_id}"), ("get", "/jobs/{job_id}/file"),
    ("post", "/jobs/{job_id}/cancel"),
}


@pytest.fixture(scope="module")
def document():
    return build(GatewayService)


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(document, ref):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_every_route_is_documented_once(document):
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert documented == EXPECTED
    assert len(routes_of(GatewayService)) == len(EXPECTED)
    operation_ids = [op["operationId"] for ops in document["paths"].values()
                     for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_it_is_openapi_31_and_every_reference_resolves(document):
    assert document["openapi"] == "3.1.0"
    refs = set(_refs(document))
    assert "#/components/schemas/HoursEntry" in refs
    for ref in refs:
        _resolve(document, ref)
    assert "$defs" not in str(document)


def test_operations_declare_parameters_bodies_problems_and_security(document):
    hours = document["paths"]["/dossiers/{dossier_id}/certificates/{month}/hours"]["put"]
    params = {p["name"]: p for p in hours["parameters"]}
    assert params["month"]["in"] == "path" and params["month"]["required"]
    assert params["month"]["schema"]["pattern"] == r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"
    assert params["dossier_id"]["schema"]["maxLength"] == 64
    assert hours["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HoursEntry"}
    for status in ("400", "401", "403", "422", "default"):
        content = hours["responses"][status]["content"]
        assert content["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    assert hours["security"] == [{"bearerAuth": []}]
    assert hours["x-roles"] == ["organisation_user"]
    login = document["paths"]["/auth/login"]["post"]
    assert login["security"] == [] and "401" not in login["responses"]
    search = document["paths"]["/dossiers"]["get"]["parameters"]
    assert search[0] == {"name": "q", "in": "query", "required": False,
                         "schema": {"type": "string", "maxLength": 200,
                                    "description": "number or beneficiary name",
                                    "examples": ["20X000703"]},
                         "description": "number or beneficiary name", "example": "20X000703"}
    assert [(p["name"], p["schema"].get("enum")) for p in search[1:]] == [
        ("action_type", ["ptp", "vae", "bilan", "apprentissage"]),
        ("status", ["in_progress", "closed"]), ("pending", None)]
    listing = document["paths"]["/dossiers"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/DossierSummary"}}
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer"}


def test_created_and_empty_replies(document):
    assert "201" in document["paths"]["/dossiers"]["post"]["responses"]
    logout = document["paths"]["/auth/logout"]["post"]["responses"]["204"]
    assert "content" not in logout
    health = document["paths"]["/health"]["get"]["responses"]
    assert health["503"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/HealthReport")


def test_french_hours_are_documented(document):
    hours = document["components"]["schemas"]["HoursEntry"]["properties"]["training_hours"]
    string_branch = next(b for b in hours["anyOf"] if b["type"] == "string")
    assert "," in string_branch["pattern"]


def test_the_docs_page_is_swagger_ui_served_by_the_gateway_itself():
    response = docs_page()
    html = response.get_data(as_text=True)
    assert (response.status_code, response.mimetype) == (200, "text/html")
    assert '<html lang="fr">' in html and "<title>Jalon – API</title>" in html
    assert 'src="docs/assets/swagger-ui-bundle.js"' in html
    assert 'url: "openapi.json"' in html  # relative: the page works behind a prefix
    assert "deepLinking: true" in html and "filter: true" in html
    assert "validatorUrl: null" in html  # else Swagger UI calls its online validator
    assert "http:" not in html and "https:" not in html
    assert '="//' not in html  # nor an address relative to the scheme


@pytest.mark.parametrize("name", sorted(DOCS_ASSETS))
def test_each_asset_the_page_loads_is_served_with_its_type_for_a_day(name):
    response = docs_asset(name)
    assert response.status_code == 200 and response.get_data()
    assert response.mimetype == DOCS_ASSETS[name]
    assert response.headers["Cache-Control"] == "public, max-age=86400"


def test_the_page_loads_only_allowed_assets():
    html = docs_page().get_data(as_text=True)
    loaded = {part.split('"', 1)[0] for part in html.split('"docs/assets/')[1:]}
    assert loaded == set(DOCS_ASSETS)


@pytest.mark.parametrize("name", ["index.html", "swagger-ui.js.map", "..", "../pages.py",
                                  "/etc/passwd", "swagger-ui.css/..", ""])
def test_any_other_asset_name_is_not_found(name):
    with pytest.raises(HttpProblem) as problem:
        docs_asset(name)
    assert (problem.value.status, problem.value.code) == (404, "route_not_found")


def test_uploads_are_multipart_with_a_binary_file_and_their_form_fields(document):
    upload = document["paths"]["/documents"]["post"]
    schema = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert list(upload["requestBody"]["content"]) == ["multipart/form-data"]
    assert schema["properties"]["file"]["type"] == "string"
    assert schema["properties"]["file"]["format"] == "binary"
    assert schema["properties"]["file"]["contentMediaType"] == "application/octet-stream"
    assert {"category", "label", "dossier_id", "period_start", "period_end"} <= set(
        schema["properties"])
    assert "filename" not in schema["properties"]
    assert "content_base64" not in schema["properties"]
    assert {key: schema["properties"]["period_start"][key] for key in ("type", "format")} == {
        "type": "string", "format": "date"}
    assert "anyOf" not in schema["properties"]["period_start"]  # absent, never null
    assert schema["required"] == ["file", "category"]
    assert {"413", "415", "422"} <= set(upload["responses"])
    assert "201" in upload["responses"]
    replace = document["paths"]["/documents/{document_id}/content"]["put"]["requestBody"]
    assert replace["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
    patch = document["paths"]["/documents/{document_id}"]["patch"]["requestBody"]
    assert list(patch["content"]) == ["application/json"]


def test_downloads_and_public_verification(document):
    draft = document["paths"]["/dossiers/{dossier_id}/certificates/{month}/draft"]["get"]
    assert list(draft["responses"]["200"]["content"]) == ["application/pdf"]
    verification = document["paths"]["/verifications/{reference}"]["get"]
    assert verification["security"] == []
    assert document["paths"]["/document-categories"]["post"]["x-roles"] == [
        "funder_admin", "funder_agent"]


def test_the_idempotency_key_header_is_declared_where_a_retry_is_safe(document):
    paths = document["paths"]
    month = "/dossiers/{dossier_id}/certificates/{month}"
    honouring = [paths[month + "/certify"]["post"], paths["/payments"]["post"],
                 paths["/payments/import"]["post"]]
    for operation in honouring:
        header = {p["name"]: p for p in operation["parameters"]}["Idempotency-Key"]
        assert (header["in"], header["required"]) == ("header", False)
        assert header["schema"] == {"type": "string", "pattern": "^[!-~]{1,255}$"}
        assert "sans risque" in header["description"]
    entry = paths[month + "/hours"]["put"]
    assert "Idempotency-Key" not in {p["name"] for p in entry["parameters"]}
    assert "Retry-After" in document["info"]["description"]


def test_only_state_changing_routes_take_an_idempotency_key():
    from gateway.routes import route
    with pytest.raises(ValueError):
        route("GET", "/x", summary="x", tags=["x"], idempotency_key=True)
