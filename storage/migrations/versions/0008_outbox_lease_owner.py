"""outbox: lease_owner (which dispatcher holds a row's lease)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

A lease was only a time: a dispatcher whose send outlived it could still mark the row sent after
another had taken it over, and both would send it. Now the lease names its owner; the owner renews
it while it sends, and only the owner may settle the row.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('lease_owner')
