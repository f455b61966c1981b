"""worksheet.summary: the sheet's rekap summary, stored when it is sent

Revision ID: 0126
Revises: 0125
"""

import sqlalchemy as sa
from alembic import op

revision = "0126"
down_revision = "0125"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("worksheet", sa.Column("summary", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("worksheet") as batch:
        batch.drop_column("summary")
