"""late sheets (a filling window that closes) and indicators that require evidence

Revision ID: 0121
Revises: 0111
"""

import sqlalchemy as sa
from alembic import op

revision = "0121"
down_revision = "0111"
branch_labels = None
depends_on = None

#: Plain ADD COLUMNs (no foreign key): a batch copy of ``worksheet`` on SQLite fails once
#: entries point at it, so ``late_allowed_by`` holds a person id without a constraint.
_WORKSHEET = (
    sa.Column("late_asked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("late_allowed_by", sa.Integer(), nullable=True),
    sa.Column("late_allowed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("late_minutes", sa.Integer(), nullable=True),
)


def upgrade() -> None:
    for column in _WORKSHEET:
        op.add_column("worksheet", column)
    op.add_column(
        "indicator",
        sa.Column("requires_evidence", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("indicator", "requires_evidence")
    for column in reversed(_WORKSHEET):
        op.drop_column("worksheet", column.name)
