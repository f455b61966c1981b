"""The rekap as a short chat summary: per section, who sent, average capaian, weak indicators."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from flows.core.context import Ctx
from flows.domain.capaian import DEFAULT_SCALE, average_capaian, is_sedang_or_below
from flows.domain.measure import Figures, Reported, figures
from flows.domain.office_settings import predikat_scale_for
from flows.sop.run import Run
from flows.sop.sheet_data import Item, quarter_history, targets_of
from storage.models import Cycle, Entry, Indicator, Person, Section, Worksheet

_CHUNK = 400  # indicator ids per ``IN (...)``
#: The indicator's columns that ``targets_of`` reads, and its code.
_TARGET_COLUMNS = (
    "kode",
    "polarity",
    "aggregation",
    "inverse",
    "target_tahunan",
    "target_tw1",
    "target_tw2",
    "target_tw3",
    "target_tw4",
    "range_lo",
    "range_hi",
    "range_tw",
)


@dataclass(frozen=True)
class SectionSummary:
    seksi: str
    orang: str
    status: str
    rata_rata: Decimal | None
    lemah: tuple[str, ...]  # codes at Sedang or below
    jumlah: int


def _figures_of(target: Any, earlier: dict[int, Reported], now: Reported, q: int) -> Figures | None:
    """One indicator's figures as the rekap summary counts them; ``None`` when it is not
    measured in quarter ``q``. ``target`` is an Indicator or a row with its columns."""
    if getattr(target, f"target_tw{q}") is None:
        return None
    reported = {k: v for k, v in earlier.items() if k < q}
    reported[q] = now
    # as ``Item.figures`` of an item made without the office's scale
    return figures(targets_of(target), reported, (q,), DEFAULT_SCALE)


def _line(figs: list[tuple[str, Figures]]) -> dict[str, Any]:
    """What a sheet adds to the summary, as stored on the worksheet (JSON)."""
    mean = average_capaian(f.capaian_sd for _, f in figs)
    return {
        "rata_rata": None if mean is None else str(mean),
        "jumlah": len(figs),
        "predikat": [[kode, f.predikat] for kode, f in figs if f.predikat],
    }


def stored_line(items: list[Item], q: int) -> dict[str, Any]:
    """The sheet's summary line from its items, as it is sent (kept in ``Worksheet.summary``):
    the same figures :func:`section_summaries` makes from the stored answers."""
    figs = []
    for item in items:
        entry = item.entry
        now = Reported(entry.realisasi, entry.numerator, entry.denominator)
        f = _figures_of(item.indicator, item.history, now, q)
        if f is not None:
            figs.append((item.indicator.kode, f))
    return _line(figs)


async def forget_lines(session: AsyncSession, office_id: int) -> None:
    """Every stored summary line of the office's sheets is made again from the answers: its
    indicators changed (targets, codes)."""
    cycles = select(Cycle.id).where(Cycle.office_id == office_id).scalar_subquery()
    await session.execute(
        update(Worksheet)
        .where(Worksheet.cycle_id.in_(cycles), Worksheet.summary.is_not(None))
        .values(summary=None)
        .execution_options(synchronize_session=False)
    )


@functools.cache
def _forget_indicator() -> Executable:
    """Clears the stored lines of the other sheets with this indicator (parameters ``ind``
    and ``own``): their kumulatif figures may have counted the changed answer."""
    others = (
        select(Entry.worksheet_id)
        .where(Entry.indicator_id == bindparam("ind"), Entry.worksheet_id != bindparam("own"))
        .scalar_subquery()
    )
    return (
        update(Worksheet)
        .where(Worksheet.id.in_(others), Worksheet.summary.is_not(None))
        .values(summary=None)
        .execution_options(synchronize_session=False)
    )


async def figure_changed(session: AsyncSession, ws: Worksheet | None, entry: Entry) -> None:
    """A number of ``entry`` changed: its sheet's stored line and those of the sheets that
    read it as an earlier quarter are made again when next shown."""
    if ws is not None and ws.summary is not None:
        ws.summary = None
    done: set[tuple[int, int]] = session.info.setdefault("lines_forgotten", set())
    if (entry.indicator_id, entry.worksheet_id) in done:  # a rasio's three numbers: once
        return
    done.add((entry.indicator_id, entry.worksheet_id))
    # on the connection: no flush of the answer being written (it is flushed once, later)
    conn = await session.connection()
    await conn.execute(_forget_indicator(), {"ind": entry.indicator_id, "own": entry.worksheet_id})


def _summary(first: Any, line: dict[str, Any], weak: frozenset[str]) -> SectionSummary:
    mean = line["rata_rata"]
    return SectionSummary(
        seksi=first.seksi,
        orang=first.orang,
        status=first.ws_status,
        rata_rata=None if mean is None else Decimal(mean),
        lemah=tuple(kode for kode, p in line["predikat"] if p in weak),
        jumlah=line["jumlah"],
    )


@functools.cache
def _sheets_query() -> Executable:
    """The cycle's sheets with their names and stored lines (parameter ``cycle_id``)."""
    return (
        select(
            Worksheet.id.label("ws_id"),
            Worksheet.status.label("ws_status"),
            Worksheet.summary,
            Section.nama.label("seksi"),
            Person.nama.label("orang"),
        )
        .join(Section, Section.id == Worksheet.section_id)
        .join(Person, Person.id == Worksheet.person_id)
        .where(Worksheet.cycle_id == bindparam("cycle_id"))
        .order_by(Worksheet.id)
    )


async def section_summaries(ctx: Ctx, run: Run) -> list[SectionSummary]:
    """One summary per worksheet. A sent sheet's line is stored with it (``Worksheet.summary``,
    cleared when a figure it counts changes); the others are made from one query over their
    entries and one over the year's earlier quarters (no query per sheet)."""
    scale = predikat_scale_for(run.office.settings)
    sheets = list(await ctx.session.execute(_sheets_query(), {"cycle_id": run.cycle.id}))
    lines: dict[int, dict[str, Any]] = {r.ws_id: r.summary for r in sheets if r.summary}
    missing = [r.ws_id for r in sheets if r.ws_id not in lines]
    for i in range(0, len(missing), _CHUNK):
        lines.update(await _fresh_lines(ctx, run, missing[i : i + _CHUNK]))
    weak = frozenset(label for label in scale.labels if is_sedang_or_below(label, scale))
    return [_summary(r, lines.get(r.ws_id, _line([])), weak) for r in sheets]


async def _fresh_lines(ctx: Ctx, run: Run, ws_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The lines of these sheets made from their stored answers."""
    q = run.period.last_quarter
    # plain rows; ``targets_of`` reads them as it reads an Indicator (same attribute names)
    rows: list[Any] = list(
        await ctx.session.execute(
            select(
                Entry.worksheet_id.label("ws_id"),
                Entry.realisasi,
                Entry.numerator,
                Entry.denominator,
                Indicator.id.label("ind_id"),
                *(getattr(Indicator, name) for name in _TARGET_COLUMNS),
            )
            .join(Indicator, Indicator.id == Entry.indicator_id)
            .where(Entry.worksheet_id.in_(ws_ids))
            .order_by(Entry.worksheet_id, Indicator.position, Indicator.id)
        )
    )
    ids = list(dict.fromkeys(r.ind_id for r in rows))
    hist: dict[int, dict[int, Reported]] = {}
    for i in range(0, len(ids), _CHUNK):
        hist.update(
            await quarter_history(
                ctx.session, run.office.id, run.period.year, ids[i : i + _CHUNK], q
            )
        )
    figs: dict[int, list[tuple[str, Figures]]] = {ws_id: [] for ws_id in ws_ids}
    for r in rows:
        now = Reported(r.realisasi, r.numerator, r.denominator)
        f = _figures_of(r, hist.get(r.ind_id, {}), now, q)
        if f is not None:
            figs[r.ws_id].append((r.kode, f))
    return {ws_id: _line(found) for ws_id, found in figs.items()}
