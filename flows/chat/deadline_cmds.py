"""/perpanjang: the planner or the Sekcam (or their Plt/Plh) extends the current step's deadline."""

from __future__ import annotations

from sqlalchemy import select

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import Actor
from flows.core.router import Router
from flows.domain.calendar import SopDuration, parse_duration
from flows.domain.roles import Role
from flows.domain.states import CycleState
from flows.sop.engine import waiting_on
from flows.sop.reminder_plan import office_calendar, plan_cycle
from flows.sop.run import Run, deadline_of, load, role_holders
from storage.models import Cycle, Office

#: Roles that may extend a deadline.
MAY_EXTEND = (Role.PERENCANA, Role.SEKCAM)
#: Roles told about an extension besides those who owe (the approver chain).
CHAIN = (Role.PERENCANA, Role.SEKCAM, Role.CAMAT)
MIN_REASON = 5
MAX_REASON = 500
#: The longest extension in one command, per unit.
MAX_AMOUNT = {"hari": 30, "jam": 240, "menit": 14400}


def register(router: Router) -> None:
    router.command("perpanjang", cmd_extend)


def parse_extension(args: str) -> tuple[SopDuration | None, str]:
    """ "2 hari data desa terlambat" → (2 hari, "data desa terlambat"); "3jam x" works too."""
    words = args.split()
    for n in (2, 1):
        if len(words) >= n:
            duration = parse_duration(" ".join(words[:n]))
            if duration is not None:
                return duration, " ".join(words[n:]).strip()
    return None, args.strip()


async def _extender(ctx: Ctx, run: Run) -> Actor | None:
    """The speaker as a planner or Sekcam of the office today (Plt/Plh included)."""
    assert ctx.person is not None
    for role in MAY_EXTEND:
        for actor in await role_holders(ctx, run, role):
            if actor.person.id == ctx.person.id:
                return actor
    return None


async def cmd_extend(ctx: Ctx) -> None:
    """/perpanjang <durasi> <alasan>: move the running step's deadline by working time."""
    assert ctx.person is not None and ctx.inbound is not None
    office = await ctx.session.get(Office, ctx.person.office_id)
    assert office is not None
    cycle_id = await ctx.session.scalar(
        select(Cycle.id)
        .where(Cycle.office_id == office.id, Cycle.status == CycleState.RUNNING)
        .order_by(Cycle.created_at.desc(), Cycle.id.desc())
        .limit(1)
    )
    run = await load(ctx, cycle_id) if cycle_id else None
    if run is None:
        ctx.reply(texts.render("perpanjang/tidak_ada_siklus"))
        return
    try:
        step = run.step
    except KeyError:
        ctx.reply(texts.render("perpanjang/tidak_ada_batas"))
        return
    actor = await _extender(ctx, run)
    if actor is None:
        titles = [run.preset.title(r) for r in MAY_EXTEND]
        ctx.reply(texts.render("perpanjang/bukan_wewenang", pelaku=titles))
        return
    duration, reason = parse_extension(ctx.inbound.args)
    if duration is None or duration.amount > MAX_AMOUNT[duration.unit]:
        ctx.reply(texts.render("perpanjang/bantuan", maks_hari=MAX_AMOUNT["hari"]))
        return
    if len(reason) < MIN_REASON:
        ctx.reply(texts.render("perpanjang/alasan_kurang", minimal=MIN_REASON))
        return
    reason = reason[:MAX_REASON]
    deadline = await deadline_of(ctx, run)
    if deadline is None or deadline.done_at is not None:
        ctx.reply(texts.render("perpanjang/tidak_ada_batas"))
        return
    old_due = deadline.due_at
    new_due = office_calendar(office).add(old_due, duration)
    if new_due <= ctx.now:
        ctx.reply(texts.render("perpanjang/masih_lewat", baru=new_due, tz=office.tz))
        return
    deadline.due_at = new_due
    deadline.extended_reason = reason
    await plan_cycle(ctx, run)  # the reminders follow the new deadline (same transaction)
    ctx.log(
        "langkah.perpanjang",
        office_id=office.id,
        cycle_id=run.cycle.id,
        subject=step.id,
        reason=reason,
        data={
            "step": step.id,
            "durasi": duration.label,
            "batas_lama": old_due.isoformat(),
            "batas_baru": new_due.isoformat(),
        },
        acting_as=actor.acting_as,
    )
    text = texts.render(
        "perpanjang/diperpanjang",
        periode=run.period,
        langkah=step,
        pelaku=run.preset.actor_title(step.id),
        lama=old_due,
        baru=new_due,
        oleh=actor,
        alasan=reason,
        tz=office.tz,
    )
    told: dict[int, None] = {ctx.person.id: None}
    for a in await waiting_on(ctx, run):
        told[a.person.id] = None
    for role in CHAIN:
        for a in await role_holders(ctx, run, role):
            told[a.person.id] = None
    for person_id in told:
        ctx.send(person_id, text)
