"""Reminders, escalations and the Camat's daily digest on the SOP clock (channel-neutral).

The database is the queue: every reminder is a :class:`~storage.models.Reminder` row with a
deterministic key (``pengingat:{cycle}:{step}:{visit}:{kind}:{person}:{local date}``), inserted
idempotently, sent at most once (the same key is the outbox ``dedupe_key``) and marked ``sent``.
:func:`sweep` is the only entry point; the scheduler (``bot/scheduler.py``) calls it in one
transaction and re-arms itself at the time it returns.

The plan per running cycle, for the current step and its :class:`StepDeadline`:

* to everyone who still owes something (:func:`flows.engine.waiting_on`): ``sebelum`` on the
  working morning ``sebelum_hari`` working days before the deadline day, ``hari_h`` on the
  morning of the deadline day, ``terlambat`` every working morning once overdue;
* ``eskalasi`` every working morning once overdue to the next one up (see :data:`ESCALATE_TO`),
  listing who is late;
* ``ringkasan`` to the Camat every working morning once overdue: one short digest a day.

Moments at or before the step's start are dropped. Nothing is sent outside office hours: a
reminder due at night waits for the next opening. When several reminders of one chain (one
person, one kind of message) have come due without being sent (the bot was down), only the
newest is sent; the older ones are marked ``lewat``. Whether someone still owes is decided when
the reminder is sent, so nobody who has submitted is reminded.

The plan can be changed per office with ``Office.settings["pengingat"]`` (see
:data:`DEFAULT_PLAN`), on top of an optional ``pengingat`` mapping of the SOP preset.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import Actor
from flows.domain.calendar import OfficeCalendar
from flows.domain.office_settings import calendar_for
from flows.domain.roles import Role
from flows.domain.states import FILLABLE as OPEN_SHEET
from flows.domain.states import CycleState, StepKind
from flows.sop import opening
from flows.sop.engine import waiting_on
from flows.sop.preset import load_cycle_preset
from flows.sop.run import Run, deadline_of, role_holders
from storage.models import Cycle, Office, Person, Reminder, StepDeadline, Worksheet

log = logging.getLogger(__name__)

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

_CHUNK = 400  # keys per ``IN (...)`` query (well under SQLite's variable limit)


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


# --- the calendar of an office, cached across sweeps -------------------------------------------

_CALENDARS: dict[str, OfficeCalendar] = {}


def office_calendar(office: Office) -> OfficeCalendar:
    """``calendar_for`` of the office, cached (holiday tables are costly to build)."""
    settings = office.settings or {}
    relevant = {k: settings.get(k) for k in ("jam_kerja", "libur_tambahan", "libur_batal")}
    cache_key = office.tz + json.dumps(relevant, sort_keys=True, default=str)
    cal = _CALENDARS.get(cache_key)
    if cal is None:
        if len(_CALENDARS) > 256:
            _CALENDARS.clear()
        cal = _CALENDARS[cache_key] = calendar_for(office.tz, settings)
    return cal


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


# --- the sweep -------------------------------------------------------------------------------


async def sweep(ctx: Ctx) -> datetime | None:
    """Plan, send what is due, retire what no longer applies; the next time there is work.

    Runs inside one transaction (``Core.run``). Returns the earliest moment (UTC-aware, in the
    office's zone) at which a pending reminder can be sent, or ``None`` when nothing is pending.
    """
    await _retire_finished(ctx)
    cycles = list(
        await ctx.session.scalars(
            select(Cycle).where(Cycle.status == CycleState.RUNNING).order_by(Cycle.id)
        )
    )
    upcoming: list[datetime] = []
    for cycle in cycles:
        try:
            moment = await _sweep_cycle(ctx, cycle)
        except KeyError:  # a cycle whose step is not in its preset (opened by an old tool)
            log.warning("cycle %s: step %r is not in preset %r", cycle.id, cycle.step, cycle.preset)
            continue
        if moment is not None:
            upcoming.append(moment)
    opens = await opening.sweep(ctx, office_calendar)  # cycles that open themselves
    if opens is not None:
        upcoming.append(opens)
    return min(upcoming, default=None)


async def _retire_finished(ctx: Ctx) -> None:
    """Pending reminders of cycles that no longer run are cancelled."""
    await ctx.session.execute(
        update(Reminder)
        .where(
            Reminder.status == "pending",
            Reminder.cycle_id.in_(select(Cycle.id).where(Cycle.status != CycleState.RUNNING)),
        )
        .values(status="batal")
        .execution_options(synchronize_session=False)
    )


async def _sweep_cycle(ctx: Ctx, cycle: Cycle) -> datetime | None:
    office = await ctx.session.get(Office, cycle.office_id)
    assert office is not None
    run = Run(cycle, office, load_cycle_preset(cycle.preset, cycle.preset_snapshot))
    step = run.step  # KeyError for an unknown step
    deadline = await deadline_of(ctx, run)
    cal = office_calendar(office)
    now = ctx.now
    planned: list[Planned] = []
    owed: list[Actor] = []
    if deadline is not None and deadline.done_at is None:
        plan = plan_for(office, run.preset)
        loaded = await _preload_sheet_owners(ctx, run)
        owed = await waiting_on(ctx, run)
        del loaded
        planned = await _plan(ctx, run, cal, plan, deadline, owed)
    keep = _current_and_future(planned, now)
    rows = await _ensure_rows(ctx, cycle, step.id, keep)
    await _retire_stale(ctx, cycle.id, {p.key for p in keep})
    if not keep:
        return None
    assert deadline is not None
    due_now = [p for p in keep if p.due <= now]
    if due_now and cal.is_office_time(now):
        by_person = {a.person.id: a for a in owed}
        for p in due_now:
            row = rows[p.key]
            if row.status != "pending":
                continue
            text = _message(run, p, deadline, owed, by_person, cal, now)
            if text is None:
                row.status = "lewat"
                continue
            buttons = None
            if p.kind in OWED_KINDS and step.jenis == StepKind.ISI:
                # "Isi sekarang" under the reminder: on WhatsApp outside the window the
                # template's one quick reply acts as this button.
                start = await ctx.button(
                    texts.label("isi_sekarang"), "isi.mulai", {}, person_id=p.person_id
                )
                buttons = [[start]]
            ctx.send(p.person_id, text, buttons, dedupe_key=p.key, template="pengingat")
            row.status, row.sent_at = "sent", now
    pending = [
        cal.next_office_time(max(p.due, now)) for p in keep if rows[p.key].status == "pending"
    ]
    return min(pending, default=None)


async def _preload_sheet_owners(ctx: Ctx, run: Run) -> list[Person]:
    """Load the owners of open sheets in one query, so ``waiting_on`` finds them in the session.

    The caller keeps the list: the identity map holds objects weakly.
    """
    if run.step.jenis != StepKind.ISI:
        return []
    result = await ctx.session.scalars(
        select(Person)
        .join(Worksheet, Worksheet.person_id == Person.id)
        .where(Worksheet.cycle_id == run.cycle.id, Worksheet.status.in_(OPEN_SHEET))
    )
    return list(result.all())


async def _plan(
    ctx: Ctx,
    run: Run,
    cal: OfficeCalendar,
    plan: ReminderPlan,
    deadline: StepDeadline,
    owed: list[Actor],
) -> list[Planned]:
    """Every reminder of the current step's plan, for the people as they are now."""
    if not owed:
        return []
    cycle, step, now = run.cycle, run.step, ctx.now
    tz = cal.tz
    out: list[Planned] = []
    times = owed_times(cal, plan, deadline, now)
    for actor in owed:
        pid = actor.person.id
        for kind, t in times:
            day = t.astimezone(tz).date()
            key = reminder_key(cycle.id, step.id, deadline.visit, kind, pid, day)
            out.append(Planned(key, kind, pid, t, f"o{pid}"))
    mornings = [m for m in overdue_mornings(cal, deadline.due_at, now) if m > deadline.started_at]
    if plan.eskalasi:
        late_ids = {a.person.id for a in owed}
        for role in ESCALATE_TO.get(step.pelaku, ()):
            for up in await role_holders(ctx, run, role):
                pid = up.person.id
                if not late_ids - {pid}:
                    continue  # the only late one is the recipient
                for m in mornings:
                    key = reminder_key(cycle.id, step.id, deadline.visit, "eskalasi", pid, m.date())
                    out.append(Planned(key, "eskalasi", pid, m, f"e{pid}"))
    if plan.ringkasan_camat:
        for head in await role_holders(ctx, run, Role.CAMAT):
            pid = head.person.id
            for m in mornings:
                key = digest_key(cycle.id, pid, m.date())
                out.append(Planned(key, "ringkasan", pid, m, f"s{pid}"))
    # Two recipients' roles may overlap (a Plt): one reminder per key.
    return list({p.key: p for p in out}.values())


def _current_and_future(planned: Iterable[Planned], now: datetime) -> list[Planned]:
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


async def _rows_by_key(ctx: Ctx, keys: list[str]) -> dict[str, Reminder]:
    found: dict[str, Reminder] = {}
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        for row in await ctx.session.scalars(select(Reminder).where(Reminder.key.in_(chunk))):
            found[row.key] = row
    return found


async def _ensure_rows(
    ctx: Ctx, cycle: Cycle, step: str, keep: list[Planned]
) -> dict[str, Reminder]:
    """The rows of ``keep``, inserting the missing ones (``ON CONFLICT DO NOTHING``)."""
    keys = [p.key for p in keep]
    rows = await _rows_by_key(ctx, keys)
    missing = [p for p in keep if p.key not in rows]
    if missing:
        values = [
            {
                "key": p.key,
                "cycle_id": cycle.id,
                "step": step,
                "person_id": p.person_id,
                "kind": p.kind,
                "due_at": p.due,
                "status": "pending",
                "created_at": ctx.now,
            }
            for p in missing
        ]
        dialect = ctx.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        for i in range(0, len(values), _CHUNK // 8):
            stmt = insert(Reminder).values(values[i : i + _CHUNK // 8])
            await ctx.session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
        rows.update(await _rows_by_key(ctx, [p.key for p in missing]))
    return rows


async def _retire_stale(ctx: Ctx, cycle_id: int, keep: set[str]) -> None:
    """Pending rows no longer in the plan: ``lewat`` once their time passed, else ``batal``."""
    stale = [
        row
        for row in await ctx.session.scalars(
            select(Reminder).where(Reminder.cycle_id == cycle_id, Reminder.status == "pending")
        )
        if row.key not in keep
    ]
    for row in stale:
        row.status = "lewat" if row.due_at <= ctx.now else "batal"


def _message(
    run: Run,
    p: Planned,
    deadline: StepDeadline,
    owed: list[Actor],
    by_person: Mapping[int, Actor],
    cal: OfficeCalendar,
    now: datetime,
) -> str | None:
    """The text of a due reminder, or ``None`` when it no longer applies."""
    step = run.step
    common: dict[str, Any] = {
        "periode": run.period,
        "langkah": step,
        "pelaku": run.preset.actor_title(step.id),
        "batas": deadline.due_at,
        "tz": run.office.tz,
        "isi": step.jenis == StepKind.ISI,
    }
    if p.kind in OWED_KINDS:
        if p.person_id not in by_person:
            return None  # submitted (or no longer an actor) since it was planned
        if p.kind == "terlambat" and now <= deadline.due_at:
            return None
        if p.kind == "sebelum":
            days = cal.working_days_between(
                cal.localize(now).date() + timedelta(days=1), cal.localize(deadline.due_at).date()
            )
            return texts.render("pengingat/sebelum", hari=max(days, 1), **common)
        return texts.render(f"pengingat/{p.kind}", **common)
    if now <= deadline.due_at:
        return None
    late = [a for a in owed if a.person.id != p.person_id]
    if not late:
        return None
    if p.kind == "eskalasi":
        return texts.render("pengingat/eskalasi", terlambat=late, **common)
    today = cal.localize(now).date()
    overdue_days = cal.working_days_between(
        cal.localize(deadline.due_at).date() + timedelta(days=1), today
    )
    return texts.render(
        "pengingat/ringkasan",
        terlambat=late,
        hari_ini=today,
        hari_terlambat=max(overdue_days, 1),
        **common,
    )
