"""Landmarks edited by the clinician: steered predictions and corrected photo landmarks.

A prediction re-rendered from dragged (or mirrored) landmarks stores those 68 points, in photo
pixels, as JSON, so a report or a study shows exactly what was rendered; a case stores the photo's
landmarks as the clinician corrected them. Older rows, predictions drawn from the network's own
points and photos with the detector's points get NULL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guide_landmarks_json', sa.Text(), nullable=True))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('landmarks_json', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('landmarks_json')
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.drop_column('guide_landmarks_json')
