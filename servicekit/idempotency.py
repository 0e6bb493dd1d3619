"""Safe retries: an RPC method called again with the same Idempotency-Key answers its first
reply instead of acting twice.

The gateway sends a key with every request to a route that honours it: the client's
Idempotency-Key header, or one of its own. So a client's retry and the broker's redelivery of
an RPC unacked when its service died look alike here: the same (scope, key) again. The scope is
the method and the acting user, so two users' keys never meet; the fingerprint (sha256 of the
canonical JSON of the arguments, the actor aside: a new session or address is the same
request) tells a retry from a key reused for another request (422 idempotency_key_reused).

The reply is stored in the same transaction as the effect where the method says so
(`uow.keep_reply(reply)`): a crash after commit then leaves a reply to replay, never a 409.
Otherwise it is stored right after success. Errors are not stored (a retry runs again); a
Conflict raised while a twin request with the same key committed first answers the twin's
reply. Replies are kept RETENTION, pruned by each store.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import (Column, DateTime, MetaData, PrimaryKeyConstraint, String, Table, Text,
                        delete, insert, select, update)
from sqlalchemy.orm import Session

from contracts.common.errors import Conflict, InvalidInput
from servicekit.tables import UtcDateTime

RETENTION = timedelta(hours=48)
PRUNE_EVERY = timedelta(minutes=10)  # per process: replies past RETENTION go at most this late
TABLE = "idempotent_replies"
KEY_REUSED = ("Cette clé d'idempotence (Idempotency-Key) a déjà servi pour une autre requête : "
              "utilisez une nouvelle clé pour chaque nouvelle requête.")


def add_idempotency_table(metadata: MetaData) -> Table:
    """For the services whose models.py asks for it (those with @replayable methods)."""
    return Table(
        TABLE, metadata,
        Column("scope", String(200), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("reply", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False, index=True),
    )


def create_table_v1(op) -> None:
    """The Alembic step that creates the table as add_idempotency_table first shaped it: one
    definition for every service's history (a later change is a new step, never an edit)."""
    op.create_table(
        TABLE,
        Column("scope", String(200), nullable=False),
        Column("key", String(255), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("reply", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("scope", "key"),
    )
    op.create_index(f"ix_{TABLE}_created_at", TABLE, ["created_at"], unique=False)


def drop_table_v1(op) -> None:
    op.drop_index(f"ix_{TABLE}_created_at", table_name=TABLE)
    op.drop_table(TABLE)


@dataclass
class IdempotentCall:
    """One call made with a key; `kept` is the reply its own transaction stored, if any."""

    scope: str
    key: str
    fingerprint: str
    kept: str | None = None


@dataclass(frozen=True)
class StoredReply:
    fingerprint: str
    reply: Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def fingerprint(args: tuple, kwargs: dict) -> str:
    return hashlib.sha256(canonical_json([list(args), kwargs]).encode()).hexdigest()


def replayable(method: Callable) -> Callable:
    """For an RPC method `method(self, actor, ...)` of a service with `db`: see the module
    docstring. Put it under @rpc."""

    @functools.wraps(method)
    def replay_or_run(self, actor, *args, **kwargs):
        key = self.db.idempotency_key
        if key is None:
            return method(self, actor, *args, **kwargs)
        call = IdempotentCall(f"{self.name}.{method.__name__}:{_user_of(actor)}", key,
                              fingerprint(args, kwargs))
        stored = self.db.stored_reply(call)
        if stored is not None:
            return _replayed(call, stored)
        self.db.replaying = call
        try:
            reply = method(self, actor, *args, **kwargs)
        except Conflict:
            stored = self.db.stored_reply(call)  # a twin with the same key won the race
            if stored is None:
                raise
            return _replayed(call, stored)
        finally:
            self.db.replaying = None
        return self.db.store_reply(call, reply)
    return replay_or_run


def _user_of(actor: Any) -> str:
    user_id = actor.get("user_id") if isinstance(actor, dict) else None
    return str(user_id or "-")


def _replayed(call: IdempotentCall, stored: StoredReply) -> Any:
    if stored.fingerprint != call.fingerprint:
        raise InvalidInput("idempotency_key_reused", KEY_REUSED)
    return stored.reply


# ---- the table, for servicekit.db ------------------------------------------------------------

def find_reply(session: Session, table: Table, call: IdempotentCall) -> StoredReply | None:
    row = session.execute(select(table.c.fingerprint, table.c.reply).where(
        table.c.scope == call.scope, table.c.key == call.key)).first()
    return None if row is None else StoredReply(row.fingerprint, json.loads(row.reply))


def insert_reply(session: Session, table: Table, call: IdempotentCall, reply: str,
                 now: datetime) -> None:
    session.execute(insert(table).values(scope=call.scope, key=call.key,
                                         fingerprint=call.fingerprint, reply=reply,
                                         created_at=now))


def replace_reply(session: Session, table: Table, call: IdempotentCall, reply: str) -> None:
    session.execute(update(table).where(table.c.scope == call.scope, table.c.key == call.key)
                    .values(reply=reply))


def prune(session: Session, table: Table, now: datetime) -> None:
    session.execute(delete(table).where(table.c.created_at < now - RETENTION))
