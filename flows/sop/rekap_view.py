"""The rekap as a short chat summary: per section, who sent, average capaian, weak indicators."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from flows.core.context import Ctx
from flows.domain.capaian import DEFAULT_SCALE, average_capaian, is_sedang_or_below
from flows.domain.measure import Figures, Reported, figures
from flows.domain.office_settings import predikat_scale_for
from flows.sop.run import Run
from flows.sop.sheet_data import quarter_history, targets_of
from storage.models import Entry, Indicator, Person, Section, Worksheet

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


async def section_summaries(ctx: Ctx, run: Run) -> list[SectionSummary]:
    """One summary per worksheet, from one query over the cycle's sheets and entries and one
    over the year's earlier quarters (no query per sheet). Plain columns, no ORM objects: the
    rekap card of a large office reads hundreds of sheets."""
    scale = predikat_scale_for(run.office.settings)
    period = run.period
    q = period.last_quarter
    # plain rows; ``targets_of`` reads them as it reads an Indicator (same attribute names)
    rows: list[Any] = list(
        await ctx.session.execute(
            select(
                Worksheet.id.label("ws_id"),
                Worksheet.status.label("ws_status"),
                Section.nama.label("seksi"),
                Person.nama.label("orang"),
                Entry.realisasi,
                Entry.numerator,
                Entry.denominator,
                Indicator.id.label("ind_id"),
                *(getattr(Indicator, name) for name in _TARGET_COLUMNS),
            )
            .join(Section, Section.id == Worksheet.section_id)
            .join(Person, Person.id == Worksheet.person_id)
            .outerjoin(Entry, Entry.worksheet_id == Worksheet.id)
            .outerjoin(Indicator, Indicator.id == Entry.indicator_id)
            .where(Worksheet.cycle_id == run.cycle.id)
            .order_by(Worksheet.id, Indicator.position, Indicator.id)
        )
    )
    ids = list(dict.fromkeys(r.ind_id for r in rows if r.ind_id is not None))
    hist: dict[int, dict[int, Reported]] = {}
    for i in range(0, len(ids), _CHUNK):
        hist.update(
            await quarter_history(ctx.session, run.office.id, period.year, ids[i : i + _CHUNK], q)
        )
    sheets: dict[int, tuple[Any, list[tuple[str, Figures]]]] = {}
    for r in rows:
        _, figs = sheets.setdefault(r.ws_id, (r, []))
        if r.ind_id is None or getattr(r, f"target_tw{q}") is None:  # not measured this quarter
            continue
        reported = {k: v for k, v in hist.get(r.ind_id, {}).items() if k < q}
        reported[q] = Reported(r.realisasi, r.numerator, r.denominator)
        # as ``Item.figures`` of an item made without the office's scale
        figs.append((r.kode, figures(targets_of(r), reported, (q,), DEFAULT_SCALE)))
    out = []
    for first, figs in sheets.values():
        out.append(
            SectionSummary(
                seksi=first.seksi,
                orang=first.orang,
                status=first.ws_status,
                rata_rata=average_capaian(f.capaian_sd for _, f in figs),
                lemah=tuple(
                    kode for kode, f in figs if f.predikat and is_sedang_or_below(f.predikat, scale)
                ),
                jumlah=len(figs),
            )
        )
    return out
