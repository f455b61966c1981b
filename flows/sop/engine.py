"""The SOP engine: a cycle walks its preset's steps, the same code for every preset.

``Cycle.step`` is the id of the current step and ``Cycle.version`` changes on every move, so a
button made for one visit of a step carries ``v`` and dies with it. A move made by a tap is a
conditional update (:func:`claim`): of two taps at once exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import Actor, actors
from flows.domain.periods import Period
from flows.setup.office_file import calendar_for
from flows.sop.cycle_admin import Handout, hand_out, open_cycle, sheet_owners
from flows.sop.preset import Preset, Step, load_preset
from storage.models import (
    Cycle,
    Entry,
    Indicator,
    Office,
    Person,
    Section,
    StepDeadline,
    Worksheet,
)

#: Worksheet statuses that still owe the filler something.
OPEN_SHEET = ("open", "returned")
#: Step kinds after which the figures may no longer change (the last one locks the cycle).
_LOCKING = ("verifikasi", "rekap", "telaah", "sahkan")


@dataclass
class Run:
    """A cycle with everything needed to move it."""

    cycle: Cycle
    office: Office
    preset: Preset

    @property
    def period(self) -> Period:
        return Period.from_key(self.cycle.period_key)

    @property
    def step(self) -> Step:
        return self.preset.step(self.cycle.step)

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.preset.steps_for_period(self.period)

    @property
    def group(self) -> str:
        """Button group of the current visit of the current step."""
        return f"c{self.cycle.id}v{self.cycle.version}"

    def tz(self) -> str:
        return self.office.tz


async def load(ctx: Ctx, cycle_id: int) -> Run | None:
    cycle = await ctx.session.get(Cycle, cycle_id)
    if cycle is None:
        return None
    office = await ctx.session.get(Office, cycle.office_id)
    assert office is not None
    return Run(cycle, office, load_preset(cycle.preset))


async def latest(ctx: Ctx, office_id: int) -> Run | None:
    """The office's newest cycle."""
    cycle_id = await ctx.session.scalar(
        select(Cycle.id)
        .where(Cycle.office_id == office_id)
        .order_by(Cycle.created_at.desc(), Cycle.id.desc())
        .limit(1)
    )
    return await load(ctx, cycle_id) if cycle_id else None


async def step_actors(ctx: Ctx, run: Run, step: Step) -> list[Actor]:
    """Who may act at ``step`` today (holders of the role, matching jabatan, Plt/Plh)."""
    return await actors(
        ctx.session,
        run.office,
        step.pelaku,
        ctx.now,
        title=run.preset.title(step.pelaku),
        jabatan_ok=step.jabatan_cocok if step.jabatan else None,
    )


async def authority(ctx: Ctx, run: Run, step: Step) -> Actor | None:
    """The speaker as an actor of ``step``, or ``None`` when they may not act."""
    if ctx.person is None or ctx.person.office_id != run.office.id:
        return None
    return next(
        (a for a in await step_actors(ctx, run, step) if a.person.id == ctx.person.id), None
    )


async def role_holders(ctx: Ctx, run: Run, role: str) -> list[Actor]:
    return await actors(ctx.session, run.office, role, ctx.now, title=run.preset.title(role))


def deadline_text(run: Run, due: datetime | None) -> str:
    return texts.render("siklus/batas", batas=due, tz=run.office.tz) if due else ""


async def deadline_of(ctx: Ctx, run: Run, step_id: str | None = None) -> StepDeadline | None:
    return await ctx.session.scalar(
        select(StepDeadline).where(
            StepDeadline.cycle_id == run.cycle.id, StepDeadline.step == (step_id or run.cycle.step)
        )
    )


async def claim(ctx: Ctx, run: Run, version: int) -> bool:
    """Take the right to move the cycle from the visit ``version``; False if someone moved it."""
    done = await ctx.session.execute(
        update(Cycle)
        .where(Cycle.id == run.cycle.id, Cycle.version == version, Cycle.status == "running")
        .values(version=Cycle.version + 1)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False
    await ctx.session.refresh(run.cycle)
    return True


# --- starting, moving, finishing ----------------------------------------------------------


async def start(ctx: Ctx, office: Office, period: Period, note: str, actor: Actor | None) -> Run:
    """The order (perintah): open the cycle at step 1 and move on at once."""
    preset = load_preset(office.preset)
    cycle = await open_cycle(ctx, office, period, step=preset.first.id, note=note)
    run = Run(cycle, office, preset)
    await _set_deadline(ctx, run, preset.first)
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
    isi = next(s for s in preset.steps_for_period(period) if s.jenis == "isi")
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
    """Make ``step`` current: a new visit, its deadline, and the message to its actors."""
    from flows.sop import steps  # the per-kind behaviour; imported here to keep modules acyclic

    run.cycle.step = step.id
    run.cycle.version += 1
    await ctx.session.flush()
    await _set_deadline(ctx, run, step)
    await steps.announce(ctx, run, step, returned or {})


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
    """After a sheet changed state: move between the isi and verifikasi steps as needed."""
    if run.cycle.status != "running" or run.step.jenis not in ("isi", "verifikasi"):
        return
    sheets = await worksheets(ctx, run)
    isi = _phase_step(run, "isi")
    verif = _phase_step(run, "verifikasi")
    if any(w.status in OPEN_SHEET for w in sheets):
        target = isi
    elif verif is not None and any(w.status == "submitted" for w in sheets):
        target = verif
    else:
        # Everything is in: pass the verifikasi step (or the isi step when there is none).
        last = verif or isi
        if last is not None and run.cycle.step != last.id:
            run.cycle.step = last.id
            run.cycle.version += 1
            await ctx.session.flush()
        await advance(ctx, run)
        return
    if target is not None and target.id != run.cycle.step:
        deadline = await deadline_of(ctx, run)
        if deadline is not None and target.jenis == "verifikasi":
            deadline.done_at = ctx.now
        run.cycle.step = target.id
        run.cycle.version += 1
        await ctx.session.flush()
        again = await deadline_of(ctx, run, target.id)
        if again is None or again.done_at is not None:
            await _set_deadline(ctx, run, target)  # back to fixing, or on to verifying: a new clock


async def reopen(ctx: Ctx, run: Run, actor: Actor, reason: str) -> Step:
    """The planner reopens a final cycle: back to the first rekap step, logged with the reason."""
    target = _phase_step(run, "rekap") or _phase_step(run, "isi")
    assert target is not None
    run.cycle.status = "running"
    run.cycle.finished_at = None
    run.cycle.data = {k: v for k, v in run.cycle.data.items() if k != "final"}
    ctx.log(
        "siklus.buka_kembali",
        office_id=run.office.id,
        cycle_id=run.cycle.id,
        reason=reason,
        data={"step": target.id},
        acting_as=actor.acting_as,
    )
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


async def worksheets(ctx: Ctx, run: Run) -> list[Worksheet]:
    return list(
        await ctx.session.scalars(
            select(Worksheet).where(Worksheet.cycle_id == run.cycle.id).order_by(Worksheet.id)
        )
    )


async def preview(ctx: Ctx, run: Run) -> list[tuple[Any, Person, list[Any]]]:
    """Who will get which indicators measured this quarter (the planner's preview)."""
    q = run.period.last_quarter
    return [
        (section, person, [i for i in inds if i.target_sd(q) is not None])
        for section, person, inds in await sheet_owners(ctx, run.office.id)
    ]


async def waiting_on(ctx: Ctx, run: Run) -> list[Actor]:
    """Who owes something at the current step: unsent sheets' owners at isi, else the actors."""
    if run.cycle.status != "running":
        return []
    if run.step.jenis == "isi":
        out = []
        for ws in await worksheets(ctx, run):
            if ws.status in OPEN_SHEET:
                person = await ctx.session.get(Person, ws.person_id)
                if person is not None:
                    out.append(Actor(person))
        return out
    if run.step.jenis == "verifikasi":
        from flows.sop.review import verifiers

        seen: dict[int, Actor] = {}
        for ws in await worksheets(ctx, run):
            if ws.status == "submitted":
                for a in await verifiers(ctx, run, ws):
                    seen.setdefault(a.person.id, a)
        return list(seen.values())
    return await step_actors(ctx, run, run.step)


async def involved(ctx: Ctx, run: Run) -> list[Person]:
    """Everyone who took part: the chain's role holders and every sheet owner."""
    people: dict[int, Person] = {}
    for role in ("camat", "sekcam", "perencana"):
        for a in await role_holders(ctx, run, role):
            people[a.person.id] = a.person
    for ws in await worksheets(ctx, run):
        person = await ctx.session.get(Person, ws.person_id)
        if person is not None:
            people[person.id] = person
    return list(people.values())


# --- internals --------------------------------------------------------------------------


def _phase_step(run: Run, jenis: str) -> Step | None:
    return next((s for s in run.steps if s.jenis == jenis), None)


def _is_lock_step(run: Run, step: Step) -> bool:
    """The last step at which figures can still change: passing it makes the cycle final."""
    locking = [s for s in run.steps if s.jenis in _LOCKING and not s.periode]
    return bool(locking) and locking[-1].id == step.id


async def _isi_due(ctx: Ctx, run: Run) -> datetime | None:
    isi = _phase_step(run, "isi")
    if isi is None:
        return None
    existing = await deadline_of(ctx, run, isi.id)
    if existing is not None and existing.done_at is None:
        return existing.due_at
    return calendar_for(run.office.tz, run.office.settings).step_due(
        ctx.now, run.preset.duration(isi.id)
    )


async def _set_deadline(ctx: Ctx, run: Run, step: Step) -> StepDeadline:
    due = calendar_for(run.office.tz, run.office.settings).step_due(
        ctx.now, run.preset.duration(step.id)
    )
    row = await deadline_of(ctx, run, step.id)
    if row is None:
        row = StepDeadline(cycle_id=run.cycle.id, step=step.id, started_at=ctx.now, due_at=due)
        ctx.session.add(row)
    else:
        row.started_at, row.due_at, row.done_at = ctx.now, due, None
        row.visit += 1
        row.extended_reason = ""
    await ctx.session.flush()
    return row


async def _finalize(ctx: Ctx, run: Run) -> None:
    """Figures are final: lock, archive the laporan and rekap, send them to the head."""
    from flows.sop import documents

    if run.cycle.data.get("final"):
        return
    run.cycle.data = {**run.cycle.data, "final": ctx.now.isoformat()}
    later_report_to_head = any(
        s.jenis == "laporkan" and "camat" in (s.kepada or ("camat",))
        for s in run.steps[run.preset.index(run.cycle.step) + 1 :]
    )
    heads = (
        [] if later_report_to_head else [a.person.id for a in await role_holders(ctx, run, "camat")]
    )
    ctx.log("siklus.final", office_id=run.office.id, cycle_id=run.cycle.id, actor_id=None)
    for kind in ("laporan", "rekap"):
        await documents.request(ctx, run.cycle, kind, heads, final=True)


async def _finish(ctx: Ctx, run: Run) -> None:
    """After the last step: the cycle is closed and everyone involved is told."""
    await _finalize(ctx, run)
    run.cycle.status = "selesai"
    run.cycle.finished_at = ctx.now
    ctx.log("siklus.selesai", office_id=run.office.id, cycle_id=run.cycle.id, actor_id=None)
    text = texts.render("siklus/selesai", periode=run.period)
    for person in await involved(ctx, run):
        ctx.send(person.id, text)
