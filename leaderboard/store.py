"""The results store: entries with their per-unit results, and submitters.

One Store wraps one engine; every method is its own short transaction, so a web
request, the worker and the CLI can share a database without holding locks."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

import sqlalchemy as sa

from instrack.errors import InsTrackError, UsageError
from instrack_leaderboard import schema
from instrack_leaderboard.db import make_engine, resolve_url
from instrack_leaderboard.migrations import migrate
from instrack_leaderboard.results import Result, board_for
from instrack_leaderboard.sanitize import checked_link

E = schema.entries
SORTABLE = {"method", "variant", "origin", "year", "setting", "created_at", *schema.METRIC_COLUMNS.values()}
# Decay: lower is better; everything else here: higher is better.
LOWER_IS_BETTER = {"j_decay", "f_decay"}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Submitter:
    id: int
    name: str
    is_admin: bool


class Store:
    """Entries, units and submitters in one SQLAlchemy database."""

    def __init__(self, db: str | os.PathLike | None = None, *, engine: sa.Engine | None = None):
        self.url = resolve_url(db) if engine is None else str(engine.url)
        self.engine = engine or make_engine(self.url)
        try:
            migrate(self.engine)
        except sa.exc.OperationalError as err:
            raise InsTrackError(f"database {self.display_url}: cannot open ({err.orig})") from err

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def is_embedded(self) -> bool:
        return self.engine.url.get_backend_name() == "sqlite" and self.engine.url.database in (None, "", ":memory:")

    # -- entries ---------------------------------------------------------------

    def add_result(self, result: Result, *, method: str, variant: str = "", origin: str = "reproduced",
                   paper: str = "", link: str = "", benchmark: str | None = None, year: int | None = None,
                   setting: str | None = None, reasoning: bool | None = None, source: str = "",
                   conn: sa.Connection | None = None) -> int:
        """Store an evaluator result as an entry with its units; returns its id.
        A result on the bundled sample goes to the sample board only (board_for)."""
        if origin not in schema.ORIGINS:
            raise UsageError(f"origin {origin!r}: expected one of {', '.join(schema.ORIGINS)}")
        if not method.strip():
            raise UsageError("method: must not be empty")
        link = checked_link(link)  # shown as an href: http(s) only
        row = {
            "benchmark": board_for(result, benchmark), "split": result.split,
            "method": method.strip(), "variant": variant.strip(), "year": year, "setting": setting,
            "reasoning": reasoning, "paper": paper, "link": link, "origin": origin, "source": source,
            "protocol": result.protocol, "dataset_revision": result.dataset_revision,
            "evaluator_version": result.evaluator_version, "submission_sha256": result.submission_sha256,
            "created_at": utcnow(), "hidden": False, "dataset": result.dataset, "breakdowns": result.breakdowns,
        }
        row.update({schema.METRIC_COLUMNS[k]: v for k, v in result.metrics.items() if k in schema.METRIC_COLUMNS})
        units = [
            {"video": u["video"], "exp_id": u["exp_id"], "object": u["object"], "kind": u["kind"],
             "n_frames": u["n_frames"],
             **{schema.METRIC_COLUMNS[m]: u[m] for m in schema.UNIT_METRICS}}
            for u in result.units
        ]

        def write(c: sa.Connection) -> int:
            entry_id = c.execute(sa.insert(E).returning(E.c.id), row).scalar_one()
            if units:
                c.execute(sa.insert(schema.unit_results), [dict(u, entry_id=entry_id) for u in units])
            return entry_id

        if conn is not None:
            return write(conn)
        with self.engine.begin() as c:
            return write(c)

    def entries(self, benchmark: str | None = "instrack", origins: Iterable[str] | None = None,
                include_hidden: bool = False, sort: str = "jf_mean", descending: bool | None = None) -> list[dict]:
        """Entries of a board, best first by `sort` unless told otherwise."""
        if sort not in SORTABLE:
            raise UsageError(f"sort {sort!r}: expected one of {', '.join(sorted(SORTABLE))}")
        if descending is None:
            descending = sort not in LOWER_IS_BETTER and sort not in {"method", "variant", "origin", "setting"}
        query = sa.select(E)
        if benchmark:
            query = query.where(E.c.benchmark == benchmark)
        if origins:
            query = query.where(E.c.origin.in_(list(origins)))
        if not include_hidden:
            query = query.where(E.c.hidden.is_(False))
        col = E.c[sort]
        # NULLs (a "-" in a paper) go last whichever way the column is sorted
        query = query.order_by(col.is_(None), col.desc() if descending else col.asc(), E.c.id)
        with self.engine.connect() as c:
            return [self._entry_dict(r) for r in c.execute(query).mappings()]

    def entry(self, entry_id: int) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(E).where(E.c.id == entry_id)).mappings().first()
        return self._entry_dict(row) if row else None

    def units(self, entry_id: int) -> list[dict]:
        U = schema.unit_results
        with self.engine.connect() as c:
            rows = c.execute(sa.select(U).where(U.c.entry_id == entry_id).order_by(U.c.video, U.c.exp_id, U.c.object))
            return [dict(r) for r in rows.mappings()]

    def benchmarks(self) -> list[str]:
        with self.engine.connect() as c:
            return [r[0] for r in c.execute(sa.select(E.c.benchmark).distinct().order_by(E.c.benchmark))]

    def set_hidden(self, entry_id: int, hidden: bool = True) -> None:
        with self.engine.begin() as c:
            if c.execute(sa.update(E).where(E.c.id == entry_id).values(hidden=hidden)).rowcount != 1:
                raise UsageError(f"entry {entry_id}: no such entry")

    @staticmethod
    def _entry_dict(row: Any) -> dict:
        d = dict(row)
        d["created_at"] = as_utc(d["created_at"])
        d["display_name"] = f"{d['method']} ({d['variant']})" if d["variant"] else d["method"]
        return d

    # -- submitters and tokens ---------------------------------------------------

    def add_submitter(self, name: str, *, is_admin: bool = False, token: str | None = None) -> str:
        """Create a submitter; returns the token (stored only as a hash)."""
        if not name.strip():
            raise UsageError("submitter name: must not be empty")
        token = token or secrets.token_urlsafe(24)
        S = schema.submitters
        try:
            with self.engine.begin() as c:
                c.execute(sa.insert(S), {"name": name.strip(), "token_sha256": hash_token(token),
                                         "is_admin": is_admin, "created_at": utcnow()})
        except sa.exc.IntegrityError as err:
            raise UsageError(f"submitter {name!r} already exists (or the token is taken)") from err
        return token

    def submitter_for_token(self, token: str | None) -> Submitter | None:
        if not token:
            return None
        S = schema.submitters
        with self.engine.connect() as c:
            row = c.execute(
                sa.select(S).where(S.c.token_sha256 == hash_token(token), S.c.revoked.is_(False))
            ).mappings().first()
        return Submitter(row["id"], row["name"], bool(row["is_admin"])) if row else None

    def submitter(self, name: str) -> Submitter | None:
        S = schema.submitters
        with self.engine.connect() as c:
            row = c.execute(sa.select(S).where(S.c.name == name)).mappings().first()
        return Submitter(row["id"], row["name"], bool(row["is_admin"])) if row else None
