"""The base every SOP module shares: a loaded cycle (:class:`Run`) and who may act on it.

Nothing here moves a cycle (that is :mod:`flows.sop.lifecycle`); the guards that decide who
may act at a step or on a sheet are defined here once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, bindparam, func, select

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import Actor, actors
from flows.domain.office_settings import calendar_for
from flows.domain.periods import Period
from flows.domain.roles import Role
from flows.domain.states import CycleState, StepKind
from flows.sop.preset import Preset, Step, load_cycle_preset
from storage.models import Cycle, Office, StepDeadline, Worksheet


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
    def running(self) -> bool:
        return self.cycle.status == CycleState.RUNNING

    @property
    def group(self) -> str:
        """Button group of the current visit of the current step."""
        return visit_group(self.cycle.id, self.cycle.version)

    def tz(self) -> str:
        return self.office.tz

    def is_visit(self, version: Any, step: Any) -> bool:
        """The cycle still runs at the visit (``version``, ``step``) a button or question saw."""
        return self.running and self.cycle.version == version and self.cycle.step == step


def visit_group(cycle_id: int, version: int) -> str:
    """Button group of one visit of a cycle's step (all copies close together)."""
    return f"c{cycle_id}v{version}"


def sheet_group(ws_id: int, version: int) -> str:
    """Button group of one version of a sent worksheet (Terima / Kembalikan)."""
    return f"ws{ws_id}n{version}"


async def load(ctx: Ctx, cycle_id: int) -> Run | None:
    cycle = await ctx.session.get(Cycle, cycle_id)
    if cycle is None:
        return None
    office = await ctx.session.get(Office, cycle.office_id)
    assert office is not None
    return Run(cycle, office, load_cycle_preset(cycle.preset, cycle.preset_snapshot))


async def latest(ctx: Ctx, office_id: int) -> Run | None:
    """The office's newest cycle."""
    cycle_id = await ctx.session.scalar(
        select(Cycle.id)
        .where(Cycle.office_id == office_id)
        .order_by(Cycle.created_at.desc(), Cycle.id.desc())
        .limit(1)
    )
    return await load(ctx, cycle_id) if cycle_id else None


def phase_step(run: Run, jenis: StepKind) -> Step | None:
    """The cycle's first step of kind ``jenis`` (for its period), if any."""
    return next((s for s in run.steps if s.jenis == jenis), None)


async def worksheets(ctx: Ctx, run: Run) -> list[Worksheet]:
    """The cycle's worksheets, in the order they were made."""
    query = select(Worksheet).where(Worksheet.cycle_id == run.cycle.id).order_by(Worksheet.id)
    return list(await ctx.session.scalars(query))


async def sheet_counts(ctx: Ctx, run: Run) -> dict[str, int]:
    """How many of the cycle's worksheets are in each status, as committed now (one grouped
    query, whatever the size of the office: no sheet is loaded)."""
    rows = await ctx.session.execute(_counts_query(), {"cycle_id": run.cycle.id})
    return {str(status): int(n) for status, n in rows}


@functools.cache
def _counts_query() -> Executable:
    """Built once (asked on every Kirim); ``cycle_id``."""
    return (
        select(Worksheet.status, func.count())
        .where(Worksheet.cycle_id == bindparam("cycle_id"))
        .group_by(Worksheet.status)
    )


def deadline_text(run: Run, due: datetime | None) -> str:
    return texts.render("siklus/batas", batas=due, tz=run.office.tz) if due else ""


async def deadline_of(ctx: Ctx, run: Run, step_id: str | None = None) -> StepDeadline | None:
    """The step's deadline row (one per cycle and step), read once per unit of work: the rows
    are changed only through these objects, and :func:`set_deadline` keeps a new one."""
    key = (run.cycle.id, step_id or run.cycle.step)
    kept: dict[tuple[int, str], StepDeadline | None] = ctx.session.info.setdefault(_KEPT, {})
    if key not in kept:
        params = {"cycle_id": key[0], "step": key[1]}
        kept[key] = await ctx.session.scalar(_deadline_query(), params)
    return kept[key]


#: ``session.info`` key of the deadline rows read in this unit of work.
_KEPT = "step_deadlines"


@functools.cache
def _deadline_query() -> Executable:
    """Built once (asked on every /isi and Kirim); ``cycle_id``, ``step``."""
    return select(StepDeadline).where(
        StepDeadline.cycle_id == bindparam("cycle_id"), StepDeadline.step == bindparam("step")
    )


async def set_deadline(ctx: Ctx, run: Run, step: Step) -> StepDeadline:
    """Start the clock of a visit of ``step`` (office calendar)."""
    due = calendar_for(run.office.tz, run.office.settings).step_due(
        ctx.now, run.preset.duration(step.id)
    )
    row = await deadline_of(ctx, run, step.id)
    if row is None:
        row = StepDeadline(cycle_id=run.cycle.id, step=step.id, started_at=ctx.now, due_at=due)
        ctx.session.add(row)
        ctx.session.info.setdefault(_KEPT, {})[(run.cycle.id, step.id)] = row
    else:
        row.started_at, row.due_at, row.done_at = ctx.now, due, None
        row.visit += 1
        row.extended_reason = ""
    await ctx.session.flush()
    return row


# --- who may act: the guards, defined once ---------------------------------------------------


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


async def role_holders(ctx: Ctx, run: Run, role: str) -> list[Actor]:
    return await actors(ctx.session, run.office, role, ctx.now, title=run.preset.title(role))


async def authority(ctx: Ctx, run: Run, step: Step) -> Actor | None:
    """The speaker as an actor of ``step``, or ``None`` when they may not act."""
    if ctx.person is None or ctx.person.office_id != run.office.id:
        return None
    return next(
        (a for a in await step_actors(ctx, run, step) if a.person.id == ctx.person.id), None
    )


async def verifiers(ctx: Ctx, run: Run, ws: Worksheet) -> list[Actor]:
    """Who checks this sheet: the verifikasi step's actors, never the sheet's owner.

    Without a verifikasi step the first rekap step's actors are told (for information). When
    nobody else is left (a planner's own sheet), the Sekcam.
    """
    step = phase_step(run, StepKind.VERIFIKASI) or phase_step(run, StepKind.REKAP)
    people = (
        [a for a in await step_actors(ctx, run, step) if a.person.id != ws.person_id]
        if step
        else []
    )
    if not people:
        people = [
            a for a in await role_holders(ctx, run, Role.SEKCAM) if a.person.id != ws.person_id
        ]
    return people


async def as_verifier(ctx: Ctx, run: Run, ws: Worksheet) -> Actor | None:
    """The speaker as a verifier of ``ws``, or ``None``."""
    if ctx.person is None:
        return None
    return next((a for a in await verifiers(ctx, run, ws) if a.person.id == ctx.person.id), None)


async def as_planner(ctx: Ctx, run: Run) -> Actor | None:
    """The speaker as the planner of the cycle (the first step the planner acts at)."""
    step = next((s for s in run.steps if s.pelaku == Role.PERENCANA), None)
    return await authority(ctx, run, step) if step else None


async def as_owner(ctx: Ctx, run: Run, ws: Worksheet) -> Actor | None:
    """The speaker as the owner of ``ws`` (the one who fills and sends it)."""
    if ctx.person is None or ctx.person.id != ws.person_id:
        return None
    return Actor(ctx.person)
