"""A post-operative photo per case.

The clinician may add the patient's photo taken after the repair (``studies.postop``): it is copied
into the case's folder like the pre-operative photo (``postop_photo_path``, relative to the data
folder, and its ``postop_photo_sha256``), with its 68 landmarks (``postop_landmarks_json``, post-op
photo pixels) and the time it was added. Existing cases get NULL in all four (no post-op photo).

Plain ``ADD COLUMN`` (nullable, no default): SQLite and PostgreSQL add them in place, so the
``cases`` table is not re-created and its expression index ``uq_cases_pseudonym_lower`` (0004)
stays as it is.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

COLUMNS = ('postop_photo_path', 'postop_photo_sha256', 'postop_landmarks_json', 'postop_added_at')


def upgrade() -> None:
    op.add_column('cases', sa.Column('postop_photo_path', sa.String(length=512), nullable=True))
    op.add_column('cases', sa.Column('postop_photo_sha256', sa.String(length=64), nullable=True))
    op.add_column('cases', sa.Column('postop_landmarks_json', sa.Text(), nullable=True))
    op.add_column('cases', sa.Column('postop_added_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Dropping columns re-creates the table on SQLite (batch mode), which loses the expression index
    # of 0004 (SQLite's reflection cannot see it): it is made again afterwards.
    with op.batch_alter_table('cases', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
    if op.get_context().dialect.name == 'sqlite':
        op.execute(sa.text('DROP INDEX IF EXISTS uq_cases_pseudonym_lower'))
        op.create_index('uq_cases_pseudonym_lower', 'cases', [sa.text('lower(pseudonym)')], unique=True)
