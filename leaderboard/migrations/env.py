"""Alembic's environment for the leaderboard store.

Store() runs the migrations itself (instrack_leaderboard.migrations.migrate)
and hands over its connection in config.attributes. A maintainer adding a
revision runs Alembic's own command line against a database of their choice:

    alembic -c leaderboard/migrations/alembic.ini -x db=sqlite:///dev.sqlite revision --autogenerate -m "..."
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from instrack_leaderboard import schema

config = context.config
# SQLite cannot ALTER most things: batch mode rebuilds a table instead
options = {"target_metadata": schema.metadata, "render_as_batch": True, "compare_type": True}

connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()
else:
    from instrack_leaderboard.db import make_engine, resolve_url

    engine = make_engine(resolve_url(context.get_x_argument(as_dictionary=True).get("db")))
    with engine.begin() as conn:
        context.configure(connection=conn, **options)
        with context.begin_transaction():
            context.run_migrations()
