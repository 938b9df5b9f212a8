"""officers in the loop: officer addresses, routing rules, deadline alerts, dialogue pushes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Officers work on their own URNs; complaints are routed by category and place; reminders and
breaches are recorded once per deadline; what a citizen was pushed is told to the dialogue.
The agency's open list gets an index that serves its order (agency, status, newest first).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('officer_urn',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('urn', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('urn')
    )
    with op.batch_alter_table('officer_urn', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officer_urn_officer_id'), ['officer_id'], unique=False)

    op.create_table('routing_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('category', 'region_code', name='uq_routing_rule_category_region')
    )
    with op.batch_alter_table('routing_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_rule_agency_id'), ['agency_id'], unique=False)

    op.create_table('deadline_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('deadline', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('complaint_id', 'deadline', 'kind', 'due', name='uq_deadline_alert_once')
    )
    with op.batch_alter_table('deadline_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_alert_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('dialogue_push',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('urn_id', sa.Integer(), nullable=False),
    sa.Column('intent', sa.String(length=64), nullable=False),
    sa.Column('entities', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['urn_id'], ['contact_urn.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dialogue_push', schema=None) as batch_op:
        batch_op.create_index('ix_dialogue_push_state_available', ['state', 'available_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dialogue_push_urn_id'), ['urn_id'], unique=False)

    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_name', sa.String(length=64), nullable=True))

    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('followed_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.Integer(), nullable=True))
        batch_op.drop_index('ix_complaint_agency_status')
        batch_op.create_index(
            'ix_complaint_agency_status_created', ['agency_id', 'status', 'created_at', 'id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_agency_status_created')
        batch_op.create_index('ix_complaint_agency_status', ['agency_id', 'status'], unique=False)
        batch_op.drop_column('rating')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('followed_up_at')

    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('short_name')

    with op.batch_alter_table('dialogue_push', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dialogue_push_urn_id'))
        batch_op.drop_index('ix_dialogue_push_state_available')
    op.drop_table('dialogue_push')

    with op.batch_alter_table('deadline_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_alert_complaint_id'))
    op.drop_table('deadline_alert')

    with op.batch_alter_table('routing_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_rule_agency_id'))
    op.drop_table('routing_rule')

    with op.batch_alter_table('officer_urn', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officer_urn_officer_id'))
    op.drop_table('officer_urn')
