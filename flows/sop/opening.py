"""Cycles that open themselves: on the office's opening day of a quarter, the step-1 actor
(the Camat) gets the order card ready to tap, or the cycle opens by itself.

When: the ``hari_kerja_ke``-th working day after the quarter ends (default the first),
office calendar; ``otomatis: ya`` opens it without a tap. Both from the office file's
``buka_siklus``. Driven by the reminder sweep (one injected clock, no timer per office); an
offer is made at most once per office and period (its event is the guard). Only periods
whose opening comes after the office was imported are offered, and only of the office's
PK year, while no other cycle of the office runs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import local_date
from flows.domain.calendar import OfficeCalendar
from flows.domain.periods import Period, quarter_just_ended
from flows.domain.states import CycleState
from flows.sop import engine
from flows.sop.preset import load_preset
from flows.sop.run import Run, step_actors
from storage.models import Cycle, Event, Office

OFFER = "siklus.tawarkan"
_CHUNK = 500  # offices per ``IN (...)``
OFFER_TAP = "siklus.mulai_tawaran"


def offer_group(office_id: int, key: str) -> str:
    return f"tawaran:{office_id}:{key}"


def opening_moment(cal: OfficeCalendar, office: Office, period: Period) -> datetime:
    """The opening of the office's ``hari_kerja_ke``-th working day after ``period`` ends."""
    nth = int(((office.settings or {}).get("buka_siklus") or {}).get("hari_kerja_ke", 1))
    day = period.last_day
    for _ in range(nth):
        day = cal.next_working_day(day)
    moment = cal.opening(day)
    assert moment is not None
    return moment


def opens_by_itself(office: Office) -> bool:
    return bool(((office.settings or {}).get("buka_siklus") or {}).get("otomatis"))


async def sweep(ctx: Ctx, calendar_of) -> datetime | None:  # noqa: ANN001
    """Offer (or open) every office's due period; the next opening moment still to come.

    The guards are read for all offices at once (three grouped queries, not three per office:
    the sweep runs every few minutes over every office)."""
    upcoming: list[datetime] = []
    reached: list[tuple[Office, Period, datetime]] = []
    for office in await ctx.session.scalars(select(Office).order_by(Office.id)):
        cal = calendar_of(office)
        period = quarter_just_ended(local_date(office, ctx.now))
        moment = opening_moment(cal, office, period)
        if ctx.now < moment:
            upcoming.append(moment)
            continue
        following = Period.quarter(period.year + (period.number == 4), period.number % 4 + 1)
        upcoming.append(opening_moment(cal, office, following))
        if period.year == office.tahun:
            reached.append((office, period, moment))
    for i in range(0, len(reached), _CHUNK):
        chunk = reached[i : i + _CHUNK]
        for office, period in await _due(ctx, chunk):
            await _offer(ctx, office, period)
    return min(upcoming, default=None)


async def _due(
    ctx: Ctx, reached: list[tuple[Office, Period, datetime]]
) -> list[tuple[Office, Period]]:
    """Of the offices whose opening moment came: those imported before it, with no cycle of
    that period nor a running one, not yet offered it."""
    ids = [office.id for office, _, _ in reached]
    imported = {
        office_id: first
        for office_id, first in await ctx.session.execute(
            select(Event.office_id, func.min(Event.at))
            .where(Event.office_id.in_(ids), Event.action == "kantor.impor")
            .group_by(Event.office_id)
        )
    }
    keys = list({period.key for _, period, _ in reached})
    cycles = await ctx.session.execute(
        select(Cycle.office_id, Cycle.period_key, Cycle.status).where(
            Cycle.office_id.in_(ids),
            Cycle.period_key.in_(keys) | (Cycle.status == CycleState.RUNNING),
        )
    )
    busy = {(o, None if status == CycleState.RUNNING else key) for o, key, status in cycles}
    offers = await ctx.session.execute(
        select(Event.office_id, Event.subject).where(
            Event.office_id.in_(ids), Event.action == OFFER, Event.subject.in_(keys)
        )
    )
    offered: set[tuple[int | None, str]] = {(o, key) for o, key in offers}
    out = []
    for office, period, moment in reached:
        first = imported.get(office.id)
        if first is None or first > moment:
            continue
        if (office.id, None) in busy or (office.id, period.key) in busy:
            continue
        if (office.id, period.key) not in offered:
            out.append((office, period))
    return out


async def _offer(ctx: Ctx, office: Office, period: Period) -> None:
    ctx.log(
        OFFER, office_id=office.id, subject=period.key, data={"otomatis": opens_by_itself(office)}
    )
    if opens_by_itself(office):
        run = await engine.start(ctx, office, period, "", None)
        text = texts.render(
            "siklus/dibuka_otomatis",
            periode=period,
            langkah=run.step,
            pelaku=run.preset.actor_title(run.step.id),
        )
        for actor in await step_actors(ctx, run, run.preset.first):
            ctx.send(actor.person.id, text)
        return
    preset = load_preset(office.preset)
    probe = Run(
        Cycle(office_id=office.id, period_key=period.key, preset=preset.id, step=preset.first.id),
        office,
        preset,
    )
    for actor in await step_actors(ctx, probe, preset.first):
        button = await ctx.button(
            texts.label("mulai_sekarang"),
            OFFER_TAP,
            {"p": period.key},
            person_id=actor.person.id,
            group=offer_group(office.id, period.key),
        )
        ctx.send(
            actor.person.id,
            texts.render("siklus/tawaran", periode=period, langkah=preset.first),
            [[button]],
            group=offer_group(office.id, period.key),
        )
