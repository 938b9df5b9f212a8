"""open311_confirmation (a phone an Open311 request named, until its owner says YA); open311_key rate counter

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08

Any key holder can type any number into a request's ``phone`` (issue #26): the complaint keeps a
record-only reporter until that number answers the one SMS that asks it. Each key's requests are
counted per fixed window in its own row, so OPEN311_KEY_RATE holds across app instances.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'open311_confirmation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('urn_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id']),
        sa.ForeignKeyConstraint(['urn_id'], ['contact_urn.id']),
        sa.ForeignKeyConstraint(['message_id'], ['message.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('complaint_id'),
    )
    op.create_index('ix_open311_confirmation_urn_id', 'open311_confirmation', ['urn_id'], unique=False)
    with op.batch_alter_table('open311_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate_window_start', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('rate_count', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('open311_key', schema=None) as batch_op:
        batch_op.drop_column('rate_count')
        batch_op.drop_column('rate_window_start')
    op.drop_index('ix_open311_confirmation_urn_id', table_name='open311_confirmation')
    op.drop_table('open311_confirmation')
