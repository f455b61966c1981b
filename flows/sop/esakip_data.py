"""The e-SAKIP hand-off's values: every quarter of the year up to the cycle's, from the DB."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.domain.periods import Period
from flows.sop.report_data import ReportNotFound, report_data
from reports.esakip import EsakipData, EsakipRow, QuarterValues
from storage.models import Cycle


async def esakip_data(session: AsyncSession, cycle_id: int, *, now: datetime) -> EsakipData:
    """Rows in the order of the cycle's report; TW columns filled where a cycle exists."""
    cycle = await session.get(Cycle, cycle_id)
    if cycle is None:
        raise ReportNotFound(f"cycle {cycle_id}")
    period = Period.from_key(cycle.period_key)
    current = await report_data(session, cycle.id, cycle.period_key, now=now)
    by_quarter: dict[int, dict[str, QuarterValues]] = {}
    for n in range(1, period.number + 1):
        key = Period.quarter(period.year, n).key
        other = await session.scalar(
            select(Cycle.id).where(Cycle.office_id == cycle.office_id, Cycle.period_key == key)
        )
        if other is None:
            continue
        data = current if other == cycle.id else await report_data(session, other, key, now=now)
        by_quarter[n] = {
            r.kode: QuarterValues(r.target_sd, r.realisasi_sd, r.capaian_sd) for r in data.all_rows
        }
    rows = tuple(
        EsakipRow(
            kode=r.kode,
            indikator=r.indikator,
            satuan=r.satuan,
            target_tahunan=r.target_tahunan,
            quarters=tuple(by_quarter.get(n, {}).get(r.kode) for n in range(1, 5)),
        )
        for r in current.all_rows
    )
    return EsakipData(current.office.nama, period.year, current.period_slug, rows)
