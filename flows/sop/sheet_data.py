"""Reading worksheets: the open sheet of a Kasi, its items, and earlier quarters' answers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.domain.measure import Figures, Reported, Targets, figures
from flows.domain.periods import Period
from flows.domain.states import FILLABLE, CycleState, EntryState
from storage.models import Cycle, Entry, Indicator, Worksheet

__all__ = ["FILLABLE", "Item", "active_sheet", "quarter_history", "sheet_items", "targets_of"]


@dataclass
class Item:
    """One indicator on a worksheet, with what the Kasi needs to answer it."""

    entry: Entry
    indicator: Indicator
    quarter: int
    history: dict[int, Reported]

    @property
    def target_sd(self) -> Decimal | None:
        return self.indicator.target_sd(self.quarter)

    @property
    def state(self) -> EntryState:
        return EntryState.of(filled=self.entry.filled, editable=self.entry.editable)

    @property
    def measured(self) -> bool:
        """Indicators without a target this quarter are shown but not asked."""
        return self.target_sd is not None

    @property
    def previous(self) -> Decimal | None:
        """Last quarter's realisasi (as reported) for the card and the warning."""
        rep = self.history.get(self.quarter - 1)
        return rep.realisasi if rep else None

    def figures(self) -> Figures:
        reported = dict(self.history)
        reported[self.quarter] = Reported(
            self.entry.realisasi, self.entry.numerator, self.entry.denominator
        )
        return figures(targets_of(self.indicator), reported, (self.quarter,))


def targets_of(ind: Indicator) -> Targets:
    rentang = (
        (ind.range_lo, ind.range_hi)
        if ind.range_lo is not None and ind.range_hi is not None
        else None
    )
    return Targets(
        polarity=ind.polarity,
        aggregation=ind.aggregation,
        target_tahunan=ind.target_tahunan,
        target_sd=(ind.target_tw1, ind.target_tw2, ind.target_tw3, ind.target_tw4),
        rentang=rentang,
        inverse=ind.inverse,
    )


async def active_sheet(session: AsyncSession, person_id: int) -> tuple[Worksheet, Cycle] | None:
    """The newest worksheet of a running cycle for this person."""
    row = (
        await session.execute(
            select(Worksheet, Cycle)
            .join(Cycle, Cycle.id == Worksheet.cycle_id)
            .where(Worksheet.person_id == person_id, Cycle.status == CycleState.RUNNING)
            .order_by(Cycle.created_at.desc(), Cycle.id.desc())
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def quarter_history(
    session: AsyncSession, office_id: int, year: int, indicator_ids: list[int]
) -> dict[int, dict[int, Reported]]:
    """Answers per indicator per quarter from every TW cycle of that year."""
    rows = await session.execute(
        select(Entry, Cycle.period_key)
        .join(Worksheet, Worksheet.id == Entry.worksheet_id)
        .join(Cycle, Cycle.id == Worksheet.cycle_id)
        .where(
            Cycle.office_id == office_id,
            Cycle.period_key.like(f"{year}-TW%"),
            Entry.indicator_id.in_(indicator_ids),
            Entry.filled.is_(True),
        )
    )
    out: dict[int, dict[int, Reported]] = {i: {} for i in indicator_ids}
    for entry, key in rows:
        q = Period.from_key(key).last_quarter
        out[entry.indicator_id][q] = Reported(entry.realisasi, entry.numerator, entry.denominator)
    return out


async def sheet_items(session: AsyncSession, ws: Worksheet, cycle: Cycle) -> list[Item]:
    """The sheet's indicators in PK order, each with its earlier quarters.

    Loaded once per unit of work (kept in ``session.info``): the entries are the session's own
    objects, so changes made later in the same update show in the kept items.
    """
    kept: dict[tuple[int, int], list[Item]] = session.info.setdefault("sheet_items", {})
    found = kept.get((ws.id, cycle.id))
    if found is None:
        found = kept[(ws.id, cycle.id)] = await _load_items(session, ws, cycle)
    return list(found)


async def _load_items(session: AsyncSession, ws: Worksheet, cycle: Cycle) -> list[Item]:
    period = Period.from_key(cycle.period_key)
    rows = list(
        await session.execute(
            select(Entry, Indicator)
            .join(Indicator, Indicator.id == Entry.indicator_id)
            .where(Entry.worksheet_id == ws.id)
            .order_by(Indicator.position, Indicator.id)
        )
    )
    ids = [ind.id for _, ind in rows]
    hist = await quarter_history(session, cycle.office_id, period.year, ids)
    q = period.last_quarter
    return [
        Item(
            entry=e,
            indicator=i,
            quarter=q,
            history={k: v for k, v in hist.get(i.id, {}).items() if k < q},
        )
        for e, i in rows
    ]
