"""The first released schema: entries, unit results, submitters, the queue.

Frozen as instrack_leaderboard 0.1.0 created it (its hand-written stepper's
version 1); later changes are later revisions, never edits here.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('benchmark', sa.String(length=64), nullable=False),
        sa.Column('split', sa.String(length=64), server_default='test', nullable=False),
        sa.Column('method', sa.String(length=200), nullable=False),
        sa.Column('variant', sa.String(length=200), server_default='', nullable=False),
        sa.Column('year', sa.Integer(), nullable=True),
        sa.Column('setting', sa.String(length=32), nullable=True),
        sa.Column('reasoning', sa.Boolean(), nullable=True),
        sa.Column('paper', sa.Text(), server_default='', nullable=False),
        sa.Column('link', sa.Text(), server_default='', nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('source', sa.Text(), server_default='', nullable=False),
        sa.Column('protocol', sa.String(length=64), nullable=False),
        sa.Column('dataset_revision', sa.String(length=200), server_default='', nullable=False),
        sa.Column('evaluator_version', sa.String(length=64), server_default='', nullable=False),
        sa.Column('submission_sha256', sa.String(length=64), server_default='', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('hidden', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('jf_mean', sa.Float(), nullable=True),
        sa.Column('j_mean', sa.Float(), nullable=True),
        sa.Column('f_mean', sa.Float(), nullable=True),
        sa.Column('j_recall', sa.Float(), nullable=True),
        sa.Column('f_recall', sa.Float(), nullable=True),
        sa.Column('j_decay', sa.Float(), nullable=True),
        sa.Column('f_decay', sa.Float(), nullable=True),
        sa.Column('dataset', sa.JSON(), nullable=True),
        sa.Column('breakdowns', sa.JSON(), nullable=True),
        sa.CheckConstraint("origin IN ('reported', 'reproduced', 'submitted')", name='ck_entries_origin'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_entries_benchmark'), 'entries', ['benchmark'], unique=False)
    op.create_index(op.f('ix_entries_origin'), 'entries', ['origin'], unique=False)
    op.create_table('submitters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('is_admin', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
        sa.UniqueConstraint('token_sha256')
        )
    op.create_table('submissions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submitter_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=200), nullable=False),
        sa.Column('variant', sa.String(length=200), server_default='', nullable=False),
        sa.Column('paper', sa.Text(), server_default='', nullable=False),
        sa.Column('link', sa.Text(), server_default='', nullable=False),
        sa.Column('benchmark', sa.String(length=64), nullable=False),
        sa.Column('split', sa.String(length=64), nullable=False),
        sa.Column('protocol', sa.String(length=64), nullable=False),
        sa.Column('filename', sa.Text(), nullable=False),
        sa.Column('stored_path', sa.Text(), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('worker', sa.String(length=200), server_default='', nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('message', sa.Text(), server_default='', nullable=False),
        sa.Column('problems', sa.JSON(), nullable=True),
        sa.Column('entry_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'rejected', 'failed')", name='ck_submissions_status'),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ),
        sa.ForeignKeyConstraint(['submitter_id'], ['submitters.id'], ),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_submissions_created_at'), 'submissions', ['created_at'], unique=False)
    op.create_index(op.f('ix_submissions_status'), 'submissions', ['status'], unique=False)
    op.create_index(op.f('ix_submissions_submitter_id'), 'submissions', ['submitter_id'], unique=False)
    op.create_table('unit_results',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('video', sa.String(length=200), nullable=False),
        sa.Column('exp_id', sa.String(length=200), server_default='', nullable=False),
        sa.Column('object', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=32), server_default='', nullable=False),
        sa.Column('n_frames', sa.Integer(), nullable=True),
        sa.Column('j_mean', sa.Float(), nullable=True),
        sa.Column('j_recall', sa.Float(), nullable=True),
        sa.Column('j_decay', sa.Float(), nullable=True),
        sa.Column('f_mean', sa.Float(), nullable=True),
        sa.Column('f_recall', sa.Float(), nullable=True),
        sa.Column('f_decay', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
    op.create_index(op.f('ix_unit_results_entry_id'), 'unit_results', ['entry_id'], unique=False)


def downgrade() -> None:
    for table in ("unit_results", "submissions", "submitters", "entries"):
        op.drop_table(table)
