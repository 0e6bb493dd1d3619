"""replay jobs: a replay is run as a job (servicekit.jobs) under its job's id; the replays not
finished yet become queued jobs, resumed where they were

Revision ID: 18a3ee000001
Revises: 17a2ee000001
Create Date: 2026-11-27 20:00:00
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

from servicekit.jobs import create_tables_v1, drop_tables_v1
from servicekit.tables import UtcDateTime

revision = '18a3ee000001'
down_revision = '17a2ee000001'
branch_labels = None
depends_on = None

# A job's id ("integration-" and 32 hex digits) is longer than the uuid a replay had.
_WIDENED = (("replays", "id"), ("webhook_deliveries", "replay_id"))


def upgrade() -> None:
    create_tables_v1(op)
    for table, column in _WIDENED:
        with op.batch_alter_table(table) as batch:  # SQLite: the table is copied
            batch.alter_column(column, type_=sa.String(64), existing_type=sa.String(36))
    _unfinished_replays_as_jobs()


def _unfinished_replays_as_jobs() -> None:
    """Who asked is known by id only: the job acts as a funder agent (staff may read)."""
    bind = op.get_bind()
    jobs = sa.table("jobs", *[sa.column(name) for name in (
        "id", "kind", "user_id", "role", "funder_id", "actor", "fingerprint", "status",
        "phases", "payload", "summary", "cancel_requested", "attempts", "created_at")])
    replays = sa.table("replays", sa.column("since", UtcDateTime()),
                       sa.column("created_at", UtcDateTime()), *[sa.column(name) for name in (
                           "id", "funder_id", "after_event_id", "webhook_id", "total", "sent",
                           "created_by", "status")])
    rows = bind.execute(sa.select(replays).where(replays.c.status != "done")).all()
    for row in rows:
        actor = {"user_id": row.created_by, "role": "funder_agent", "funder_id": row.funder_id}
        payload = {"since": row.since and row.since.isoformat(),
                   "after_event_id": row.after_event_id,
                   "webhook_id": row.webhook_id}
        bind.execute(sa.insert(jobs).values(
            id=row.id, kind="integration.replay", user_id=row.created_by, role="funder_agent",
            funder_id=row.funder_id, actor=json.dumps(actor),
            fingerprint=hashlib.sha256(row.id.encode()).hexdigest(), status="queued",
            phases=json.dumps([{"name": "events", "done": row.sent, "total": row.total}]),
            payload=json.dumps(payload), summary=json.dumps({}), cancel_requested=False,
            attempts=0, created_at=row.created_at))


def downgrade() -> None:
    """The columns stay wide: replays made as jobs have the longer ids."""
    drop_tables_v1(op)
