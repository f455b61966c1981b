"""Reminders, escalations and the Camat's daily digest on the SOP clock (channel-neutral).

The database is the queue: every reminder is a :class:`~storage.models.Reminder` row with a
deterministic key (``pengingat:{cycle}:{step}:{visit}:{kind}:{person}:{local date}``), sent at
most once (the same key is the outbox ``dedupe_key``) and marked ``sent``. Rows are written when
things change (:mod:`flows.sop.reminder_plan`: a step entered, a deadline moved, a sheet sent or
returned); :func:`sweep` only pops the pending rows that are due (an indexed query on
``(status, due_at)``), in batches, and returns the next due time.

The plan per running cycle, for the current step and its :class:`StepDeadline`:

* to everyone who still owes something: ``sebelum`` on the working morning ``sebelum_hari``
  working days before the deadline day, ``hari_h`` on the morning of the deadline day,
  ``terlambat`` every working morning once overdue;
* ``eskalasi`` every working morning once overdue to the next one up (see :data:`ESCALATE_TO`),
  listing who is late;
* ``ringkasan`` to the Camat every working morning once overdue: one short digest a day.

The daily ones are written one morning ahead: popping one writes the next. Nothing is sent
outside office hours: a reminder due at night waits for the next opening. When several
reminders of one chain (one person, one kind of message) have come due without being sent (the
bot was down), only the newest is sent; the older ones are marked ``lewat``. Whether someone
still owes, and whether the office's plan still has that kind, is decided when the reminder is
sent. :func:`reconcile` replans every running cycle (one transaction each): the scheduler runs
it in the background after start-up, a safety net for rows written by older code or by hand.

The plan can be changed per office with ``Office.settings["pengingat"]`` (see
:data:`DEFAULT_PLAN`), on top of an optional ``pengingat`` mapping of the SOP preset.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import Actor
from flows.domain.calendar import OfficeCalendar
from flows.domain.roles import Role
from flows.domain.states import CycleState, StepKind
from flows.sop import opening
from flows.sop.preset import load_cycle_preset
from flows.sop.reminder_plan import (
    DEFAULT_PLAN,
    ESCALATE_TO,
    FAMILY,
    OWED_KINDS,
    Planned,
    ReminderPlan,
    chain_items,
    digest_key,
    escalation_recipients,
    has_step,
    next_morning,
    office_calendar,
    overdue_mornings,
    owed_times,
    plan_cycle,
    plan_for,
    reminder_key,
    rows_by_key,
    visit_of,
    waiting,
    write_rows,
)
from flows.sop.run import Run, deadline_of, role_holders
from storage.models import Cycle, Office, Reminder, StepDeadline

__all__ = [
    "BATCH",
    "DEFAULT_PLAN",
    "ESCALATE_TO",
    "OWED_KINDS",
    "Planned",
    "ReminderPlan",
    "digest_key",
    "next_due",
    "next_morning",
    "office_calendar",
    "overdue_mornings",
    "owed_times",
    "plan_for",
    "reconcile_cycle",
    "reminder_key",
    "running_cycles",
    "sweep",
    "sweep_batch",
]

log = logging.getLogger(__name__)

#: Due reminders handled per batch (the scheduler commits after each).
BATCH = 500


# --- the sweep -------------------------------------------------------------------------------


async def sweep(ctx: Ctx, limit: int | None = None) -> datetime | None:
    """Send what is due (at most ``limit`` rows; all when ``None``); the next time there is work.

    Returns the earliest moment (UTC-aware, in the office's zone) at which a pending reminder
    can be sent, or ``None`` when nothing is pending. A moment not after ``ctx.now`` means more
    rows are due than ``limit`` allowed: sweep again (in a new transaction).
    """
    handled = 0
    seen: set[int] = set()
    while limit is None or handled < limit:
        size = BATCH if limit is None else min(BATCH, limit - handled)
        rows = list(
            await ctx.session.scalars(
                select(Reminder)
                .where(Reminder.status == "pending", Reminder.due_at <= ctx.now)
                .order_by(Reminder.due_at, Reminder.id)
                .limit(size)
                .with_for_update(skip_locked=True)  # PostgreSQL: a second sweeper skips them
            )
        )
        if not rows or seen.issuperset(r.id for r in rows):
            break
        seen.update(r.id for r in rows)
        by_cycle: dict[int, list[Reminder]] = defaultdict(list)
        for row in rows:
            by_cycle[row.cycle_id].append(row)
        for cycle_id, due in by_cycle.items():
            await _pop_cycle(ctx, cycle_id, due)
        await ctx.session.flush()
        handled += len(rows)
        if len(rows) < size:
            break
    opens = await opening.sweep(ctx, office_calendar)  # periods that open themselves
    upcoming = [m for m in (await next_due(ctx), opens) if m is not None]
    return min(upcoming, default=None)


async def sweep_batch(ctx: Ctx) -> datetime | None:
    """One batch of :func:`sweep` (what the scheduler runs per transaction)."""
    return await sweep(ctx, BATCH)


async def next_due(ctx: Ctx) -> datetime | None:
    """When the earliest pending reminder can be sent (its office's next office time)."""
    first = (
        await ctx.session.execute(
            select(Reminder.due_at, Cycle.office_id)
            .join(Cycle, Cycle.id == Reminder.cycle_id)
            .where(Reminder.status == "pending")
            .order_by(Reminder.due_at)
            .limit(1)
        )
    ).first()
    if first is None:
        return None
    due, office_id = first
    office = await ctx.session.get(Office, office_id)
    assert office is not None
    return office_calendar(office).next_office_time(max(due, ctx.now))


async def _retire_all(rows: list[Reminder]) -> None:
    for row in rows:
        row.status = "lewat"


async def _pop_cycle(ctx: Ctx, cycle_id: int, due: list[Reminder]) -> None:
    """Send (or retire, or defer to the next opening) the due rows of one cycle."""
    cycle = await ctx.session.get(Cycle, cycle_id)
    office = await ctx.session.get(Office, cycle.office_id) if cycle is not None else None
    if cycle is None or office is None or cycle.status != CycleState.RUNNING:
        await _retire_all(due)
        return
    run = Run(cycle, office, load_cycle_preset(cycle.preset, cycle.preset_snapshot))
    if not has_step(run):
        log.warning("cycle %s: step %r is not in preset %r", cycle.id, cycle.step, cycle.preset)
        await _retire_all(due)
        return
    deadline = await deadline_of(ctx, run)
    if deadline is None or deadline.done_at is not None:
        await _retire_all(due)
        return
    cal = office_calendar(office)
    plan = plan_for(office, run.preset)
    now = ctx.now
    open_now = cal.is_office_time(now)
    at = now if open_now else cal.next_office_time(now)
    chains: dict[tuple[str, int], list[Reminder]] = defaultdict(list)
    for row in due:
        valid = row.kind == "ringkasan" or (
            row.step == cycle.step and visit_of(row.key) == deadline.visit
        )
        if not valid or row.person_id is None or row.kind not in FAMILY:
            row.status = "lewat"
        else:
            chains[(FAMILY[row.kind], row.person_id)].append(row)
    if not chains:
        return
    families = {f for f, _ in chains}
    owed = await waiting(ctx, run)
    by_person = {a.person.id: a for a in owed}
    hearers: dict[str, set[int]] = {"o": set(by_person)}
    if "e" in families:
        hearers["e"] = {a.person.id for a in await escalation_recipients(ctx, run)}
    if "s" in families:
        hearers["s"] = {a.person.id for a in await role_holders(ctx, run, Role.CAMAT)}
    decided: list[tuple[list[Reminder], Planned | None]] = []
    wanted: list[Planned] = []
    for (family, pid), rows in chains.items():
        items = (
            chain_items(run, deadline, cal, plan, family, pid, at)
            if pid in hearers.get(family, set())
            else []
        )
        current = next((p for p in reversed(items) if p.due <= at), None)
        following = next((p for p in items if p.due > at), None)
        decided.append((rows, current))
        wanted += [p for p in (current, following) if p is not None]
    await write_rows(ctx, cycle.id, cycle.step, wanted)
    existing = await rows_by_key(ctx, [p.key for p in wanted])
    for rows, current in decided:
        for row in rows:
            if current is None or row.key != current.key:
                row.status = "lewat"
        if current is None:
            continue
        row = existing[current.key]
        if row.status != "pending":
            continue
        if not open_now:
            row.due_at = max(row.due_at, at)
            continue
        await _send(ctx, run, row, current, deadline, owed, by_person, cal)


async def _send(
    ctx: Ctx,
    run: Run,
    row: Reminder,
    p: Planned,
    deadline: StepDeadline,
    owed: list[Actor],
    by_person: Mapping[int, Actor],
    cal: OfficeCalendar,
) -> None:
    now = ctx.now
    text = _message(run, p, deadline, owed, by_person, cal, now)
    if text is None:
        row.status = "lewat"
        return
    buttons = None
    if p.kind in OWED_KINDS and run.step.jenis == StepKind.ISI:
        # "Isi sekarang" under the reminder: on WhatsApp outside the window the
        # template's one quick reply acts as this button.
        start = await ctx.button(
            texts.label("isi_sekarang"), "isi.mulai", {}, person_id=p.person_id
        )
        buttons = [[start]]
    ctx.send(p.person_id, text, buttons, dedupe_key=p.key, template="pengingat")
    row.status, row.sent_at = "sent", now


# --- the safety net: replan every running cycle ------------------------------------------------


async def running_cycles(ctx: Ctx) -> list[int]:
    """Ids of the running cycles; pending reminders of the other cycles are retired."""
    await ctx.session.execute(
        update(Reminder)
        .where(
            Reminder.status == "pending",
            Reminder.cycle_id.in_(select(Cycle.id).where(Cycle.status != CycleState.RUNNING)),
        )
        .values(status="batal")
        .execution_options(synchronize_session=False)
    )
    return list(
        await ctx.session.scalars(
            select(Cycle.id).where(Cycle.status == CycleState.RUNNING).order_by(Cycle.id)
        )
    )


async def reconcile_cycle(ctx: Ctx, cycle_id: int) -> None:
    """Replan one running cycle (missing rows written, stale ones retired)."""
    cycle = await ctx.session.get(Cycle, cycle_id)
    if cycle is None:
        return
    office = await ctx.session.get(Office, cycle.office_id)
    assert office is not None
    await plan_cycle(
        ctx, Run(cycle, office, load_cycle_preset(cycle.preset, cycle.preset_snapshot))
    )


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
