"""Versioned schema migrations, small enough to read in one sitting.

The database records its version in `schema_version`. Opening a store brings it
to the newest version, one step at a time, each step in its own transaction:

* A new, empty database gets the current tables from schema.py in one go
  (create_all) and then only the *data* steps (the seed tables), because schema
  steps exist to bring *old* databases to what create_all makes today.
* An existing database runs every step above its version.

When schema.py changes, add a schema step that alters existing databases the same
way, and update SCHEMA_FINGERPRINT; test_leaderboard_store checks that the
fingerprint matches schema.py so the two cannot silently drift apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import sqlalchemy as sa

from instrack_leaderboard import schema

version_table = sa.Table(
    "schema_version",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
)


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    apply: Callable[[sa.Connection], None]
    # data steps run on new databases too; schema steps only on old ones
    data: bool = False


def _create_tables_v1(conn: sa.Connection) -> None:
    # Version 1 is the first released schema, identical to schema.py today.
    schema.metadata.create_all(conn)


def _seed_reported(conn: sa.Connection) -> None:
    from instrack_leaderboard.reported import reported_rows

    now = datetime.now(timezone.utc)
    rows = [dict(row, created_at=now) for row in reported_rows()]
    conn.execute(sa.insert(schema.entries), rows)


STEPS: tuple[Step, ...] = (
    Step(1, "entries, unit results, submitters, submission queue", _create_tables_v1),
    Step(2, "seed: the TrackGPT paper's Tables 1 and 2 as reported entries", _seed_reported, data=True),
)
LATEST = STEPS[-1].version

#: sha256 of schema.py's tables and columns (see fingerprint()); update it only
#: together with a new schema step.
SCHEMA_FINGERPRINT = "9826dfcb73741a07230696f7772216813c26b73a810cbeed937eb86504da45c4"


def fingerprint(metadata: sa.MetaData = schema.metadata) -> str:
    """A digest of every table, column, type and nullability."""
    parts = []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        for col in table.columns:
            parts.append(f"{table.name}.{col.name}:{col.type!r}:{col.nullable}:{col.primary_key}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def current_version(conn: sa.Connection) -> int:
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(sa.select(sa.func.max(version_table.c.version))).scalar() or 0


def migrate(engine: sa.Engine, target: int = LATEST) -> int:
    """Bring the database to `target`; returns the version it was at before."""
    with engine.begin() as conn:
        version_table.create(conn, checkfirst=True)
        before = current_version(conn)
        if before > LATEST:
            from instrack.errors import InsTrackError

            raise InsTrackError(
                f"database {engine.url.render_as_string(hide_password=True)} is at schema version "
                f"{before}, newer than this instrack_leaderboard ({LATEST}): upgrade the package"
            )
    fresh = before == 0
    for step in STEPS:
        if step.version <= before or step.version > target:
            continue
        with engine.begin() as conn:
            if not fresh or step.data or step.version == 1:
                step.apply(conn)
            conn.execute(
                sa.insert(version_table),
                {"version": step.version, "applied_at": datetime.now(timezone.utc), "description": step.description},
            )
    return before
