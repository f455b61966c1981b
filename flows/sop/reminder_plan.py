"""Reminder rows planned when things change (channel-neutral).

A step entered (a new visit), a deadline moved (/perpanjang), a sheet submitted or returned:
the code that makes the change calls :func:`plan_cycle` or :func:`sheet_moved` in the same unit
of work, which writes the reminder rows of the new plan (``INSERT … ON CONFLICT DO NOTHING``)
and retires the pending rows that no longer apply. The sweep (:mod:`flows.sop.reminders`) then
only pops rows that are due.

Retired rows: ``lewat`` when the reminder no longer applies to its recipient (submitted, or its
time passed); a future row that left the plan (the step moved on, a new deadline) is deleted, so
a step passed in minutes leaves no rows behind.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Executable, Insert, bindparam, delete, or_, select, update

from flows.core.context import Ctx
from flows.core.people import Actor
from flows.domain.calendar import OfficeCalendar
from flows.domain.office_settings import calendar_for
from flows.domain.roles import Role
from flows.domain.states import FILLABLE, SheetState, StepKind
from flows.sop.run import Run, deadline_of, phase_step, role_holders, step_actors
from storage.db import upsert
from storage.models import Base, Office, Person, Reminder, StepDeadline, Worksheet

#: The default plan; an office overrides any key with ``settings["pengingat"]``.
DEFAULT_PLAN: dict[str, Any] = {
    "sebelum_hari": 1,  # working days before the deadline day (0 = no early reminder)
    "hari_h": True,  # on the morning of the deadline day
    "terlambat_harian": True,  # every working morning once overdue
    "eskalasi": True,  # report the late ones to the next one up
    "ringkasan_camat": True,  # the Camat's daily digest of what is late
}

#: Who hears about an overdue actor of a step, by the step's role.
ESCALATE_TO: dict[str, tuple[Role, ...]] = {
    Role.KASI: (Role.PERENCANA, Role.SEKCAM),
    Role.STAF: (Role.PERENCANA, Role.SEKCAM),
    Role.PERENCANA: (Role.SEKCAM,),
    Role.SEKCAM: (Role.CAMAT,),
    Role.CAMAT: (),
}

#: Reminder kinds that go to the person who owes.
OWED_KINDS = ("sebelum", "hari_h", "terlambat")
#: The chain (family) of each kind: of one chain and recipient only the newest due one is sent.
FAMILY = {"sebelum": "o", "hari_h": "o", "terlambat": "o", "eskalasi": "e", "ringkasan": "s"}

_CHUNK = 400  # keys per ``IN (...)`` query (well under SQLite's variable limit)
_ROWS_PER_INSERT = 50  # rows per multi-row INSERT (8 columns each)


@dataclass(frozen=True)
class ReminderPlan:
    """Which reminders an office sends (``Office.settings["pengingat"]``)."""

    sebelum_hari: int = 1
    hari_h: bool = True
    terlambat_harian: bool = True
    eskalasi: bool = True
    ringkasan_camat: bool = True

    @classmethod
    def of(cls, *layers: Mapping[str, Any] | None) -> ReminderPlan:
        """The defaults overridden by each mapping in turn (unknown keys are ignored)."""
        merged = dict(DEFAULT_PLAN)
        for layer in layers:
            if isinstance(layer, Mapping):
                merged.update({k: v for k, v in layer.items() if k in DEFAULT_PLAN})
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = merged[f.name]
            if f.name == "sebelum_hari":
                try:
                    values[f.name] = max(0, min(10, int(raw or 0)))
                except (TypeError, ValueError):
                    values[f.name] = DEFAULT_PLAN["sebelum_hari"]
            else:
                values[f.name] = bool(raw)
        return cls(**values)


def plan_for(office: Office, preset: object = None) -> ReminderPlan:
    """The office's plan: defaults, then the preset's ``pengingat``, then the office's."""
    return ReminderPlan.of(
        getattr(preset, "pengingat", None), (office.settings or {}).get("pengingat")
    )


@dataclass(frozen=True)
class Planned:
    """One reminder of the plan: ``chain`` groups the ones of which only the newest counts."""

    key: str
    kind: str
    person_id: int
    due: datetime
    chain: str


# --- the calendar of an office, cached ---------------------------------------------------------


def office_calendar(office: Office) -> OfficeCalendar:
    """``calendar_for`` of the office (made once per distinct calendar settings)."""
    return calendar_for(office.tz, office.settings)


# --- when ------------------------------------------------------------------------------------


def next_morning(cal: OfficeCalendar, t: datetime) -> datetime:
    """The first working-day opening strictly after ``t`` (office time)."""
    local = cal.localize(t)
    opening = cal.opening(local.date())
    if opening is not None and opening > local:
        return opening
    result = cal.opening(cal.next_working_day(local.date()))
    assert result is not None
    return result


def overdue_mornings(cal: OfficeCalendar, due: datetime, now: datetime) -> list[datetime]:
    """Working mornings after ``due``: the newest one not after ``now``, then the next one."""
    past = cal.working_mornings(due, now) if now > due else []
    return [*past[-1:], next_morning(cal, max(now, due))]


def owed_times(
    cal: OfficeCalendar, plan: ReminderPlan, deadline: StepDeadline, now: datetime
) -> list[tuple[str, datetime]]:
    """(kind, moment) of the reminders to someone who owes, in time order."""
    due = cal.localize(deadline.due_at)
    out: list[tuple[str, datetime]] = []
    if plan.sebelum_hari:
        d = due.date()
        for _ in range(plan.sebelum_hari):
            d = cal.previous_working_day(d)
        opening = cal.opening(d)
        if opening is not None:
            out.append(("sebelum", opening))
    if plan.hari_h:
        opening = cal.opening(due.date())
        if opening is not None and opening < due:
            out.append(("hari_h", opening))
    if plan.terlambat_harian:
        out += [("terlambat", m) for m in overdue_mornings(cal, due, now)]
    return [(k, t) for k, t in out if t > deadline.started_at]


def reminder_key(cycle_id: int, step: str, visit: int, kind: str, person_id: int, day: date) -> str:
    """The deterministic key of one reminder (also the outbox dedupe key)."""
    return f"pengingat:{cycle_id}:{step}:{visit}:{kind}:{person_id}:{day.isoformat()}"


def digest_key(cycle_id: int, person_id: int, day: date) -> str:
    """One digest per Camat, cycle and day, whatever step is late."""
    return f"pengingat:{cycle_id}:ringkasan:{person_id}:{day.isoformat()}"


def visit_of(key: str) -> int | None:
    """The visit in a step reminder's key (``None`` for a digest's key)."""
    parts = key.split(":")
    try:
        return int(parts[3]) if len(parts) == 7 else None
    except ValueError:
        return None


def chain_items(
    run: Run,
    deadline: StepDeadline,
    cal: OfficeCalendar,
    plan: ReminderPlan,
    family: str,
    person_id: int,
    at: datetime,
) -> list[Planned]:
    """The reminders of one chain (family and recipient) as planned at ``at``, in time order."""
    cycle_id, step_id, visit, tz = run.cycle.id, run.cycle.step, deadline.visit, cal.tz
    chain = f"{family}{person_id}"
    if family == "o":
        return [
            Planned(
                reminder_key(cycle_id, step_id, visit, kind, person_id, t.astimezone(tz).date()),
                kind,
                person_id,
                t,
                chain,
            )
            for kind, t in owed_times(cal, plan, deadline, at)
        ]
    if (family == "e" and not plan.eskalasi) or (family == "s" and not plan.ringkasan_camat):
        return []
    mornings = [m for m in overdue_mornings(cal, deadline.due_at, at) if m > deadline.started_at]
    if family == "e":
        return [
            Planned(
                reminder_key(cycle_id, step_id, visit, "eskalasi", person_id, m.date()),
                "eskalasi",
                person_id,
                m,
                chain,
            )
            for m in mornings
        ]
    return [
        Planned(digest_key(cycle_id, person_id, m.date()), "ringkasan", person_id, m, chain)
        for m in mornings
    ]


def current_and_future(planned: Iterable[Planned], now: datetime) -> list[Planned]:
    """Per chain, the newest reminder already due (if any) and all the future ones."""
    chains: dict[str, list[Planned]] = {}
    for p in planned:
        chains.setdefault(p.chain, []).append(p)
    keep: list[Planned] = []
    for items in chains.values():
        items.sort(key=lambda p: p.due)
        past = [p for p in items if p.due <= now]
        keep += past[-1:] + [p for p in items if p.due > now]
    return keep


# --- who owes, who hears -----------------------------------------------------------------------


async def waiting(ctx: Ctx, run: Run) -> list[Actor]:
    """Who owes something at the current step (as ``engine.waiting_on``, in few queries)."""
    if not run.running:
        return []
    step = run.step
    if step.jenis == StepKind.ISI:
        people = await ctx.session.scalars(
            select(Person)
            .join(Worksheet, Worksheet.person_id == Person.id)
            .where(Worksheet.cycle_id == run.cycle.id, Worksheet.status.in_(FILLABLE))
            .order_by(Worksheet.id)
        )
        return list({p.id: Actor(p) for p in people}.values())
    if step.jenis == StepKind.VERIFIKASI:
        owners = list(
            await ctx.session.scalars(
                select(Worksheet.person_id)
                .where(
                    Worksheet.cycle_id == run.cycle.id,
                    Worksheet.status == SheetState.SUBMITTED,
                )
                .order_by(Worksheet.id)
            )
        )
        if not owners:
            return []
        checker = phase_step(run, StepKind.VERIFIKASI) or phase_step(run, StepKind.REKAP)
        base = await step_actors(ctx, run, checker) if checker else []
        sekcam: list[Actor] | None = None
        seen: dict[int, Actor] = {}
        for owner in owners:
            them = [a for a in base if a.person.id != owner]
            if not them:
                if sekcam is None:
                    sekcam = await role_holders(ctx, run, Role.SEKCAM)
                them = [a for a in sekcam if a.person.id != owner]
            for a in them:
                seen.setdefault(a.person.id, a)
        return list(seen.values())
    return await step_actors(ctx, run, step)


async def escalation_recipients(ctx: Ctx, run: Run) -> list[Actor]:
    """Who hears that the current step's actors are late (:data:`ESCALATE_TO`)."""
    seen: dict[int, Actor] = {}
    for role in ESCALATE_TO.get(run.step.pelaku, ()):
        for a in await role_holders(ctx, run, role):
            seen.setdefault(a.person.id, a)
    return list(seen.values())


def has_step(run: Run) -> bool:
    """The cycle's step is in its preset (a cycle opened by an old tool may not be)."""
    try:
        _ = run.step
    except KeyError:
        return False
    return True


# --- writing and retiring rows -----------------------------------------------------------------


async def _full_plan(ctx: Ctx, run: Run, deadline: StepDeadline) -> list[Planned]:
    """Every reminder of the current step's plan, for the people as they are now."""
    owed = await waiting(ctx, run)
    if not owed:
        return []
    cal = office_calendar(run.office)
    plan = plan_for(run.office, run.preset)
    now = ctx.now
    out: list[Planned] = []
    for actor in owed:
        out += chain_items(run, deadline, cal, plan, "o", actor.person.id, now)
    late = {a.person.id for a in owed}
    if plan.eskalasi:
        for up in await escalation_recipients(ctx, run):
            if late - {up.person.id}:  # not when the only late one is the recipient
                out += chain_items(run, deadline, cal, plan, "e", up.person.id, now)
    if plan.ringkasan_camat:
        for head in await role_holders(ctx, run, Role.CAMAT):
            out += chain_items(run, deadline, cal, plan, "s", head.person.id, now)
    # Two recipients' roles may overlap (a Plt): one reminder per key.
    return current_and_future({p.key: p for p in out}.values(), now)


async def write_rows(
    ctx: Ctx, cycle_id: int, step: str, planned: list[Planned], *, revive: bool = False
) -> None:
    """Insert the rows of ``planned`` that are missing; ``revive`` re-opens retired ones."""
    values = [
        {
            "key": p.key,
            "cycle_id": cycle_id,
            "step": step,
            "person_id": p.person_id,
            "kind": p.kind,
            "due_at": p.due,
            "status": "pending",
            "created_at": ctx.now,
        }
        for p in planned
    ]
    if not values:
        return
    await ctx.session.flush()  # a retired row of the same key is deleted first
    conn = await ctx.session.connection()
    statement = _insert_rows(conn.dialect.name, revive)
    for i in range(0, len(values), _ROWS_PER_INSERT):
        await conn.execute(statement, values[i : i + _ROWS_PER_INSERT])


@functools.cache
def _insert_rows(dialect: str, revive: bool) -> Insert:
    """The reminder rows' ``INSERT … ON CONFLICT (key)``, built once and run as executemany
    (a ``.values([...])`` statement is new SQL per call and misses SQLAlchemy's cache)."""
    table = Base.metadata.tables[Reminder.__tablename__]
    stmt = upsert(dialect, table)
    if revive:
        return stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"status": "pending", "due_at": stmt.excluded.due_at},
            # no IN (...): an expanding parameter cannot run as executemany
            where=or_(table.c.status == "lewat", table.c.status == "batal"),
        )
    return stmt.on_conflict_do_nothing(index_elements=["key"])


async def rows_by_key(ctx: Ctx, keys: Iterable[str]) -> dict[str, Reminder]:
    """The reminder rows of ``keys`` that exist."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, Reminder] = {}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        for row in await ctx.session.scalars(select(Reminder).where(Reminder.key.in_(chunk))):
            found[row.key] = row
    return found


async def _retire_except(ctx: Ctx, cycle_id: int, keep: set[str]) -> None:
    """Pending rows of the cycle not in ``keep``: ``lewat`` once due, else deleted."""
    pending = await ctx.session.execute(
        select(Reminder.id, Reminder.key, Reminder.due_at).where(
            Reminder.cycle_id == cycle_id, Reminder.status == "pending"
        )
    )
    passed: list[int] = []
    future: list[int] = []
    for rid, key, due in pending:
        if key not in keep:
            (passed if due <= ctx.now else future).append(rid)
    for i in range(0, len(passed), _CHUNK):
        await ctx.session.execute(
            update(Reminder)
            .where(Reminder.id.in_(passed[i : i + _CHUNK]))
            .values(status="lewat")
            .execution_options(synchronize_session="fetch")
        )
    for i in range(0, len(future), _CHUNK):
        await ctx.session.execute(
            delete(Reminder)
            .where(Reminder.id.in_(future[i : i + _CHUNK]))
            .execution_options(synchronize_session="fetch")
        )


async def plan_cycle(ctx: Ctx, run: Run) -> None:
    """(Re)plan the cycle's current step: write the missing rows, retire what left the plan.

    Called when a step is entered, a deadline moves or the cycle ends (then everything pending
    is retired). A plan row retired earlier is made pending again (a sheet sent back). Costs
    one cycle's rows, never the whole database's.
    """
    keep: list[Planned] = []
    deadline = None
    if run.running and has_step(run):
        deadline = await deadline_of(ctx, run)
        if deadline is not None and deadline.done_at is None:
            keep = await _full_plan(ctx, run, deadline)
    await ctx.session.flush()
    await _retire_except(ctx, run.cycle.id, {p.key for p in keep})
    await write_rows(ctx, run.cycle.id, run.cycle.step, keep, revive=True)


async def sheet_moved(ctx: Ctx, run: Run, ws: Worksheet) -> None:
    """A sheet was submitted or returned at the isi step: its owner's rows follow.

    Submitted (and no other open sheet): the owner's pending reminders are retired (``lewat``).
    Returned: the owner's reminders of the current deadline are written again. At other steps
    the step's own entry replans (``plan_cycle``).
    """
    if not run.running or not has_step(run):
        return
    if run.step.jenis != StepKind.ISI:
        return
    owner = ws.person_id
    if ws.status not in FILLABLE:  # in: retired unless another sheet of theirs is still open
        await ctx.session.execute(
            _retire_owed_query(), {"in_cycle": run.cycle.id, "of_person": owner}
        )
        return
    deadline = await deadline_of(ctx, run)
    if deadline is None or deadline.done_at is not None:
        return
    cal = office_calendar(run.office)
    plan = plan_for(run.office, run.preset)
    items = chain_items(run, deadline, cal, plan, "o", owner, ctx.now)
    await write_rows(
        ctx, run.cycle.id, run.cycle.step, current_and_future(items, ctx.now), revive=True
    )


@functools.cache
def _retire_owed_query() -> Executable:
    """The person's pending reminders to fill in, retired (``lewat``) when no sheet of theirs
    in the cycle is still to be filled: one statement. Built once (every Kirim)."""
    still_open = (
        select(Worksheet.id)
        .where(
            Worksheet.cycle_id == bindparam("in_cycle"),
            Worksheet.person_id == bindparam("of_person"),
            Worksheet.status.in_(FILLABLE),
        )
        .exists()
    )
    return (
        update(Reminder)
        .where(
            Reminder.cycle_id == bindparam("in_cycle"),
            Reminder.person_id == bindparam("of_person"),
            Reminder.kind.in_(OWED_KINDS),
            Reminder.status == "pending",
            ~still_open,
        )
        .values(status="lewat")
        .execution_options(synchronize_session="fetch")
    )
