"""entry by indicator: the earlier quarters' answers of a sheet's indicators without a scan

Revision ID: 0125
Revises: 0111
"""

from alembic import op

revision = "0125"
down_revision = "0124"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_entry_indicator_id", "entry", ["indicator_id"])


def downgrade() -> None:
    op.drop_index("ix_entry_indicator_id", table_name="entry")
