"""gabung: a semester's or a year's rekap and laporan, joined from the quarters."""

from __future__ import annotations

from flows.core import texts
from flows.core.context import Ctx
from flows.domain.periods import Period
from flows.domain.states import StepKind
from flows.sop import documents
from flows.sop.card import on_next, to_actors
from flows.sop.kind import Kind
from flows.sop.preset import Step
from flows.sop.run import Run


def roll_up_period(run: Run, step: Step) -> Period:
    """The semester or year a ``gabung`` step joins, for the cycle's quarter."""
    p = run.period
    if step.periode == "tahunan":
        return Period.annual(p.year)
    return Period.semester(p.year, 1 if p.number <= 2 else 2)


async def enter(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    period = roll_up_period(run, step)
    body = texts.render("siklus/gabung", periode_gabung=period)
    people = await to_actors(ctx, run, step, body, [("teruskan", "sop.lanjut", {})], returned)
    ids = [a.person.id for a in people]
    for kind in ("rekap", "laporan"):
        await documents.request(ctx, run.cycle, kind, ids, period_key=period.key)


KIND = Kind(names=(StepKind.GABUNG,), enter=enter, taps={"sop.lanjut": on_next})
