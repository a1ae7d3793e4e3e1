"""The store's tables as they are now (SQLAlchemy Core).

migrations/ (Alembic revisions) creates and changes the database; a test checks
that a migrated database has exactly these tables, columns, types and indexes
(Alembic's autogenerate comparison), so the two cannot drift apart.

Metrics are columns, not a key-value table, so the board sorts in SQL and a
missing cell ("-" in a paper's table) is a NULL."""

from __future__ import annotations

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

STATUSES = ("queued", "running", "done", "rejected", "failed")
FINAL_STATUSES = ("done", "rejected", "failed")
