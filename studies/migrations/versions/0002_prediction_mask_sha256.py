"""Predictions remember the mask they were made with (sha256 of its packed bits).

So "Run all" on an unchanged mask reuses the predictions it already has, and predictions made
with an older mask can be marked out of date. Older rows get NULL: their mask is unknown.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mask_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.drop_column('mask_sha256')
