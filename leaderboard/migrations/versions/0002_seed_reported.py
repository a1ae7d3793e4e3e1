"""Seed: the TrackGPT paper's Tables 1 and 2 as reported entries.

Revision ID: 0002
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

REPORTED = "reported"


def upgrade() -> None:
    from instrack_leaderboard import schema
    from instrack_leaderboard.reported import reported_rows

    now = datetime.now(timezone.utc)
    op.get_bind().execute(sa.insert(schema.entries), [dict(row, created_at=now) for row in reported_rows()])


def downgrade() -> None:
    from instrack_leaderboard import schema

    E = schema.entries
    from instrack_leaderboard.reported import SOURCE_PAPER

    op.get_bind().execute(sa.delete(E).where(E.c.origin == REPORTED, E.c.source.like(f"{SOURCE_PAPER}%")))
