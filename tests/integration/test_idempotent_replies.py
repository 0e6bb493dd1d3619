"""Idempotency keys against the real certification and payments services (RabbitMQ +
PostgreSQL): a retry or a redelivery with the same key answers the first reply, never a 409,
and the effect happens once."""
from __future__ import annotations

import uuid

import eventlet
import pytest
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc as rpc_method
from nameko.standalone.rpc import ClusterRpcProxy

from servicekit.context import IDEMPOTENCY_KEY
from servicekit.db import DatabaseAccess
from contracts.common.errors import Conflict, InvalidInput
from services.certification.service import CertificationService
from tests.support.integration import (ATTEST, HOURS, ORG_USER, STAFF, FakeDocuments,
                                       FakeDossiers, FakeIdentity, FakePayments, Recorded,
                                       certified_for_payment, dependency, new_payment,
                                       outbox_count, this_month)


class ContextData(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return dict(worker_ctx.data)


class RecordingDossiers(FakeDossiers):
    """dossiers as the fake of the certification tests, noting what each call carried."""

    context_data = ContextData()
    contexts = Recorded()

    @rpc_method
    def get_dossier(self, actor, dossier_id):
        self.contexts.append(self.context_data)
        return super().get_dossier(actor, dossier_id)


@pytest.fixture
def nested_contexts(container_factory, neighbours) -> list[dict]:
    """The context data of the calls certification makes to dossiers."""
    return dependency(container_factory(RecordingDossiers, NEIGHBOURS=neighbours), Recorded).calls


@pytest.fixture
def certification(service_env, container_factory, neighbours, mail, nested_contexts):
    url = service_env("certification")
    for fake in (FakeIdentity, FakeDocuments, FakePayments):
        container_factory(fake, NEIGHBOURS=neighbours)
    container_factory(CertificationService)
    return url


@pytest.fixture
def keyed(amqp_uri):
    """RPC as the gateway makes it: with an Idempotency-Key in the context data."""
    proxies = []

    def proxy(key: str) -> ClusterRpcProxy:
        opened = ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=30,
                                 context_data={IDEMPOTENCY_KEY: key})
        proxies.append(opened)
        return opened.start()

    yield proxy
    for opened in proxies:
        opened.stop()


def killed(*args, **kwargs):
    """Stands for a SIGKILL right after the method's own commit (a redelivery follows)."""
    raise RuntimeError("SIGKILL")


def entered_month(rpc, neighbours) -> tuple[str, str]:
    dossier, month = neighbours.dossier(), this_month()
    rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    return dossier["id"], month


def test_certify_twice_with_one_key_answers_the_first_reply_and_certifies_once(
        certification, rpc, keyed, neighbours, nested_contexts):
    dossier_id, month = entered_month(rpc, neighbours)
    key = str(uuid.uuid4())
    first = keyed(key).certification.certify(ORG_USER, dossier_id, month, ATTEST)
    again = keyed(key).certification.certify(ORG_USER, dossier_id, month, ATTEST)
    assert first == again and first["status"] == "certified"
    assert outbox_count(certification, "certified") == 1
    # The key was for certification only: its calls to dossiers did not carry it.
    assert nested_contexts and not any(IDEMPOTENCY_KEY in data for data in nested_contexts)
    with pytest.raises(InvalidInput) as exc:  # the same key for another request
        keyed(key).certification.certify(ORG_USER, dossier_id, month,
                                         {**ATTEST, "method": 2, "code": "1234"})
    assert exc.value.code == "idempotency_key_reused"
    with pytest.raises(Conflict) as exc:  # a new request (another key) is judged by the rules
        keyed(str(uuid.uuid4())).certification.certify(ORG_USER, dossier_id, month, ATTEST)
    assert exc.value.code == "certificate_already_certified"


def test_a_certify_redelivered_after_a_crash_past_commit_answers_the_original_result(
        certification, rpc, keyed, monkeypatch, neighbours):
    """The process dies once the certification is committed, before anything else: the
    broker redelivers the call, which must find its reply, not 409 already certified."""
    dossier_id, month = entered_month(rpc, neighbours)
    key = str(uuid.uuid4())
    with monkeypatch.context() as patch:
        patch.setattr(DatabaseAccess, "store_reply", killed)
        with pytest.raises(Exception):
            keyed(key).certification.certify(ORG_USER, dossier_id, month, ATTEST)
    redelivered = keyed(key).certification.certify(ORG_USER, dossier_id, month, ATTEST)
    stored = rpc.certification.get_certificate(ORG_USER, dossier_id, month)
    assert redelivered["status"] == "certified" and redelivered["version"] == stored["version"]
    assert outbox_count(certification, "certified") == 1


def test_twin_certify_calls_with_one_key_both_get_the_winners_reply(certification, rpc,
                                                                     keyed, neighbours):
    dossier_id, month = entered_month(rpc, neighbours)
    key = str(uuid.uuid4())
    twins = [keyed(key) for _ in range(2)]  # one proxy per green thread

    def certify(proxy):
        return proxy.certification.certify(ORG_USER, dossier_id, month, ATTEST)

    replies = [thread.wait() for thread in [eventlet.spawn(certify, p) for p in twins]]
    assert replies[0] == replies[1] and replies[0]["status"] == "certified"
    assert outbox_count(certification, "certified") == 1


def test_record_payment_twice_with_one_key_records_one_payment(payments, rpc,
                                                               keyed, monkeypatch, neighbours):
    dossier, number = neighbours.dossier(), f"P{uuid.uuid4().hex[:8]}"
    certified_for_payment(payments, dossier)
    key = str(uuid.uuid4())
    first = keyed(key).payments.record_payment(STAFF, new_payment(number, dossier))
    again = keyed(key).payments.record_payment(STAFF, new_payment(number, dossier))
    assert first == again and first["status"] == "issued"
    # Killed after the payment's commit: the redelivery answers the payment, not
    # payment_number_taken (the advice still to issue: POST …/remittance-advice).
    other, crashed_key = f"P{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    with monkeypatch.context() as patch:
        patch.setattr(DatabaseAccess, "store_reply", killed)
        with pytest.raises(Exception):
            keyed(crashed_key).payments.record_payment(STAFF, new_payment(other, dossier))
    redelivered = keyed(crashed_key).payments.record_payment(STAFF, new_payment(other, dossier))
    assert redelivered["number"] == other
    assert rpc.payments.list_payments(STAFF, {})["rows"] == 2
