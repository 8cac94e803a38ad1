"""Rater PIN and pairwise answers.

A rater may have a PIN (salted scrypt hash) asked when their session starts, so one rater cannot
answer as another on a shared computer; older raters get NULL (no PIN). A pairwise study stores,
per item (one pair of outputs), which of the two (slot 0 = left, 1 = right) the rater preferred.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('raters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_hash', sa.String(length=256), nullable=True))
    op.create_table('pair_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('preferred_slot', sa.Integer(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('preferred_slot IN (0, 1)', name=op.f('ck_pair_answers_left_or_right')),
    sa.ForeignKeyConstraint(['item_id'], ['rater_items.id'], name=op.f('fk_pair_answers_item_id_rater_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pair_answers')),
    sa.UniqueConstraint('item_id', name=op.f('uq_pair_answers_item_id'))
    )


def downgrade() -> None:
    op.drop_table('pair_answers')
    with op.batch_alter_table('raters', schema=None) as batch_op:
        batch_op.drop_column('pin_hash')
