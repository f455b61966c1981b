"""entry history: every value stored for an entry, old → new, who, when, why, channel

Revision ID: 0122
Revises: 0111
"""

import sqlalchemy as sa
from alembic import op

revision = "0122"
down_revision: str | None = "0121"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("entry.id"), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=True),
        sa.Column("acting_as", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_entry_change_entry_id", "entry_change", ["entry_id"])
    op.create_index("ix_entry_change_at", "entry_change", ["at"])


def downgrade() -> None:
    op.drop_index("ix_entry_change_at", table_name="entry_change")
    op.drop_index("ix_entry_change_entry_id", table_name="entry_change")
    op.drop_table("entry_change")
