"""complaint: open311_key_id (the integration that filed it); complaint_event: actor_open311_key_id

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

A complaint filed through the Open311 GeoReport v2 server remembers the key it came with: that
integration may read it back in full (what it wrote, the pin, its media link), where a public read
shows only the agency's side. An update an integration posts (the mySociety
``servicerequestupdates`` extension) is recorded as its event's actor, as an officer's is, with
the integration's own id for it: an update posted again (a retry) is found and not applied twice.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open311_key_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_complaint_open311_key_id', ['open311_key_id'], unique=False)
        batch_op.create_foreign_key('fk_complaint_open311_key_id', 'open311_key', ['open311_key_id'], ['id'])
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_open311_key_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('external_update_id', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            'fk_complaint_event_actor_open311_key_id', 'open311_key', ['actor_open311_key_id'], ['id']
        )
        batch_op.create_unique_constraint(
            'uq_complaint_event_open311_update', ['actor_open311_key_id', 'external_update_id']
        )


def downgrade() -> None:
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.drop_constraint('uq_complaint_event_open311_update', type_='unique')
        batch_op.drop_constraint('fk_complaint_event_actor_open311_key_id', type_='foreignkey')
        batch_op.drop_column('external_update_id')
        batch_op.drop_column('actor_open311_key_id')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_constraint('fk_complaint_open311_key_id', type_='foreignkey')
        batch_op.drop_index('ix_complaint_open311_key_id')
        batch_op.drop_column('open311_key_id')
