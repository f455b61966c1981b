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
    """Offer (or open) every office's due period; the next opening moment still to come."""
    upcoming: list[datetime] = []
    for office in await ctx.session.scalars(select(Office).order_by(Office.id)):
        cal = calendar_of(office)
        period = quarter_just_ended(local_date(office, ctx.now))
        moment = opening_moment(cal, office, period)
        if ctx.now < moment:
            upcoming.append(moment)
            continue
        following = Period.quarter(period.year + (period.number == 4), period.number % 4 + 1)
        upcoming.append(opening_moment(cal, office, following))
        if period.year != office.tahun:
            continue
        if not await _due(ctx, office, period, moment):
            continue
        await _offer(ctx, office, period)
    return min(upcoming, default=None)


async def _due(ctx: Ctx, office: Office, period: Period, moment: datetime) -> bool:
    imported = await ctx.session.scalar(
        select(func.min(Event.at)).where(
            Event.office_id == office.id, Event.action == "kantor.impor"
        )
    )
    if imported is None or imported > moment:
        return False
    busy = await ctx.session.scalar(
        select(Cycle.id).where(
            Cycle.office_id == office.id,
            (Cycle.period_key == period.key) | (Cycle.status == CycleState.RUNNING),
        )
    )
    offered = await ctx.session.scalar(
        select(Event.id).where(
            Event.office_id == office.id, Event.action == OFFER, Event.subject == period.key
        )
    )
    return busy is None and offered is None


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
