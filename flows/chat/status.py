"""/status: where the cycle is, who has sent, what waits on whom; an overview for the head."""

from __future__ import annotations

from sqlalchemy import select

from flows.core import texts
from flows.core.context import Ctx
from flows.domain.roles import HEADS, Role
from flows.domain.states import SheetState, StepKind
from flows.sop.engine import waiting_on
from flows.sop.rekap_view import section_summaries
from flows.sop.run import Run, deadline_of, latest, load, verifiers, worksheets
from storage.models import Cycle, Person, Section


async def cmd_status(ctx: Ctx) -> None:
    assert ctx.person is not None
    run = await latest(ctx, ctx.person.office_id)
    if run is None:
        ctx.reply(texts.render("status/tidak_ada_siklus"))
        return
    ctx.reply(await status_text(ctx, run, ctx.person))


async def status_text(ctx: Ctx, run: Run, viewer: Person) -> str:
    deadline = await deadline_of(ctx, run) if run.running else None
    sheets = []
    for ws in await worksheets(ctx, run):
        person = await ctx.session.get(Person, ws.person_id)
        section = await ctx.session.get(Section, ws.section_id)
        sheets.append({"orang": person, "seksi": section, "lembar": ws})
    waiting = [a.person.nama for a in await waiting_on(ctx, run)]
    checking: list[str] = []
    if run.running and run.step.jenis == StepKind.ISI:
        for ws in await worksheets(ctx, run):
            if ws.status == SheetState.SUBMITTED:
                checking += [a.person.nama for a in await verifiers(ctx, run, ws)]
    own = next((s for s in sheets if s["orang"].id == viewer.id), None)  # type: ignore[union-attr]
    overview = []
    if viewer.role in HEADS:
        overview = await section_summaries(ctx, run)
    cycles = []
    if viewer.role == Role.CAMAT:
        cycles = [
            await load(ctx, c)
            for c in await ctx.session.scalars(
                select(Cycle.id).where(Cycle.office_id == run.office.id).order_by(Cycle.period_key)
            )
        ]
    return texts.render(
        "status/ringkas",
        run=run,
        periode=run.period,
        langkah=run.step,
        pelaku=run.preset.actor_title(run.step.id),
        batas=deadline.due_at if deadline else None,
        terlambat=bool(deadline and ctx.now > deadline.due_at),
        tz=run.office.tz,
        lembar=sheets,
        menunggu=waiting,
        memeriksa=sorted(set(checking)),
        milik=own,
        ikhtisar=overview,
        siklus=cycles,
        peran=viewer.role,
    )
