"""A database as instrack_leaderboard 0.1.0 made it, for the migration tests.

Release 0.1.0 kept its schema version in a `schema_version` table written by a
hand-written stepper (version 1: the tables below, created at once; version 2:
the paper's tables as seed rows). The tables here are a verbatim copy of that
release's schema.py (git: leaderboard/schema.py at 56bdf26), frozen, so the
test does not depend on the code under test to make the "old" database.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

metadata = sa.MetaData()

#: SPEC §6 metric name -> column name. Order is the order tables show them in.
METRIC_COLUMNS: dict[str, str] = {
    "J&F-Mean": "jf_mean",
    "J-Mean": "j_mean",
    "F-Mean": "f_mean",
    "J-Recall": "j_recall",
    "F-Recall": "f_recall",
    "J-Decay": "j_decay",
    "F-Decay": "f_decay",
}
UNIT_METRICS = ("J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")

ORIGINS = ("reported", "reproduced", "submitted")

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # which board: "instrack", "refer-youtube-vos", "refer-davis17"
    sa.Column("benchmark", sa.String(64), nullable=False, index=True),
    sa.Column("split", sa.String(64), nullable=False, server_default="test"),
    sa.Column("method", sa.String(200), nullable=False),
    sa.Column("variant", sa.String(200), nullable=False, server_default=""),
    sa.Column("year", sa.Integer, nullable=True),
    sa.Column("setting", sa.String(32), nullable=True),  # online / offline / semi-online
    sa.Column("reasoning", sa.Boolean, nullable=True),
    sa.Column("paper", sa.Text, nullable=False, server_default=""),
    sa.Column("link", sa.Text, nullable=False, server_default=""),
    sa.Column("origin", sa.String(16), nullable=False, index=True),
    # where a reported number was read, e.g. "TrackGPT paper, Table 2"
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("protocol", sa.String(64), nullable=False),
    sa.Column("dataset_revision", sa.String(200), nullable=False, server_default=""),
    sa.Column("evaluator_version", sa.String(64), nullable=False, server_default=""),
    sa.Column("submission_sha256", sa.String(64), nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
    *(sa.Column(col, sa.Float, nullable=True) for col in METRIC_COLUMNS.values()),
    # the evaluator's "dataset" and "breakdowns" objects, kept as given
    sa.Column("dataset", sa.JSON, nullable=True),
    sa.Column("breakdowns", sa.JSON, nullable=True),
    sa.CheckConstraint("origin IN ('reported', 'reproduced', 'submitted')", name="ck_entries_origin"),
)

unit_results = sa.Table(
    "unit_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("video", sa.String(200), nullable=False),
    # exp_id for the instrack protocol, the object id for the DAVIS protocols
    sa.Column("exp_id", sa.String(200), nullable=False, server_default=""),
    sa.Column("object", sa.Integer, nullable=True),
    sa.Column("kind", sa.String(32), nullable=False, server_default=""),  # seed / rephrase
    sa.Column("n_frames", sa.Integer, nullable=True),
    *(sa.Column(METRIC_COLUMNS[m], sa.Float, nullable=True) for m in UNIT_METRICS),
)

submitters = sa.Table(
    "submitters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    # SHA-256 of the token: a leaked database does not leak tokens
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
)

# The queue: a row per accepted upload. Its status moves
# queued -> running -> done | rejected | failed; "running" rows whose lease ran
# out belonged to a worker that died and go back to "queued" (or "failed" after
# max attempts), so nothing accepted is lost.
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("submitter_id", sa.Integer, sa.ForeignKey("submitters.id"), nullable=False, index=True),
    sa.Column("method", sa.String(200), nullable=False),
    sa.Column("variant", sa.String(200), nullable=False, server_default=""),
    sa.Column("paper", sa.Text, nullable=False, server_default=""),
    sa.Column("link", sa.Text, nullable=False, server_default=""),
    sa.Column("benchmark", sa.String(64), nullable=False),
    sa.Column("split", sa.String(64), nullable=False),
    sa.Column("protocol", sa.String(64), nullable=False),
    sa.Column("filename", sa.Text, nullable=False),  # as uploaded, for display only
    sa.Column("stored_path", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("worker", sa.String(200), nullable=False, server_default=""),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("problems", sa.JSON, nullable=True),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(
        "status IN ('queued', 'running', 'done', 'rejected', 'failed')", name="ck_submissions_status"
    ),
)

version_table = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
)

TRACEBACK = ("ValueError: Invalid RLE mask representation\n"
             "Traceback (most recent call last):\n"
             '  File "/srv/instrack/leaderboard/executor.py", line 57, in _child\n'
             "    value = (\"ok\", fn(*args))\n"
             "ValueError: Invalid RLE mask representation")


def make_release_database(url: str, seeded: bool = True) -> None:
    """Create what 0.1.0's Store() left behind, plus rows in every table the
    way its web server and worker wrote them."""
    from instrack_leaderboard.reported import reported_rows

    engine = sa.create_engine(url)
    now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    with engine.begin() as c:
        metadata.create_all(c)  # the stepper's version 1: every table at once
        c.execute(sa.insert(version_table), {"version": 1, "applied_at": now,
                                             "description": "entries, unit results, submitters, submission queue"})
        if not seeded:
            engine.dispose()
            return
        c.execute(sa.insert(entries), [dict(row, created_at=now) for row in reported_rows()])
        c.execute(sa.insert(version_table), {"version": 2, "applied_at": now,
                                             "description": "seed: the TrackGPT paper's Tables 1 and 2 as reported entries"})
        c.execute(sa.insert(submitters), [
            {"name": "admin", "token_sha256": "a" * 64, "is_admin": True, "created_at": now},
            {"name": "alice", "token_sha256": "b" * 64, "is_admin": False, "created_at": now, "revoked": True}])
        entry = c.execute(sa.insert(entries).returning(entries.c.id), {
            "benchmark": "instrack-sample", "split": "test", "method": "Mine", "variant": "v2", "origin": "submitted",
            "protocol": "instrack", "created_at": now, "link": "https://example.org", "jf_mean": 0.5, "j_mean": 0.4,
            "f_mean": 0.6, "dataset": {"meta_sha256": "c" * 64}, "breakdowns": {"per_video": {"a": {"J-Mean": 0.4}}},
            "submission_sha256": "d" * 64}).scalar_one()
        c.execute(sa.insert(unit_results), [
            {"entry_id": entry, "video": "cafe-red-jacket", "exp_id": str(i), "kind": "seed" if i == 0 else "rephrase",
             "n_frames": 18, "j_mean": 0.1 * i, "f_mean": 0.2, "j_recall": 1.0, "f_recall": 0.0, "j_decay": -0.1,
             "f_decay": None} for i in range(6)])
        base = {"submitter_id": 2, "method": "Mine", "benchmark": "instrack-sample", "split": "test",
                "protocol": "instrack", "filename": "mine.zip", "stored_path": "/srv/uploads/x.zip",
                "size_bytes": 1234, "sha256": "e" * 64, "created_at": now, "updated_at": now + timedelta(seconds=5)}
        for row in [
            dict(base, status="done", attempts=1, entry_id=entry, message="scored"),
            dict(base, status="rejected", attempts=1, message="1 problem(s); nothing was scored",
                 problems=[{"where": "mine.zip/a/0/00000.png", "reason": "corrupt PNG data"}]),
            dict(base, status="failed", attempts=3, message=TRACEBACK, worker="host:1:abc"),
            dict(base, status="queued", attempts=0, variant="again", link="https://example.org/code"),
            dict(base, status="running", attempts=1, worker="host:2:def", lease_until=now + timedelta(seconds=30)),
        ]:
            c.execute(sa.insert(submissions), row)
    engine.dispose()
