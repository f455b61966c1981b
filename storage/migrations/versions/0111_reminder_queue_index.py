"""reminder queue index: pending rows by due time for the sweep

Revision ID: 0111
Revises: 0106
"""

from alembic import op

revision = "0111"
down_revision = "0108"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reminder_status_due_at", "reminder", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_reminder_status_due_at", table_name="reminder")
