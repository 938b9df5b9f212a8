"""agency: drop is_national_queue (the national queue is the agency whose code is NASIONAL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

The flag was set on the seeded national queue and never read: every lookup finds that queue by
its code, NASIONAL. Two sources of truth for one fact may disagree, so the flag goes; the
downgrade puts it back, set on that agency.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('is_national_queue')


def downgrade() -> None:
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_national_queue', sa.Boolean(), nullable=False, server_default=sa.false()))

    agency = sa.table("agency", sa.column("code", sa.String), sa.column("is_national_queue", sa.Boolean))
    op.execute(agency.update().where(agency.c.code == "NASIONAL").values(is_national_queue=True))

    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.alter_column('is_national_queue', server_default=None)
