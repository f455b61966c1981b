"""cycle preset snapshot; preset columns wide enough for an office's own preset file path

Revision ID: 0104
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0104"
down_revision = "0002"
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    # The preset a cycle started with, as JSON (flows.sop.preset.preset_snapshot); NULL for
    # cycles opened before this revision (the engine then loads the preset by its id).
    # A plain ADD COLUMN: a batch copy of ``cycle`` on SQLite fails once sheets point at it.
    op.add_column("cycle", sa.Column("preset_snapshot", sa.JSON(), nullable=True))
    if _sqlite():
        return  # SQLite does not enforce VARCHAR lengths: nothing to widen
    for table in ("cycle", "office"):
        op.alter_column(
            table, "preset", existing_type=sa.String(length=60), type_=sa.String(length=500)
        )


def downgrade() -> None:
    if not _sqlite():
        for table in ("office", "cycle"):
            op.alter_column(
                table, "preset", existing_type=sa.String(length=500), type_=sa.String(length=60)
            )
    op.drop_column("cycle", "preset_snapshot")
