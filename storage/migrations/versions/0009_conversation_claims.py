"""contact_urn: turn_owner, turn_lease_until (which instance runs a conversation's turns);
message: sent_to_engine_at (a turn that may have reached Rasa); complaint: filed_by_message_id

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

With several app instances, a conversation's turns must still run one at a time and in order.
The instance that runs them claims the conversation's row for a lease it renews, and gives it back
when it is done; a dead instance's claim runs out. ``sent_to_engine_at`` is written before a
message goes to Rasa: a message that has it and is still pending may have been processed already
(the answer was lost), so the next attempt asks Rasa's tracker first instead of sending it again.
A turn Rasa never saved (it died mid-turn) is sent again, and its actions run again: the filing
action finds the complaint its message filed (``filed_by_message_id``, unique) and files no second.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('contact_urn', schema=None) as batch_op:
        batch_op.add_column(sa.Column('turn_owner', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('turn_lease_until', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_to_engine_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filed_by_message_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_complaint_filed_by_message_id', ['filed_by_message_id'])


def downgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_constraint('uq_complaint_filed_by_message_id', type_='unique')
        batch_op.drop_column('filed_by_message_id')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('sent_to_engine_at')
    with op.batch_alter_table('contact_urn', schema=None) as batch_op:
        batch_op.drop_column('turn_lease_until')
        batch_op.drop_column('turn_owner')
