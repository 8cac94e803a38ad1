"""Initial schema: case store (cases, masks, predictions) and blinded studies.

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 20:01:37.747992
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=32), nullable=False),
    sa.Column('pseudonym', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('photo_path', sa.String(length=512), nullable=False),
    sa.Column('photo_sha256', sa.String(length=64), nullable=False),
    sa.Column('face_box_json', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('uid', name=op.f('uq_cases_uid'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_pseudonym'), ['pseudonym'], unique=False)

    op.create_table('studies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=256), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_name', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('options_json', sa.Text(), nullable=False),
    sa.Column('passphrase_hash', sa.String(length=256), nullable=True),
    sa.Column('seal_salt', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unblinded_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_studies')),
    sa.UniqueConstraint('uid', name=op.f('uq_studies_uid'))
    )
    op.create_table('masks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('file_path', sa.String(length=512), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_masks_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_masks')),
    sa.UniqueConstraint('case_id', name=op.f('uq_masks_case_id'))
    )
    op.create_table('predictions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('model_name', sa.String(length=128), nullable=False),
    sa.Column('weights_sha256', sa.String(length=64), nullable=True),
    sa.Column('device', sa.String(length=128), nullable=False),
    sa.Column('app_version', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('image_path', sa.String(length=512), nullable=False),
    sa.Column('image_sha256', sa.String(length=64), nullable=False),
    sa.Column('landmarks_json', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_predictions_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_predictions'))
    )
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_predictions_case_id'), ['case_id'], unique=False)

    op.create_table('raters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=32), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('initials', sa.String(length=16), nullable=False),
    sa.Column('site', sa.String(length=128), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_raters_study_id_studies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raters')),
    sa.UniqueConstraint('study_id', 'initials', name=op.f('uq_raters_study_id_initials')),
    sa.UniqueConstraint('uid', name=op.f('uq_raters_uid'))
    )
    with op.batch_alter_table('raters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raters_study_id'), ['study_id'], unique=False)

    op.create_table('study_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('original_path', sa.String(length=512), nullable=True),
    sa.Column('original_sha256', sa.String(length=64), nullable=True),
    sa.Column('masked_path', sa.String(length=512), nullable=True),
    sa.Column('masked_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_study_cases_case_id_cases'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_study_cases_study_id_studies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_cases')),
    sa.UniqueConstraint('study_id', 'case_id', name=op.f('uq_study_cases_study_id_case_id')),
    sa.UniqueConstraint('study_id', 'code', name=op.f('uq_study_cases_study_id_code'))
    )
    with op.batch_alter_table('study_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_cases_study_id'), ['study_id'], unique=False)

    op.create_table('study_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_study_models_study_id_studies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_study_models')),
    sa.UniqueConstraint('study_id', 'name', name=op.f('uq_study_models_study_id_name')),
    sa.UniqueConstraint('study_id', 'position', name=op.f('uq_study_models_study_id_position'))
    )
    with op.batch_alter_table('study_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_models_study_id'), ['study_id'], unique=False)

    op.create_table('unblinding_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_unblinding_log_study_id_studies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unblinding_log'))
    )
    with op.batch_alter_table('unblinding_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unblinding_log_study_id'), ['study_id'], unique=False)

    op.create_table('outputs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('study_case_id', sa.Integer(), nullable=False),
    sa.Column('file_path', sa.String(length=512), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['study_case_id'], ['study_cases.id'], name=op.f('fk_outputs_study_case_id_study_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_outputs_study_id_studies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outputs'))
    )
    with op.batch_alter_table('outputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outputs_study_case_id'), ['study_case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outputs_study_id'), ['study_id'], unique=False)

    op.create_table('rater_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rater_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('study_case_id', sa.Integer(), nullable=False),
    sa.Column('is_repeat', sa.Boolean(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['rater_id'], ['raters.id'], name=op.f('fk_rater_items_rater_id_raters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_case_id'], ['study_cases.id'], name=op.f('fk_rater_items_study_case_id_study_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rater_items')),
    sa.UniqueConstraint('rater_id', 'position', name=op.f('uq_rater_items_rater_id_position'))
    )
    with op.batch_alter_table('rater_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rater_items_rater_id'), ['rater_id'], unique=False)

    op.create_table('comment_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['rater_items.id'], name=op.f('fk_comment_answers_item_id_rater_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_answers')),
    sa.UniqueConstraint('item_id', name=op.f('uq_comment_answers_item_id'))
    )
    op.create_table('output_models',
    sa.Column('output_id', sa.String(length=32), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('sealed_token', sa.Text(), nullable=False),
    sa.Column('revealed_model', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['output_id'], ['outputs.id'], name=op.f('fk_output_models_output_id_outputs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_output_models_study_id_studies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('output_id', name=op.f('pk_output_models'))
    )
    with op.batch_alter_table('output_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_output_models_study_id'), ['study_id'], unique=False)

    op.create_table('rater_item_outputs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('output_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['rater_items.id'], name=op.f('fk_rater_item_outputs_item_id_rater_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['output_id'], ['outputs.id'], name=op.f('fk_rater_item_outputs_output_id_outputs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rater_item_outputs')),
    sa.UniqueConstraint('item_id', 'output_id', name=op.f('uq_rater_item_outputs_item_id_output_id')),
    sa.UniqueConstraint('item_id', 'slot', name=op.f('uq_rater_item_outputs_item_id_slot'))
    )
    with op.batch_alter_table('rater_item_outputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rater_item_outputs_item_id'), ['item_id'], unique=False)

    op.create_table('rank_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_output_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rank >= 1', name=op.f('ck_rank_answers_rank_positive')),
    sa.ForeignKeyConstraint(['item_output_id'], ['rater_item_outputs.id'], name=op.f('fk_rank_answers_item_output_id_rater_item_outputs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rank_answers')),
    sa.UniqueConstraint('item_output_id', name=op.f('uq_rank_answers_item_output_id'))
    )
    op.create_table('scale_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_output_id', sa.Integer(), nullable=False),
    sa.Column('scale', sa.String(length=32), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score >= 1 AND score <= 5', name=op.f('ck_scale_answers_score_1_to_5')),
    sa.ForeignKeyConstraint(['item_output_id'], ['rater_item_outputs.id'], name=op.f('fk_scale_answers_item_output_id_rater_item_outputs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scale_answers')),
    sa.UniqueConstraint('item_output_id', 'scale', name=op.f('uq_scale_answers_item_output_id_scale'))
    )
    op.create_table('validity_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_output_id', sa.Integer(), nullable=False),
    sa.Column('valid', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('valid OR reason IS NOT NULL', name=op.f('ck_validity_answers_invalid_needs_reason')),
    sa.ForeignKeyConstraint(['item_output_id'], ['rater_item_outputs.id'], name=op.f('fk_validity_answers_item_output_id_rater_item_outputs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_validity_answers')),
    sa.UniqueConstraint('item_output_id', name=op.f('uq_validity_answers_item_output_id'))
    )


def downgrade() -> None:
    op.drop_table('validity_answers')
    op.drop_table('scale_answers')
    op.drop_table('rank_answers')
    with op.batch_alter_table('rater_item_outputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rater_item_outputs_item_id'))

    op.drop_table('rater_item_outputs')
    with op.batch_alter_table('output_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_output_models_study_id'))

    op.drop_table('output_models')
    op.drop_table('comment_answers')
    with op.batch_alter_table('rater_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rater_items_rater_id'))

    op.drop_table('rater_items')
    with op.batch_alter_table('outputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outputs_study_id'))
        batch_op.drop_index(batch_op.f('ix_outputs_study_case_id'))

    op.drop_table('outputs')
    with op.batch_alter_table('unblinding_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unblinding_log_study_id'))

    op.drop_table('unblinding_log')
    with op.batch_alter_table('study_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_models_study_id'))

    op.drop_table('study_models')
    with op.batch_alter_table('study_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_cases_study_id'))

    op.drop_table('study_cases')
    with op.batch_alter_table('raters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raters_study_id'))

    op.drop_table('raters')
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_predictions_case_id'))

    op.drop_table('predictions')
    op.drop_table('masks')
    op.drop_table('studies')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_pseudonym'))

    op.drop_table('cases')
