"""WhatsApp identities (phone kept beside the Cloud API user id), named closed buttons

Revision ID: 0106
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op


revision = "0106"
down_revision = "0105"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity") as batch:
        batch.add_column(
            sa.Column("phone", sa.String(length=20), nullable=False, server_default="")
        )
    with op.batch_alter_table("button_token") as batch:
        batch.add_column(sa.Column("closed_note", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("button_token") as batch:
        batch.drop_column("closed_note")
    with op.batch_alter_table("identity") as batch:
        batch.drop_column("phone")
