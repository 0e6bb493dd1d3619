"""Public events (contracts/public.py) as the integration service publishes them, and funder
access granted by tools.integration, for the tests of a funder's subscriber."""
from __future__ import annotations

import contextlib
import shutil
import uuid
from datetime import datetime, timezone
from typing import Iterator
from urllib.parse import quote, urlsplit, urlunsplit

import pika
import pytest

from contracts.envelope import Envelope, new_envelope
from contracts.public import (HOURS_VALIDATED, INTEGRATION_EXCHANGE, HoursValidatedV1,
                              public_routing_key)
from tools.integration import Rabbitmqctl, broker_user, grant, revoke


def hours_validated(funder_id: str, month: str = "2026-10") -> tuple[str, Envelope]:
    """(routing key, envelope) of a public event of `funder_id`."""
    payload = HoursValidatedV1(
        dossier_id=f"d-{uuid.uuid4().hex[:6]}", dossier_number="20X000703",
        organisation_id="o1", certificate_id="c1", month=month, party="beneficiary",
        complete=True, validated_at=datetime(2026, 11, 2, 9, tzinfo=timezone.utc))
    envelope = new_envelope("certification", "hours_validated", 1, payload, subject=month)
    return public_routing_key(funder_id, HOURS_VALIDATED), envelope


def publish(amqp_uri: str, events: list[tuple[str, Envelope]]) -> None:
    """On jalon.integration, persistent, with publisher confirms (as the relay does)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        channel.exchange_declare(INTEGRATION_EXCHANGE, "topic", durable=True)
        channel.confirm_delivery()
        for routing_key, envelope in events:
            channel.basic_publish(INTEGRATION_EXCHANGE, routing_key, envelope.model_dump_json(),
                                  pika.BasicProperties(content_type="application/json",
                                                       message_id=envelope.id,
                                                       delivery_mode=2))
    finally:
        connection.close()


def user_uri(amqp_uri: str, funder_id: str, password: str) -> str:
    """`amqp_uri` (its host and vhost) as the funder's broker user."""
    parts = urlsplit(amqp_uri)
    netloc = f"{quote(broker_user(funder_id), safe='')}:{quote(password, safe='')}@" \
             f"{parts.hostname}:{parts.port or 5672}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@contextlib.contextmanager
def funder_access(amqp_uri: str, label: str) -> Iterator[tuple[str, str]]:
    """A new funder id granted access on `amqp_uri`'s vhost: (funder_id, its user's AMQP URI);
    revoked at the end."""
    if not shutil.which("rabbitmqctl"):
        pytest.skip("rabbitmqctl is needed to create the funder's broker user")
    ctl, funder_id = Rabbitmqctl("rabbitmqctl"), f"{label}-{uuid.uuid4().hex[:8]}"
    password = grant(ctl, amqp_uri, funder_id)
    try:
        yield funder_id, user_uri(amqp_uri, funder_id, password)
    finally:
        revoke(ctl, amqp_uri, funder_id)
