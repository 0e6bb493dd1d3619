"""integration RPC shapes: replays of a funder's public events, and webhooks (issue 17).

A replay sends again, in order, the funder's public events (contracts/public.py) from a moment
or after an event, to the funder's own replay queue (`replay_queue`), never to the live
stream, or to one of its webhooks. What it sends is bounded when it is asked for: the events
logged until then.

A webhook is an HTTPS endpoint of a funder's system that receives the public events it chose,
one POST each (the CloudEvents envelope), signed as Standard Webhooks say (docs/integration.md).
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from contracts.common import Id, Shape
from contracts.public import PUBLIC_EVENTS

ReplayStatus = Literal["pending", "running", "done", "cancelled", "failed"]
DeliveryStatus = Literal["pending", "sending", "delivered", "failed", "cancelled"]
ALL_EVENTS = "*"


def replay_queue(funder_id: str) -> str:
    """The funder's replay queue (durable; on the default exchange, under its own name)."""
    return f"integration.{funder_id}.replay"


class ReplayRequest(Shape):
    """Exactly one of `since` and `after_event_id`."""

    since: AwareDatetime | None = Field(None, description="the events that occurred from "
                                        "this moment on (within the log's retention)")
    after_event_id: str | None = Field(None, min_length=1, max_length=64,
                                       description="the events after this public event (its "
                                       "CloudEvents `id`), e.g. the last one received")

    @model_validator(mode="after")
    def _one_start(self) -> "ReplayRequest":
        if (self.since is None) == (self.after_event_id is None):
            raise ValueError("donnez soit `since`, soit `after_event_id` (l'un des deux)")
        return self


class Replay(Shape):
    id: Id = Field(description="the replay's id, which is also its job's (GET /jobs/{job_id})",
                   examples=["integration-3f2b9c1e8d7a4b6c9e0f1a2b3c4d5e6f"])
    funder_id: str = Field(description="the funder whose events it sends")
    status: ReplayStatus = Field(description="pending (not started), running, done; "
                                 "cancelled or failed when its job was (the events sent "
                                 "before stay sent)")
    since: datetime | None = Field(None, description="the moment asked for, if any")
    after_event_id: str | None = Field(None, description="the event asked for, if any")
    queue: str | None = Field(description="where the events are sent: integration.<funder_id>"
                              ".replay (none for a replay to a webhook)",
                              examples=["integration.f1.replay"])
    webhook_id: str | None = Field(None, description="the webhook the events are delivered to "
                                   "(none for a replay to the queue)")
    total: int = Field(description="how many events the replay sends")
    sent: int = Field(description="how many are sent so far (to a webhook: how many "
                      "deliveries are created; each delivery says its own outcome)")
    created_by: str = Field(description="the user who asked for it",
                            examples=["9b2f6c1e-3d4a-4e5b-8c7d-0a1b2c3d4e5f"])
    created_at: datetime = Field(description="when it was asked for")
    finished_at: datetime | None = Field(None, description="when its last event was sent")


# ---- webhooks --------------------------------------------------------------------------------

def public_keys() -> list[str]:
    """The keys a webhook may ask for, e.g. `certification.month_certified.v1`."""
    return sorted(spec.key for spec in PUBLIC_EVENTS.values())


class NewWebhook(Shape):
    url: str = Field(min_length=1, max_length=2000,
                     description="the HTTPS address that receives the POSTs (no credentials "
                     "in it: check the signature instead)",
                     examples=["https://si.financeur.example.org/jalon/webhooks"])
    event_types: list[str] = Field(min_length=1, max_length=50, description="the public events "
                                   "wanted, by key (e.g. certification.month_certified.v1), or "
                                   "[\"*\"] for all, those added later included",
                                   examples=[["certification.month_certified.v1"]])
    description: str = Field("", max_length=200, description="what the endpoint is, for "
                             "the funder's staff", examples=["ERP de gestion des dossiers"])

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, event_types: list[str]) -> list[str]:
        unknown = sorted(set(event_types) - {ALL_EVENTS, *public_keys()})
        if unknown:
            raise ValueError(f"événements inconnus : {', '.join(unknown)} (connus : "
                             f"{', '.join(public_keys())}, ou *)")
        return sorted(set(event_types))


class Webhook(Shape):
    """A registered endpoint; never its secret (shown once, by WebhookSecret)."""

    id: Id = Field(description="the webhook's id")
    funder_id: str = Field(description="the funder whose events it receives")
    url: str = Field(description="where the events are POSTed",
                     examples=["https://si.financeur.example.org/jalon/webhooks"])
    event_types: list[str] = Field(description="the public events' keys it receives, or *",
                                   examples=[["certification.month_certified.v1"]])
    description: str = Field(description="what the endpoint is",
                             examples=["ERP de gestion des dossiers"])
    active: bool = Field(description="false once deleted: it receives nothing more")
    created_by: str = Field(description="the user who registered it",
                            examples=["9b2f6c1e-3d4a-4e5b-8c7d-0a1b2c3d4e5f"])
    created_at: datetime = Field(description="when it was registered")
    rotated_at: datetime | None = Field(None, description="when its secret last changed")
    previous_secret_until: datetime | None = Field(
        None, description="until then the previous secret signs too (a second signature)")
    disabled_at: datetime | None = Field(None, description="when it was deleted")


class WebhookSecret(Webhook):
    """The webhook with its signing secret: shown once, at registration and rotation."""

    secret: str = Field(description="whsec_ and the base64 of 32 random bytes: keep it "
                        "where your receiver reads it; Jalon never shows it again",
                        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])


class DeliveryQuery(Shape):
    status: DeliveryStatus | None = Field(None, description="only the deliveries in this "
                                          "status")
    limit: int = Field(50, ge=1, le=200, description="deliveries per page")
    offset: int = Field(0, ge=0, le=100_000, description="how many to skip, the newest first")


class DeliveryAttempt(Shape):
    number: int = Field(description="1 for the first attempt")
    at: datetime = Field(description="when it ended")
    status_code: int | None = Field(None, description="the receiver's HTTP status, if it "
                                    "answered")
    answer: str | None = Field(None, description="the first 2 KB of its answer",
                               examples=["ok"])
    error: str | None = Field(None, description="why no answer came (timeout, connection "
                              "refused...)", examples=["ReadTimeout"])


class Delivery(Shape):
    """One public event POSTed to one webhook, with each attempt's outcome."""

    id: Id = Field(description="the delivery's id")
    webhook_id: str = Field(description="the webhook it is sent to")
    event_id: str = Field(description="the public event's id, sent as `webhook-id`: the same "
                          "on every attempt and replay")
    event_type: str = Field(description="the public event's key",
                            examples=["certification.month_certified.v1"])
    status: DeliveryStatus = Field(description="pending (waiting for its next attempt), "
                                   "sending, delivered (a 2xx answer), failed (retried for "
                                   "about a day), cancelled (the webhook was deleted)")
    attempts: int = Field(description="how many attempts were made")
    last_status_code: int | None = Field(None, description="the last attempt's HTTP status")
    last_answer: str | None = Field(None, description="the first 2 KB of the last answer",
                                    examples=["ok"])
    last_error: str | None = Field(None, description="why the last attempt got no answer",
                                   examples=["ReadTimeout"])
    next_attempt_at: datetime | None = Field(None, description="when it is tried again "
                                             "(pending only)")
    delivered_at: datetime | None = Field(None, description="when a 2xx answer came")
    replay_id: str | None = Field(None, description="the replay that created it, if any")
    created_at: datetime = Field(description="when it was created")
    history: list[DeliveryAttempt] = Field(description="every attempt, oldest first")
