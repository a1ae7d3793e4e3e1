"""Schema migrations with Alembic (revisions in versions/, environment in env.py).

Opening a Store brings its database to the newest revision ("head"), in one
transaction under a lock, so a web server and workers starting together on one
database migrate it once:

* a new database runs every revision: 0001 creates the tables, 0002 seeds the
  paper's tables, later ones change both;
* a database from instrack_leaderboard 0.1.0 (whose hand-written stepper kept
  its version in `schema_version`) is first stamped with the revision that
  matches that version, then upgraded; its rows are kept;
* a database at a revision this package does not know (a newer release
  migrated it) is refused with a message, never touched.

To change schema.py: add a revision (`alembic -c leaderboard/migrations/alembic.ini
-x db=URL revision --autogenerate -m "..."`) and review it;
test_leaderboard_store checks that a migrated database matches schema.py
exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa

from instrack.errors import InsTrackError

HERE = Path(__file__).parent
#: the hand-written stepper of release 0.1.0: its version -> our revision
LEGACY_VERSIONS = {1: "0001", 2: "0002"}
LEGACY_TABLE = "schema_version"
#: PostgreSQL advisory lock key held while migrating
MIGRATE_LOCK_KEY = 0x1E57_0002


def config(connection: sa.Connection | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.lru_cache(maxsize=1)
def scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config())


def head() -> str:
    return scripts().get_current_head()


def current_revision(connection: sa.Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _lock(connection: sa.Connection) -> None:
    backend = connection.engine.url.get_backend_name()
    if backend == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock before anything is read
    elif backend == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATE_LOCK_KEY)))


def migrate(engine: sa.Engine, target: str = "head") -> str | None:
    """Bring the database to `target`; returns the revision it was at before."""
    from alembic import command

    name = engine.url.render_as_string(hide_password=True)
    with engine.connect() as c:
        before = current_revision(c)
    if before == head() and target == "head":
        return before  # the common case: nothing to do, no lock taken
    with engine.begin() as c:
        _lock(c)
        before = current_revision(c)  # again, under the lock: another process may have migrated
        cfg = config(c)
        if before is None:
            inspector = sa.inspect(c)
            if inspector.has_table(LEGACY_TABLE):
                legacy = c.execute(sa.text(f"SELECT max(version) FROM {LEGACY_TABLE}")).scalar() or 0
                if legacy not in LEGACY_VERSIONS:
                    raise InsTrackError(f"database {name} is at schema version {legacy}, newer than this "
                                        f"instrack_leaderboard knows: upgrade the package")
                command.stamp(cfg, LEGACY_VERSIONS[legacy])
            elif inspector.has_table("entries"):
                raise InsTrackError(f"database {name} has leaderboard tables but no schema version: "
                                    "not a database this package made")
        elif before not in {s.revision for s in scripts().walk_revisions()}:
            raise InsTrackError(f"database {name} is at schema revision {before}, newer than this "
                                f"instrack_leaderboard (head {head()}): upgrade the package")
        command.upgrade(cfg, target)
    return before
