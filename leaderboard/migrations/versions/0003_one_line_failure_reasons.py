"""Failure reasons as one line: releases up to 0.1.0 stored a crashed
evaluation's traceback in submissions.message, and the public submission page
showed it. Each such message becomes its last line (the exception and its
text); the row is kept otherwise unchanged.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

submissions = sa.table("submissions", sa.column("id", sa.Integer), sa.column("message", sa.Text))


def upgrade() -> None:
    from instrack_leaderboard.sanitize import one_line

    bind = op.get_bind()
    rows = bind.execute(sa.select(submissions.c.id, submissions.c.message).where(
        sa.or_(submissions.c.message.like("%\n%"), submissions.c.message.like("%\r%")))).all()
    for row in rows:
        bind.execute(sa.update(submissions).where(submissions.c.id == row.id).values(message=one_line(row.message)))


def downgrade() -> None:
    pass  # the tracebacks are in the worker's log, not kept here
