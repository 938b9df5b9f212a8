"""a complaint's address is text of any length

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

On PostgreSQL a VARCHAR(500) address failed the insert of any one-message complaint longer than
500 characters (the first message was kept as the address): no ticket, no error for anyone.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.alter_column('address', existing_type=sa.String(length=500), type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.alter_column('address', existing_type=sa.Text(), type_=sa.String(length=500), existing_nullable=True)
