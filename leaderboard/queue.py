"""The submission queue, kept in the database so it survives any restart.

A worker claims the oldest queued row with a conditional UPDATE (the row is
only its if the status was still "queued"), holds a lease it renews while
scoring, and finishes the row and writes the entry in one transaction. A row
still "running" after its lease ran out belonged to a worker that died: it goes
back to the queue, or to "failed" with the reason once it has crashed too often.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from instrack.errors import InsTrackError
from instrack_leaderboard import schema
from instrack_leaderboard.results import Result
from instrack_leaderboard.sanitize import one_line
from instrack_leaderboard.store import Store, as_utc, utcnow

S = schema.submissions
#: PostgreSQL advisory lock key held while an upload is counted and enqueued
ENQUEUE_LOCK_KEY = 0x1E57_0001


class QueueFull(Exception):
    """Too many submissions are queued or running (HTTP 503)."""

    def __init__(self, pending: int, limit: int):
        super().__init__(f"{pending} submissions are waiting (limit {limit})")
        self.pending, self.limit = pending, limit


class QuotaExceeded(Exception):
    """The submitter's hourly quota is used up (HTTP 429)."""

    def __init__(self, recent: int, limit: int):
        super().__init__(f"{recent} submissions in the last hour (limit {limit})")
        self.recent, self.limit = recent, limit


class Queue:
    def __init__(self, store: Store):
        self.store = store
        self.engine = store.engine

    def enqueue(self, *, submitter_id: int, method: str, variant: str, paper: str, link: str, benchmark: str,
                split: str, protocol: str, filename: str, stored_path: str, size_bytes: int, sha256: str,
                per_hour: int | None = None, max_pending: int | None = None) -> int:
        """Insert a queued row; with `per_hour` / `max_pending`, only if the
        submitter's uploads in the last hour and the queued + running rows are
        still under them, checked and inserted under one write lock (QueueFull
        otherwise), so concurrent uploads cannot all pass a count taken before
        any of them was inserted."""
        now = utcnow()
        with self.engine.begin() as c:
            self._lock_for_enqueue(c)
            if per_hour is not None:
                recent = c.execute(sa.select(sa.func.count()).select_from(S).where(
                    S.c.submitter_id == submitter_id, S.c.created_at >= now - timedelta(hours=1))).scalar_one()
                if recent >= per_hour:
                    raise QuotaExceeded(recent, per_hour)
            if max_pending is not None:
                pending = c.execute(sa.select(sa.func.count()).select_from(S).where(
                    S.c.status.in_(("queued", "running")))).scalar_one()
                if pending >= max_pending:
                    raise QueueFull(pending, max_pending)
            return c.execute(sa.insert(S).returning(S.c.id), {
                "submitter_id": submitter_id, "method": method, "variant": variant, "paper": paper, "link": link,
                "benchmark": benchmark, "split": split, "protocol": protocol, "filename": filename,
                "stored_path": stored_path, "size_bytes": size_bytes, "sha256": sha256, "status": "queued",
                "attempts": 0, "created_at": now, "updated_at": now,
            }).scalar_one()

    def _lock_for_enqueue(self, c: sa.Connection) -> None:
        """Serialise enqueues (count, then insert) across threads and processes.

        SQLite: BEGIN IMMEDIATE takes the database's write lock before the
        counts are read (a deferred transaction would read, then race for the
        lock). PostgreSQL: a transaction-scoped advisory lock, so workers'
        updates of the same table are not blocked. (Other databases are not
        supported by the server; tested: SQLite, PostgreSQL.)"""
        backend = self.engine.url.get_backend_name()
        if backend == "sqlite":
            c.exec_driver_sql("BEGIN IMMEDIATE")
        elif backend == "postgresql":
            c.execute(sa.select(sa.func.pg_advisory_xact_lock(ENQUEUE_LOCK_KEY)))
        else:
            raise InsTrackError(f"database {self.store.display_url}: the web board needs SQLite or PostgreSQL")

    def get(self, submission_id: int) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(S).where(S.c.id == submission_id)).mappings().first()
        return self._dict(row) if row else None

    def list(self, submitter_id: int | None = None, limit: int = 50) -> list[dict]:
        query = sa.select(S).order_by(S.c.id.desc()).limit(limit)
        if submitter_id is not None:
            query = query.where(S.c.submitter_id == submitter_id)
        with self.engine.connect() as c:
            return [self._dict(r) for r in c.execute(query).mappings()]

    def count_since(self, submitter_id: int, since: datetime) -> int:
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.count()).select_from(S).where(
                S.c.submitter_id == submitter_id, S.c.created_at >= since)).scalar_one()

    def pending(self) -> int:
        with self.engine.connect() as c:
            return c.execute(sa.select(sa.func.count()).select_from(S).where(
                S.c.status.in_(("queued", "running")))).scalar_one()

    # -- worker side -------------------------------------------------------------

    def claim(self, worker: str, lease_s: float) -> dict | None:
        """Take the oldest queued submission, or None. Safe with many workers."""
        for _ in range(5):  # another worker may win the race for the same row
            with self.engine.begin() as c:
                candidate = c.execute(
                    sa.select(S.c.id).where(S.c.status == "queued").order_by(S.c.id).limit(1)
                ).scalar()
                if candidate is None:
                    return None
                now = utcnow()
                won = c.execute(sa.update(S).where(S.c.id == candidate, S.c.status == "queued").values(
                    status="running", worker=worker, attempts=S.c.attempts + 1,
                    lease_until=now + timedelta(seconds=lease_s), updated_at=now,
                )).rowcount
            if won == 1:
                return self.get(candidate)
        return None

    def renew(self, submission_id: int, worker: str, lease_s: float) -> bool:
        """Extend the lease; False when the row is no longer ours (reaped)."""
        now = utcnow()
        with self.engine.begin() as c:
            return c.execute(sa.update(S).where(
                S.c.id == submission_id, S.c.status == "running", S.c.worker == worker,
            ).values(lease_until=now + timedelta(seconds=lease_s), updated_at=now)).rowcount == 1

    def finish_scored(self, sub: dict, worker: str, result: Result) -> int | None:
        """Store the entry and mark the submission done, atomically; returns the
        entry id, or None when the lease was lost (another worker owns it now)."""
        with self.engine.begin() as c:
            owned = c.execute(sa.select(S.c.status, S.c.worker).where(S.c.id == sub["id"])).first()
            if owned is None or owned.status != "running" or owned.worker != worker:
                return None
            entry_id = self.store.add_result(
                result, method=sub["method"], variant=sub["variant"], origin="submitted", paper=sub["paper"],
                link=sub["link"], benchmark=sub["benchmark"], conn=c,
                source=f"submission {sub['id']} ({sub['filename']})",
            )
            c.execute(sa.update(S).where(S.c.id == sub["id"]).values(
                status="done", entry_id=entry_id, message="scored", lease_until=None, updated_at=utcnow()))
        return entry_id

    def finish(self, submission_id: int, worker: str | None, status: str, message: str,
               problems: list[dict[str, str]] | None = None) -> bool:
        assert status in schema.FINAL_STATUSES or status == "queued"
        cond = [S.c.id == submission_id]
        if worker is not None:
            cond += [S.c.status == "running", S.c.worker == worker]
        if problems is not None:
            problems = [{"where": one_line(p["where"]), "reason": one_line(p["reason"])} for p in problems]
        with self.engine.begin() as c:
            return c.execute(sa.update(S).where(*cond).values(
                status=status, message=one_line(message), problems=problems, lease_until=None, updated_at=utcnow(),
            )).rowcount == 1

    def release(self, submission_id: int, worker: str) -> bool:
        """Give a claimed row back untouched (the worker is shutting down)."""
        with self.engine.begin() as c:
            return c.execute(sa.update(S).where(
                S.c.id == submission_id, S.c.status == "running", S.c.worker == worker,
            ).values(status="queued", attempts=sa.case((S.c.attempts > 0, S.c.attempts - 1), else_=0), lease_until=None,
                     message="requeued: the worker stopped", updated_at=utcnow())).rowcount == 1

    def reap(self, max_attempts: int) -> list[int]:
        """Requeue (or fail) running rows whose worker stopped renewing its lease."""
        now = utcnow()
        touched = []
        with self.engine.begin() as c:
            stale = c.execute(sa.select(S.c.id, S.c.attempts, S.c.worker).where(
                S.c.status == "running", S.c.lease_until < now)).all()
            for row in stale:
                if row.attempts >= max_attempts:
                    values = {"status": "failed", "message": (
                        f"the evaluation crashed {row.attempts} time(s) (worker {row.worker} stopped "
                        f"without finishing); not retried again")}
                else:
                    values = {"status": "queued", "message": f"retrying: worker {row.worker} stopped mid-evaluation"}
                c.execute(sa.update(S).where(S.c.id == row.id, S.c.status == "running").values(
                    lease_until=None, updated_at=now, **values))
                touched.append(row.id)
        return touched

    @staticmethod
    def _dict(row: Any) -> dict:
        d = dict(row)
        for key in ("created_at", "updated_at", "lease_until"):
            d[key] = as_utc(d[key])
        return d
