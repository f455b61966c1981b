"""The rekap as a short chat summary: per section, who sent, average capaian, weak indicators."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flows.core.context import Ctx
from flows.domain.capaian import average_capaian, is_sedang_or_below
from flows.domain.office_settings import predikat_scale_for
from flows.sop.run import Run, worksheets
from flows.sop.sheet_data import sheet_items
from storage.models import Person, Section


@dataclass(frozen=True)
class SectionSummary:
    seksi: str
    orang: str
    status: str
    rata_rata: Decimal | None
    lemah: tuple[str, ...]  # codes at Sedang or below
    jumlah: int


async def section_summaries(ctx: Ctx, run: Run) -> list[SectionSummary]:
    scale = predikat_scale_for(run.office.settings)
    out = []
    for ws in await worksheets(ctx, run):
        section = await ctx.session.get(Section, ws.section_id)
        person = await ctx.session.get(Person, ws.person_id)
        assert section is not None and person is not None
        items = [i for i in await sheet_items(ctx.session, ws, run.cycle) if i.measured]
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
