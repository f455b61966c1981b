"""What happens when a Kasi submits: the planner is told (verification comes with the engine)."""

from __future__ import annotations

from flows import texts
from flows.context import Ctx
from flows.people import holders
from flows.periods import Period
from flows.sheet_data import Item
from storage.models import Cycle, Section, Worksheet


async def sheet_submitted(ctx: Ctx, ws: Worksheet, cycle: Cycle, items: list[Item]) -> None:
    """Tell the planner; a planner's own sheet goes to the Sekcam instead."""
    assert ctx.person is not None
    section = await ctx.session.get(Section, ws.section_id)
    reviewers = [
        p for p in await holders(ctx.session, cycle.office_id, "perencana") if p.id != ctx.person.id
    ] or await holders(ctx.session, cycle.office_id, "sekcam")
    text = texts.render(
        "review/lembar_masuk",
        kasi=ctx.person,
        seksi=section,
        periode=Period.from_key(cycle.period_key),
        items=items,
        figs={i.indicator.id: i.figures() for i in items},
    )
    for reviewer in reviewers:
        ctx.send(reviewer.id, text)
