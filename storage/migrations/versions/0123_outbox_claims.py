"""outbox claims: a worker's lease on the head of a chat

Revision ID: 0123
Revises: 0111
"""

import sqlalchemy as sa
from alembic import op

revision = "0123"
down_revision = "0111"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("claim_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claim_until")
        batch.drop_column("claimed_by")
