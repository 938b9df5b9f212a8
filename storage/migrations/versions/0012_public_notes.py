"""complaint_event: public_note (the masked, published note of a status change); index on created_at

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08

A reply to the citizen is private; what a public read (the ticket page, keyless Open311) shows
of a complaint is its status and the public note that went with a status change, masked of
personal data when it was written (issue #26). Notes written before this revision were written
without the officer being told they would be public, so they stay private (no back-fill).
Keyless ``servicerequestupdates`` filters events by ``created_at``: indexed. An integration's
``update_id`` is unique per key and complaint, no longer per key alone.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_note', sa.Text(), nullable=True))
        batch_op.create_index('ix_complaint_event_created_at', ['created_at'], unique=False)
        # an integration's update_id is its own per complaint: the same id on another ticket is another update
        batch_op.drop_constraint('uq_complaint_event_open311_update', type_='unique')
        batch_op.create_unique_constraint(
            'uq_complaint_event_open311_update', ['actor_open311_key_id', 'complaint_id', 'external_update_id']
        )


def downgrade() -> None:
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.drop_constraint('uq_complaint_event_open311_update', type_='unique')
        batch_op.create_unique_constraint(
            'uq_complaint_event_open311_update', ['actor_open311_key_id', 'external_update_id']
        )
        batch_op.drop_index('ix_complaint_event_created_at')
        batch_op.drop_column('public_note')
