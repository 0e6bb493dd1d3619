"""GET /jobs asks every service that runs jobs: one out of reach leaves its jobs out and is
named, the others' are still listed; none answering, or the broker gone, is the route's 503."""
from __future__ import annotations

import json

import pytest

from contracts.common.errors import ServiceUnavailable
from gateway import jobs

ACTOR = {"user_id": "u1", "role": "funder_agent", "funder_id": "f1"}


class Answering:
    def __init__(self, *created: str):
        self.jobs = [{"id": f"j-{moment}", "created_at": moment} for moment in created]

    def list_jobs(self, actor, query):
        return self.jobs


class Silent:
    def __init__(self, code: str = "rpc_timeout"):
        self.code = code

    def list_jobs(self, actor, query):
        raise ServiceUnavailable(self.code, "Le service est indisponible.",
                                 {"call": "payments.list_jobs"})


def listed(clients: dict, limit: int = 50):
    return jobs.listing(clients, ACTOR, {"limit": limit}, limit)


def test_the_jobs_of_every_service_newest_first():
    answer = listed({"dossiers": Answering("2026-10-02T09:00:00Z"),
                     "payments": Answering("2026-10-03T09:00:00Z", "2026-10-01T09:00:00Z")},
                    limit=2)
    assert [job["id"] for job in json.loads(answer.data)] == [
        "j-2026-10-03T09:00:00Z", "j-2026-10-02T09:00:00Z"]
    assert jobs.UNAVAILABLE_HEADER not in answer.headers


@pytest.mark.parametrize("code", ["rpc_timeout", "service_unavailable"])
def test_a_service_out_of_reach_is_named_and_the_others_listed(code):
    answer = listed({"dossiers": Answering("2026-10-02T09:00:00Z"), "integration": Silent(code),
                     "payments": Silent(code)})
    assert [job["id"] for job in json.loads(answer.data)] == ["j-2026-10-02T09:00:00Z"]
    assert answer.headers[jobs.UNAVAILABLE_HEADER] == "integration, payments"


def test_none_answering_or_the_broker_gone_is_the_routes_503():
    with pytest.raises(ServiceUnavailable):
        listed({"dossiers": Silent(), "payments": Silent()})
    with pytest.raises(ServiceUnavailable) as broker:
        listed({"dossiers": Answering("2026-10-02T09:00:00Z"),
                "payments": Silent("broker_unavailable")})
    assert broker.value.code == "broker_unavailable"
