"""Which database, and an engine for it.

Resolution: an explicit URL or path > $INSTRACK_LEADERBOARD_DB > the embedded
default store (an in-memory SQLite migrated and seeded on open, so it always
holds the reported tables and never goes stale on disk)."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from instrack.errors import InsTrackError

ENV_DB = "INSTRACK_LEADERBOARD_DB"
EMBEDDED = "embedded"


def resolve_url(db: str | os.PathLike | None) -> str:
    """A SQLAlchemy URL from a URL, a file path, or nothing (embedded)."""
    if db is None or str(db) == "":
        db = os.environ.get(ENV_DB) or EMBEDDED
    db = str(db)
    if db == EMBEDDED:
        return "sqlite://"
    if "://" in db:
        return db
    # a plain path: an SQLite file
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def make_engine(url: str) -> sa.Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as err:
        raise InsTrackError(f"database URL {url!r} is not a SQLAlchemy URL ({err})") from err
    if parsed.get_backend_name() != "sqlite":
        try:
            return sa.create_engine(parsed, pool_pre_ping=True)
        except (ImportError, sa.exc.NoSuchModuleError) as err:
            raise InsTrackError(f"database URL {parsed.render_as_string(hide_password=True)}: no driver ({err})") from err
    if parsed.database in (None, "", ":memory:"):
        # one shared connection: every session sees the same in-memory database
        engine = sa.create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise InsTrackError(f"database {parsed.database}: folder {folder} does not exist")
        # The web server and the worker are separate processes on one file:
        # WAL lets readers run during a write, busy_timeout makes writers wait
        # instead of failing with "database is locked".
        engine = sa.create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    @sa.event.listens_for(engine, "connect")
    def _fk(dbapi_conn, _record):  # noqa: ANN001
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine
