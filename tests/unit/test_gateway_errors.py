"""The one table from remote error classes to HTTP problems."""
from __future__ import annotations

import pytest
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService

from contracts.http import Problem
from gateway.errors import HttpProblem, problem_for
from contracts.common import errors as kit


@pytest.mark.parametrize("exc, status", [
    (kit.InvalidInput("invalid_payload", "Données invalides."), 422),
    (kit.Unauthenticated("session_expired", "Session expirée."), 401),
    (kit.Forbidden("not_yours", "Ce dossier n'est pas le vôtre."), 403),
    (kit.NotFound("dossier_not_found", "Dossier introuvable."), 404),
    (kit.Conflict("already_certified", "Déjà certifié."), 409),
    (kit.ServiceUnavailable("rpc_timeout", "Le service ne répond pas."), 503),
])
def test_kit_errors_keep_their_code_and_message(exc, status):
    body, headers = problem_for(exc, "cid", "/x")
    Problem.model_validate(body)
    assert (body["status"], body["code"], body["detail"]) == (status, exc.code, exc.message)
    assert body["type"] == f"urn:jalon:problem:{exc.code}"
    assert body["correlation_id"] == "cid" and body["instance"] == "/x"
    assert ("WWW-Authenticate" in headers) == (status == 401)


@pytest.mark.parametrize("exc", [UnknownService("dossiers"), RpcTimeout()])
def test_nameko_unavailability_is_503(exc):
    body, _ = problem_for(exc, "cid")
    assert (body["status"], body["code"]) == (503, "service_unavailable")


def test_validation_details_pass_but_internal_details_stay_private():
    invalid = kit.InvalidInput("invalid_payload", "Données invalides.",
                               {"errors": [{"loc": ["month"], "msg": "bad"}], "field": "month"})
    body, _ = problem_for(invalid, "cid")
    assert body["errors"] == [{"loc": ["month"], "msg": "bad"}]
    assert body["details"] == {"field": "month"}
    timeout = kit.ServiceUnavailable("rpc_timeout", "Le service ne répond pas.",
                                     {"call": "dossiers.get_dossier"})
    body, _ = problem_for(timeout, "cid")
    assert body["details"] == {"service": "dossiers"} and "get_dossier" not in str(body)


@pytest.mark.parametrize("code", ["rpc_timeout", "service_unavailable"])
def test_a_service_out_of_reach_is_named_so_only_its_routes_fail_visibly(code):
    down = kit.ServiceUnavailable(code, "Le service ne répond pas.",
                                  {"call": "payments.import_payments", "timeout_seconds": 10})
    body, headers = problem_for(down, "cid")
    assert (body["status"], body["code"], body["details"]) == (503, code, {"service": "payments"})
    assert headers["Retry-After"] == "5"


@pytest.mark.parametrize("code", ["broker_unavailable", "database_unavailable"])
def test_other_unavailability_names_no_service(code):
    body, _ = problem_for(kit.ServiceUnavailable(code, "Indisponible.",
                                                 {"call": "payments.import_payments"}), "cid")
    assert "details" not in body


def test_unexpected_errors_are_5xx_without_detail():
    body, _ = problem_for(RemoteError("KeyError", "'secret'"), "cid")
    assert (body["status"], body["code"]) == (502, "upstream_error")
    assert "secret" not in str(body)
    body, _ = problem_for(ZeroDivisionError("boom"), "cid")
    assert (body["status"], body["code"]) == (500, "internal_error")
    assert "boom" not in str(body)


def test_gateway_problems_keep_their_headers():
    body, headers = problem_for(HttpProblem(405, "method_not_allowed", "Non.",
                                            headers={"Allow": "GET"}), "cid")
    assert body["title"] == "Méthode non autorisée" and headers == {"Allow": "GET"}


@pytest.mark.parametrize("exc", [
    KombuOperationalError("[Errno 111] Connection refused"),
    AmqpConnectionError("CONNECTION_FORCED - broker shutdown"),
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
])
def test_an_unreachable_broker_is_503_broker_unavailable_with_retry_after(exc):
    body, headers = problem_for(exc, "cid")
    assert (body["status"], body["code"]) == (503, "broker_unavailable")
    assert headers["Retry-After"] == "5"
    assert "refused" not in body["detail"] and "broker shutdown" not in body["detail"]


@pytest.mark.parametrize("exc", [
    kit.ServiceUnavailable("database_unavailable", "Base indisponible."), RpcTimeout(),
    UnknownService("dossiers"), HttpProblem(503, "unavailable", "Indisponible."),
])
def test_every_503_says_when_to_retry(exc):
    body, headers = problem_for(exc, "cid")
    assert body["status"] == 503 and int(headers["Retry-After"]) > 0
