"""Predictions stored as their changed patch, its box, the photo's size and their own mask.

A new prediction's ``image_path`` is the PNG of the pixels the model changed; ``box_json`` places it
on the photo ([x0, y0, x1, y1], photo pixels, right/bottom exclusive) of ``photo_width`` x
``photo_height``; ``mask_path`` is the mask it was made with (cut to the box), so a report draws that
mask and not the one on screen. Older rows keep NULL in all four: their PNG is the whole repaired
photo and is still read as it is (``studies.prediction_store``), so nothing is rewritten here.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('box_json', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('photo_width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('photo_height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('mask_path', sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.drop_column('mask_path')
        batch_op.drop_column('photo_height')
        batch_op.drop_column('photo_width')
        batch_op.drop_column('box_json')
