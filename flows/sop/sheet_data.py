"""Reading worksheets: the open sheet of a Kasi, its items, and earlier quarters' answers."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BindParameter, Executable, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from flows.domain.capaian import DEFAULT_SCALE, PredikatScale
from flows.domain.measure import Figures, Range, Reported, Targets, figures, sd_before
from flows.domain.office_settings import predikat_scale_for
from flows.domain.periods import Period
from flows.domain.states import FILLABLE, CycleState, EntryState
from storage.db import keep
from storage.models import Cycle, Entry, Indicator, Office, Section, Worksheet

__all__ = [
    "FILLABLE",
    "Item",
    "active_sheet",
    "quarter_history",
    "sheet_items",
    "sheet_with_cycle",
    "targets_of",
]


@dataclass
class Item:
    """One indicator on a worksheet, with what the Kasi needs to answer it."""

    entry: Entry
    indicator: Indicator
    quarter: int
    history: dict[int, Reported]
    scale: PredikatScale = DEFAULT_SCALE  # the office's predikat scale

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
    def kumulatif(self) -> bool:
        return self.indicator.aggregation == "kumulatif"

    @property
    def previous(self) -> Decimal | None:
        """Last quarter's realisasi (as reported) for the card."""
        rep = self.history.get(self.quarter - 1)
        return rep.realisasi if rep else None

    @property
    def sd_before(self) -> Decimal:
        """Realisasi s.d. the previous quarter of a ``kumulatif`` indicator (0 at TW I)."""
        return sd_before(targets_of(self.indicator), self.history, self.quarter)

    def figures(self, realisasi: Decimal | None = None) -> Figures:
        """This quarter's figures, with the stored answer or, if given, ``realisasi``."""
        reported = dict(self.history)
        if realisasi is not None:
            reported[self.quarter] = Reported(realisasi)
        else:
            reported[self.quarter] = Reported(
                self.entry.realisasi, self.entry.numerator, self.entry.denominator
            )
        return figures(targets_of(self.indicator), reported, (self.quarter,), self.scale)


def _range(pair: object) -> Range | None:
    if not isinstance(pair, list | tuple) or len(pair) != 2 or None in pair:
        return None
    lo, hi = Decimal(str(pair[0])), Decimal(str(pair[1]))
    return (lo, hi) if lo <= hi else (hi, lo)


def ranges_tw(ind: Indicator) -> tuple[Range | None, Range | None, Range | None, Range | None]:
    """The indicator's own per-quarter ranges (stored as ``[[lo, hi] | None] * 4``)."""
    raw = list(ind.range_tw or [])[:4]
    raw += [None] * (4 - len(raw))
    return (_range(raw[0]), _range(raw[1]), _range(raw[2]), _range(raw[3]))


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
        rentang_tw=ranges_tw(ind),
    )


async def active_sheet(session: AsyncSession, person_id: int) -> tuple[Worksheet, Cycle] | None:
    """The newest worksheet of a running cycle for this person."""
    row = (
        await session.execute(
            select(Worksheet, Cycle, Office)
            .join(Cycle, Cycle.id == Worksheet.cycle_id)
            .join(Office, Office.id == Cycle.office_id)
            .where(Worksheet.person_id == person_id, Cycle.status == CycleState.RUNNING)
            .order_by(Cycle.created_at.desc(), Cycle.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    keep(session, *row)  # the office is read again for its settings
    return row[0], row[1]


@functools.cache
def _sheet_query() -> Executable:
    """A worksheet, its cycle, the cycle's office and the sheet's section (built once;
    parameter ``ws_id``)."""
    return (
        select(Worksheet, Cycle, Office, Section)
        .join(Cycle, Cycle.id == Worksheet.cycle_id)
        .join(Office, Office.id == Cycle.office_id)
        .join(Section, Section.id == Worksheet.section_id)
        .where(Worksheet.id == bindparam("ws_id"))
    )


async def sheet_with_cycle(
    session: AsyncSession, ws_id: object
) -> tuple[Worksheet, Cycle] | tuple[None, None]:
    """A worksheet with its cycle (and the cycle's office, the sheet's section) in one query,
    kept for the unit of work so that later ``session.get`` calls of any of them need no query."""
    if not isinstance(ws_id, int) or isinstance(ws_id, bool):
        return None, None
    row = (await session.execute(_sheet_query(), {"ws_id": ws_id})).first()
    if row is None:
        return None, None
    keep(session, *row)
    return row[0], row[1]


async def quarter_history(
    session: AsyncSession,
    office_id: int,
    year: int,
    indicator_ids: list[int],
    before: int | None = None,
) -> dict[int, dict[int, Reported]]:
    """Answers per indicator per quarter from every TW cycle of that year (only the quarters
    before ``before`` when given: no query at all for TW I)."""
    out: dict[int, dict[int, Reported]] = {i: {} for i in indicator_ids}
    if (before is not None and before <= 1) or not indicator_ids:
        return out
    keys = (
        Cycle.period_key.like(f"{year}-TW%")
        if before is None
        else Cycle.period_key.in_([Period.quarter(year, k).key for k in range(1, before)])
    )
    rows = await session.execute(
        select(
            Entry.indicator_id,
            Entry.realisasi,
            Entry.numerator,
            Entry.denominator,
            Cycle.period_key,
        )
        .join(Worksheet, Worksheet.id == Entry.worksheet_id)
        .join(Cycle, Cycle.id == Worksheet.cycle_id)
        .where(
            Cycle.office_id == office_id,
            keys,
            Entry.indicator_id.in_(indicator_ids),
            Entry.filled.is_(True),
        )
    )
    for ind_id, realisasi, numerator, denominator, key in rows:
        q = Period.from_key(key).last_quarter
        out[ind_id][q] = Reported(realisasi, numerator, denominator)
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


@functools.cache
def _items_query(with_history: bool) -> Executable:
    """The sheet's entries and indicators, with the earlier quarters' answers of the same
    indicators joined in when asked (one row per indicator and earlier quarter).

    Built once (the aliases are costly to build per update); parameters ``ws_id``,
    ``office_id`` and ``earlier`` (the earlier quarters' period keys).
    """
    ws_id: BindParameter[int] = bindparam("ws_id")
    query: Any = (
        select(Entry, Indicator)
        .join(Indicator, Indicator.id == Entry.indicator_id)
        .where(Entry.worksheet_id == ws_id)
    )
    if with_history:
        # Outer joins through the indicator's own entries (indexed), not a subquery over the
        # office: a past entry outside the earlier quarters comes with no period and is skipped.
        past = aliased(Entry, name="past")
        past_ws = aliased(Worksheet, name="past_ws")
        past_cycle = aliased(Cycle, name="past_cycle")
        query = (
            query.add_columns(
                past.realisasi, past.numerator, past.denominator, past_cycle.period_key
            )
            .outerjoin(
                past,
                and_(
                    past.indicator_id == Entry.indicator_id,
                    past.filled.is_(True),
                    past.worksheet_id != ws_id,
                ),
            )
            .outerjoin(past_ws, past_ws.id == past.worksheet_id)
            .outerjoin(
                past_cycle,
                and_(
                    past_cycle.id == past_ws.cycle_id,
                    past_cycle.office_id == bindparam("office_id"),
                    past_cycle.period_key.in_(bindparam("earlier", expanding=True)),
                ),
            )
        )
    return query.order_by(Indicator.position, Indicator.id)


async def _load_items(session: AsyncSession, ws: Worksheet, cycle: Cycle) -> list[Item]:
    period = Period.from_key(cycle.period_key)
    q = period.last_quarter
    earlier = [Period.quarter(period.year, k).key for k in range(1, q)]
    params: dict[str, Any] = {"ws_id": ws.id}
    if earlier:
        params |= {"office_id": cycle.office_id, "earlier": earlier}
    rows: Any = await session.execute(_items_query(bool(earlier)), params)
    found: dict[int, tuple[Entry, Indicator, dict[int, Reported]]] = {}
    for row in rows:
        _, _, history = found.setdefault(row[0].id, (row[0], row[1], {}))
        if earlier and row[5] is not None:
            history[Period.from_key(row[5]).last_quarter] = Reported(row[2], row[3], row[4])
    office = await session.get(Office, cycle.office_id)
    keep(session, office)  # asked for again in the same update (the office's settings)
    scale = predikat_scale_for(office.settings or {}) if office else DEFAULT_SCALE
    return [
        Item(entry=e, indicator=i, quarter=q, history=history, scale=scale)
        for e, i, history in found.values()
    ]
