"""The SOP engine: a cycle walks its preset's steps, the same code for every preset.

``Cycle.step`` is the id of the current step and ``Cycle.version`` changes on every move, so a
button made for one visit of a step carries ``v`` and dies with it. Every move goes through
:func:`flows.sop.lifecycle.transition`; what a step asks of its actors is its kind's
(:mod:`flows.sop.kinds`), found in the registry :data:`flows.sop.kind.REGISTRY`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import Actor
from flows.domain.office_settings import calendar_for
from flows.domain.periods import Period
from flows.domain.roles import CHAIN, Role
from flows.domain.states import FILLABLE, LOCKING, SheetState, StepKind
from flows.sop import documents
from flows.sop.cycle_admin import Handout, hand_out, open_cycle, sheet_owners
from flows.sop.kind import REGISTRY
from flows.sop.lifecycle import Note, Verb, lock_cycle, transition
from flows.sop.preset import Step, load_preset
from flows.sop.reminder_plan import plan_cycle
from flows.sop.run import (
    Run,
    authority,
    deadline_of,
    deadline_text,
    latest,
    load,
    phase_step,
    role_holders,
    set_deadline,
    sheet_counts,
    step_actors,
    verifiers,
    worksheets,
)
from storage.models import Entry, Indicator, Office, Person, Section

__all__ = [
    "OPEN_SHEET",
    "Run",
    "advance",
    "authority",
    "deadline_of",
    "deadline_text",
    "enter",
    "go_back",
    "hand_out_once",
    "handouts",
    "involved",
    "latest",
    "load",
    "load_preset",
    "preview",
    "progress",
    "reopen",
    "role_holders",
    "start",
    "start_at_fill",
    "step_actors",
    "waiting_on",
    "worksheets",
]

#: Worksheet statuses that still owe the filler something.
OPEN_SHEET = FILLABLE


# --- starting, moving, finishing ----------------------------------------------------------


async def start(ctx: Ctx, office: Office, period: Period, note: str, actor: Actor | None) -> Run:
    """The order (perintah): open the cycle at step 1 and move on at once."""
    preset = load_preset(office.preset)
    cycle = await open_cycle(ctx, office, period, step=preset.first.id, note=note)
    run = Run(cycle, office, preset)
    await set_deadline(ctx, run, preset.first)
    ctx.log(
        "siklus.mulai",
        office_id=office.id,
        cycle_id=cycle.id,
        subject=period.key,
        reason=note,
        data={"step": preset.first.id},
        acting_as=actor.acting_as if actor else "",
    )
    await advance(ctx, run)
    return run


async def start_at_fill(ctx: Ctx, office: Office, period: Period, note: str) -> Run:
    """The admin's shortcut (the chain already ran on paper): open the cycle at its isi step."""
    preset = load_preset(office.preset)
    isi = next(s for s in preset.steps_for_period(period) if s.jenis == StepKind.ISI)
    cycle = await open_cycle(ctx, office, period, step=isi.id, note=note)
    run = Run(cycle, office, preset)
    await enter(ctx, run, isi)
    return run


async def advance(ctx: Ctx, run: Run) -> None:
    """The current step is done: enter the next one (or finish the cycle)."""
    step = run.step
    deadline = await deadline_of(ctx, run)
    if deadline is not None:
        deadline.done_at = ctx.now
    if _is_lock_step(run, step):
        await _finalize(ctx, run)
    nxt = run.preset.next_step(step.id, run.period)
    if nxt is None:
        await _finish(ctx, run)
    else:
        await enter(ctx, run, nxt)


async def enter(ctx: Ctx, run: Run, step: Step, returned: dict[str, str] | None = None) -> None:
    """Make ``step`` current: a new visit, its deadline, and its kind's card to its actors."""
    await transition(ctx, run, Verb.ENTER, step=step.id)
    await set_deadline(ctx, run, step)
    await plan_cycle(ctx, run)  # its reminder rows, in this same unit of work
    await REGISTRY.of(step.jenis).enter(ctx, run, step, returned or {})


async def go_back(ctx: Ctx, run: Run, target: Step, by: Actor, reason: str) -> None:
    """A return ("panah balik"): reopen ``target`` with the reason."""
    if run.cycle.data.get("final"):
        run.cycle.data = {k: v for k, v in run.cycle.data.items() if k != "final"}
    deadline = await deadline_of(ctx, run)
    if deadline is not None:
        deadline.done_at = ctx.now
    await enter(
        ctx,
        run,
        target,
        {
            "oleh": f"{by.person.nama} ({by.acting_as or run.preset.title(by.person.role)})",
            "alasan": reason,
        },
    )


async def progress(ctx: Ctx, run: Run) -> None:
    """After a sheet changed state: move between the isi and verifikasi steps as needed.

    Decided under the cycle's row lock, from the sheets as committed now: two sheets sent at
    once by two workers move the cycle exactly once (the second sees the first's sheet).
    """
    await lock_cycle(ctx, run)
    if not run.running or run.step.jenis not in (StepKind.ISI, StepKind.VERIFIKASI):
        return
    counts = await sheet_counts(ctx, run)
    isi = phase_step(run, StepKind.ISI)
    verif = phase_step(run, StepKind.VERIFIKASI)
    if any(counts.get(s, 0) for s in OPEN_SHEET):
        target = isi
    elif verif is not None and counts.get(SheetState.SUBMITTED, 0):
        target = verif
    else:
        # Everything is in: pass the verifikasi step (or the isi step when there is none).
        last = verif or isi
        if last is not None and run.cycle.step != last.id:
            await transition(ctx, run, Verb.ENTER, step=last.id)
        await advance(ctx, run)
        return
    if target is not None and target.id != run.cycle.step:
        deadline = await deadline_of(ctx, run)
        if deadline is not None and target.jenis == StepKind.VERIFIKASI:
            deadline.done_at = ctx.now
        await transition(ctx, run, Verb.ENTER, step=target.id)
        again = await deadline_of(ctx, run, target.id)
        if again is None or again.done_at is not None:
            await set_deadline(ctx, run, target)  # back to fixing, or on to verifying: a new clock
        await plan_cycle(ctx, run)


async def reopen(ctx: Ctx, run: Run, actor: Actor, reason: str) -> Step:
    """The planner reopens a final cycle: back to the first rekap step, logged with the reason."""
    target = phase_step(run, StepKind.REKAP) or phase_step(run, StepKind.ISI)
    assert target is not None
    run.cycle.data = {k: v for k, v in run.cycle.data.items() if k != "final"}
    done = await transition(
        ctx,
        run,
        Verb.REOPEN,
        values={"finished_at": None},
        note=Note("siklus.buka_kembali", reason=reason, data={"step": target.id}),
    )
    assert done.ok, done.outcome  # the command checked the planner and the cycle's state
    await go_back(ctx, run, target, actor, reason)
    return target


async def hand_out_once(ctx: Ctx, run: Run) -> int:
    """Hand the worksheets out unless that was done already; returns the number handed out."""
    if run.cycle.data.get("dibagikan"):
        return 0
    handouts = await hand_out(ctx, run.cycle, deadline=await _isi_due(ctx, run))
    run.cycle.data = {**run.cycle.data, "dibagikan": ctx.now.isoformat()}
    return len(handouts)


async def handouts(ctx: Ctx, run: Run) -> list[Handout]:
    """Who got a worksheet in this cycle, with how many indicators."""
    out = []
    for ws in await worksheets(ctx, run):
        person = await ctx.session.get(Person, ws.person_id)
        section = await ctx.session.get(Section, ws.section_id)
        q = run.period.last_quarter
        entries = await ctx.session.scalars(
            select(Indicator)
            .join(Entry, Entry.indicator_id == Indicator.id)
            .where(Entry.worksheet_id == ws.id)
        )
        count = sum(1 for i in entries if i.target_sd(q) is not None)  # measured this quarter
        assert person is not None and section is not None
        out.append(Handout(person, section, int(count or 0)))
    return out


async def preview(ctx: Ctx, run: Run) -> list[tuple[Any, Person, list[Any]]]:
    """Who will get which indicators measured this quarter (the planner's preview)."""
    q = run.period.last_quarter
    return [
        (section, person, [i for i in inds if i.target_sd(q) is not None])
        for section, person, inds in await sheet_owners(ctx, run.office.id)
    ]


async def waiting_on(ctx: Ctx, run: Run) -> list[Actor]:
    """Who owes something at the current step: unsent sheets' owners at isi, else the actors."""
    if not run.running:
        return []
    if run.step.jenis == StepKind.ISI:
        out = []
        for ws in await worksheets(ctx, run):
            if ws.status in OPEN_SHEET:
                person = await ctx.session.get(Person, ws.person_id)
                if person is not None:
                    out.append(Actor(person))
        return out
    if run.step.jenis == StepKind.VERIFIKASI:
        seen: dict[int, Actor] = {}
        for ws in await worksheets(ctx, run):
            if ws.status == SheetState.SUBMITTED:
                for a in await verifiers(ctx, run, ws):
                    seen.setdefault(a.person.id, a)
        return list(seen.values())
    return await step_actors(ctx, run, run.step)


async def involved(ctx: Ctx, run: Run) -> list[Person]:
    """Everyone who took part: the chain's role holders and every sheet owner."""
    people: dict[int, Person] = {}
    for role in CHAIN:
        for a in await role_holders(ctx, run, role):
            people[a.person.id] = a.person
    for ws in await worksheets(ctx, run):
        person = await ctx.session.get(Person, ws.person_id)
        if person is not None:
            people[person.id] = person
    return list(people.values())


# --- internals --------------------------------------------------------------------------


def _is_lock_step(run: Run, step: Step) -> bool:
    """The last step at which figures can still change: passing it makes the cycle final."""
    locking = [s for s in run.steps if s.jenis in LOCKING and not s.periode]
    return bool(locking) and locking[-1].id == step.id


async def _isi_due(ctx: Ctx, run: Run) -> datetime | None:
    isi = phase_step(run, StepKind.ISI)
    if isi is None:
        return None
    existing = await deadline_of(ctx, run, isi.id)
    if existing is not None and existing.done_at is None:
        return existing.due_at
    return calendar_for(run.office.tz, run.office.settings).step_due(
        ctx.now, run.preset.duration(isi.id)
    )


async def _finalize(ctx: Ctx, run: Run) -> None:
    """Figures are final: lock, archive the laporan and rekap, send them to the head."""
    if run.cycle.data.get("final"):
        return
    run.cycle.data = {**run.cycle.data, "final": ctx.now.isoformat()}
    later_report_to_head = any(
        s.jenis == StepKind.LAPORKAN and Role.CAMAT in (s.kepada or (Role.CAMAT,))
        for s in run.steps[run.preset.index(run.cycle.step) + 1 :]
    )
    heads = (
        []
        if later_report_to_head
        else [a.person.id for a in await role_holders(ctx, run, Role.CAMAT)]
    )
    ctx.log("siklus.final", office_id=run.office.id, cycle_id=run.cycle.id, actor_id=None)
    for kind in ("laporan", "rekap"):
        await documents.request(ctx, run.cycle, kind, heads, final=True)


async def _finish(ctx: Ctx, run: Run) -> None:
    """After the last step: the cycle is closed and everyone involved is told."""
    await _finalize(ctx, run)
    await transition(ctx, run, Verb.FINISH, values={"finished_at": ctx.now})
    await plan_cycle(ctx, run)  # retires what is still pending
    ctx.log("siklus.selesai", office_id=run.office.id, cycle_id=run.cycle.id, actor_id=None)
    text = texts.render("siklus/selesai", periode=run.period)
    for person in await involved(ctx, run):
        ctx.send(person.id, text)
