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


def upgrade() -> None:
    # The preset a cycle started with, as JSON (flows.sop.preset.preset_snapshot); NULL for
    # cycles opened before this revision (the engine then loads the preset by its id).
    with op.batch_alter_table("cycle") as batch:
        batch.add_column(sa.Column("preset_snapshot", sa.JSON(), nullable=True))
        batch.alter_column(
            "preset", existing_type=sa.String(length=60), type_=sa.String(length=500)
        )
    with op.batch_alter_table("office") as batch:
        batch.alter_column(
            "preset", existing_type=sa.String(length=60), type_=sa.String(length=500)
        )


def downgrade() -> None:
    with op.batch_alter_table("office") as batch:
        batch.alter_column(
            "preset", existing_type=sa.String(length=500), type_=sa.String(length=60)
        )
    with op.batch_alter_table("cycle") as batch:
        batch.alter_column(
            "preset", existing_type=sa.String(length=500), type_=sa.String(length=60)
        )
        batch.drop_column("preset_snapshot")
