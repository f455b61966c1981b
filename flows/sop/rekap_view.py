"""The rekap as a short chat summary: per section, who sent, average capaian, weak indicators."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from flows.core.context import Ctx
from flows.domain.capaian import average_capaian, is_sedang_or_below
from flows.domain.measure import Reported
from flows.domain.office_settings import predikat_scale_for
from flows.sop.run import Run
from flows.sop.sheet_data import Item, quarter_history
from storage.models import Entry, Indicator, Person, Section, Worksheet

_CHUNK = 400  # indicator ids per ``IN (...)``


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
    over the year's earlier quarters (no query per sheet)."""
    scale = predikat_scale_for(run.office.settings)
    period = run.period
    rows = list(
        await ctx.session.execute(
            select(Worksheet, Section, Person, Entry, Indicator)
            .join(Section, Section.id == Worksheet.section_id)
            .join(Person, Person.id == Worksheet.person_id)
            .outerjoin(Entry, Entry.worksheet_id == Worksheet.id)
            .outerjoin(Indicator, Indicator.id == Entry.indicator_id)
            .where(Worksheet.cycle_id == run.cycle.id)
            .order_by(Worksheet.id, Indicator.position, Indicator.id)
        )
    )
    ids = list(dict.fromkeys(ind.id for *_, ind in rows if ind is not None))
    hist: dict[int, dict[int, Reported]] = {}
    for i in range(0, len(ids), _CHUNK):
        hist.update(
            await quarter_history(
                ctx.session, run.office.id, period.year, ids[i : i + _CHUNK], period.last_quarter
            )
        )
    q = period.last_quarter
    sheets: dict[int, tuple[Worksheet, Section, Person, list[Item]]] = {}
    for ws, section, person, entry, ind in rows:
        _, _, _, items = sheets.setdefault(ws.id, (ws, section, person, []))
        if entry is None or ind is None:
            continue
        past = {k: v for k, v in hist.get(ind.id, {}).items() if k < q}
        item = Item(entry=entry, indicator=ind, quarter=q, history=past)
        if item.measured:
            items.append(item)
    out = []
    for ws, section, person, items in sheets.values():
        figs = [i.figures() for i in items]
        out.append(
            SectionSummary(
                seksi=section.nama,
                orang=person.nama,
                status=ws.status,
                rata_rata=average_capaian(f.capaian_sd for f in figs),
                lemah=tuple(
                    i.indicator.kode
                    for i, f in zip(items, figs, strict=True)
                    if f.predikat and is_sedang_or_below(f.predikat, scale)
                ),
                jumlah=len(items),
            )
        )
    return out
