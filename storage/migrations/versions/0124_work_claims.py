"""work claims: inbox rows and document jobs leased by one worker; per-chat inbox order; leases

Revision ID: 0124
Revises: 0111
"""

import sqlalchemy as sa
from alembic import op


revision = "0124"
down_revision = "0123"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("chat", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("claim_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_inbox_status_channel_chat", "inbox", ["status", "channel", "chat", "id"])
    pending = sa.text("status = 'pending'")
    op.create_index(
        "ix_inbox_pending", "inbox", ["id"], postgresql_where=pending, sqlite_where=pending
    )
    with op.batch_alter_table("document_job") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("claim_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "lease",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lease")),
    )


def downgrade() -> None:
    op.drop_table("lease")
    with op.batch_alter_table("document_job") as batch:
        batch.drop_column("claim_until")
        batch.drop_column("claimed_by")
    op.drop_index("ix_inbox_pending", table_name="inbox")
    op.drop_index("ix_inbox_status_channel_chat", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("claim_until")
        batch.drop_column("claimed_by")
        batch.drop_column("chat")
