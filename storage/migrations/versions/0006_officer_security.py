"""officer security: a PIN for commands over SMS, and what kind of notification a message is

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

SMS sender ids can be spoofed, so supervisors and admins confirm commands over SMS with a PIN
(stored as a salted scrypt hash, with a count of wrong PINs and a lock). A message to officers
records its kind, so that a plain reply to a reminder or a breach alert is not relayed to the
reporter; an officer's message that carried a PIN keeps only whether it was right.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_hash', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('pin_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pin_locked_until', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('pin_check', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('pin_check')
        batch_op.drop_column('kind')

    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.drop_column('pin_locked_until')
        batch_op.drop_column('pin_failures')
        batch_op.drop_column('pin_hash')
