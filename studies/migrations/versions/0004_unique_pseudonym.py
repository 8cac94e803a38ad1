"""One case per pseudonym: a unique index on lower(pseudonym).

A family must never get another child's report, and two cases under one pseudonym show as
identical rows in the case list. Databases made before the app refused duplicates may hold some:
the oldest case of each pseudonym (smallest id) keeps it, every later one is renamed
"<pseudonym> (duplicate <id>)" and its notes say what it was called, so the clinician can tell
them apart; nothing is deleted. One statement, so it renders offline (PostgreSQL SQL) as well.

The index is on an expression, which SQLite's reflection cannot see: a later
``batch_alter_table('cases')`` must create it again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

INDEX = 'uq_cases_pseudonym_lower'

# substr keeps the new name within the column's 128 characters (100 + " (duplicate <id>)").
RENAME_DUPLICATES = """
UPDATE cases
SET pseudonym = substr(pseudonym, 1, 100) || ' (duplicate ' || CAST(id AS VARCHAR(20)) || ')',
    notes = CASE WHEN notes IS NULL OR notes = '' THEN '' ELSE notes || ' | ' END
            || 'Renamed when the app was updated: another, older case has the pseudonym "'
            || pseudonym || '".'
WHERE id NOT IN (SELECT MIN(id) FROM cases GROUP BY lower(pseudonym))
"""


def upgrade() -> None:
    op.execute(sa.text(RENAME_DUPLICATES))
    op.create_index(INDEX, 'cases', [sa.text('lower(pseudonym)')], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name='cases')
