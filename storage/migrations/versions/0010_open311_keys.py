"""open311_key: the api_keys of integrations posting to the Open311 GeoReport v2 server

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

An integration (an agency's own system, a city web form) posts service requests with an
``api_key``. Only a SHA-256 of the key is stored, with its first characters to tell keys apart;
a key may be bound to agencies and places (comma-separated codes, NULL for any). A name is unique
among live keys only (a partial index), so a revoked key's replacement keeps the integration's name.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('open311_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('agency_codes', sa.Text(), nullable=True),
    sa.Column('region_codes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('open311_key', schema=None) as batch_op:
        batch_op.create_index(
            'uq_open311_key_live_name', ['name'], unique=True,
            sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'),
        )


def downgrade() -> None:
    with op.batch_alter_table('open311_key', schema=None) as batch_op:
        batch_op.drop_index('uq_open311_key_live_name')

    op.drop_table('open311_key')
