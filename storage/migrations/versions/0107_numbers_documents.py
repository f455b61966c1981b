"""numbers and documents: per-quarter ranges, evidence captions, kumulatif as quarter amounts

Revision ID: 0107
Revises: 0002

A ``kumulatif`` answer used to hold the total s.d. TW; it now holds the new amount in its
quarter (DOMAIN.md §3). The upgrade turns every stored total into that quarter's amount (total
minus the previous reported total of the same indicator and year); the downgrade sums back.
"""

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "0107"
down_revision = "0106"
branch_labels = None
depends_on = None


def _kumulatif_rows(conn: sa.Connection) -> dict[tuple[int, int, str], list[tuple[int, int, str]]]:
    """(indicator, office, year) → [(quarter, entry id, realisasi text)] in quarter order."""
    rows = conn.execute(
        sa.text(
            "SELECT e.id, e.indicator_id, e.realisasi, c.period_key, c.office_id "
            "FROM entry e JOIN worksheet w ON w.id = e.worksheet_id "
            "JOIN cycle c ON c.id = w.cycle_id JOIN indicator i ON i.id = e.indicator_id "
            "WHERE i.aggregation = 'kumulatif' AND e.realisasi IS NOT NULL "
            "AND c.period_key LIKE '%-TW%'"
        )
    )
    out: dict[tuple[int, int, str], list[tuple[int, int, str]]] = {}
    for entry_id, ind, real, key, office in rows:
        year, _, q = key.partition("-TW")
        if q.isdigit():
            out.setdefault((ind, office, year), []).append((int(q), entry_id, real))
    for series in out.values():
        series.sort()
    return out


def _write(conn: sa.Connection, entry_id: int, value: Decimal) -> None:
    text = "0" if value == 0 else format(value.normalize(), "f")
    conn.execute(
        sa.text("UPDATE entry SET realisasi = :v WHERE id = :i"), {"v": text, "i": entry_id}
    )


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): SQLite cannot drop a referenced table with rows.
    op.add_column("indicator", sa.Column("range_tw", sa.JSON(), nullable=True))
    op.add_column("stored_file", sa.Column("caption", sa.Text(), nullable=False, server_default=""))
    conn = op.get_bind()
    for series in _kumulatif_rows(conn).values():
        before = Decimal(0)
        for _q, entry_id, real in series:
            total = Decimal(real)
            _write(conn, entry_id, max(Decimal(0), total - before))
            before = max(before, total)


def downgrade() -> None:
    conn = op.get_bind()
    for series in _kumulatif_rows(conn).values():
        total = Decimal(0)
        for _q, entry_id, real in series:
            total += Decimal(real)
            _write(conn, entry_id, total)
    op.drop_column("stored_file", "caption")
    op.drop_column("indicator", "range_tw")
