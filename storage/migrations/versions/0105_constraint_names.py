"""constraint names: databases made before the naming convention get its names

Revision ID: 0105
Revises: 0002
Create Date: 2026-11-30 11:20:00

From this revision on, ``storage.models`` names every constraint by a convention, and Alembic's
operations use it, so a fresh database already has these names. A PostgreSQL database migrated
before had the server's own names (``office_pkey``, ``reminder_key_key``, ``acting_office_id_fkey``);
they are renamed here, so later migrations can drop a constraint by its name. SQLite keeps the
unnamed constraints it had (SQLite cannot rename a constraint; a later batch migration that
passes ``naming_convention`` to ``batch_alter_table`` finds them under these names).
"""

import sqlalchemy as sa
from alembic import op


revision = "0105"
down_revision = "0104"
branch_labels = None
depends_on = None


def _expected(kind: str, table: str, columns: list[str]) -> str:
    """The name ``storage.models.NAMING_CONVENTION`` gives (kept here: migrations stand alone)."""
    if kind == "pk":
        return f"pk_{table}"
    if kind == "fk":
        return f"fk_{table}_{columns[0]}"
    return f"uq_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    insp = sa.inspect(bind)
    for table in insp.get_table_names():
        if table == "alembic_version":
            continue
        found: list[tuple[str, str | None, list[str]]] = []
        pk = insp.get_pk_constraint(table)
        found.append(("pk", pk["name"], pk["constrained_columns"]))
        found += [
            ("fk", fk["name"], fk["constrained_columns"]) for fk in insp.get_foreign_keys(table)
        ]
        found += [
            ("uq", uq["name"], uq["column_names"]) for uq in insp.get_unique_constraints(table)
        ]
        for kind, name, columns in found:
            new = _expected(kind, table, columns)
            if name and name != new:
                op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{name}" TO "{new}"')


def downgrade() -> None:
    pass  # the convention's names are as good as the server's
