"""A filling window that closes: after the isi deadline a sheet is sent only with permission.

Applies to a sheet's first Kirim (status ``open``): a sheet returned for correction may always
be sent again. The owner's Kirim after the deadline asks the sheet's verifiers (the planner, or
whoever verifies in the preset, with Plt/Plh); "Izinkan terlambat" lets the sheet be sent,
"Tolak" (with a reason) closes it unsent, so the cycle goes on without it. Each is one
transition of the worksheet (:mod:`flows.sop.lifecycle`): a double or stale tap changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flows.core import texts
from flows.core.context import Ctx
from flows.core.conversation import clear_state, set_state
from flows.core.people import Actor
from flows.domain.office_settings import calendar_for
from flows.domain.roles import Role
from flows.domain.states import SheetState, StepKind
from flows.sop.engine import progress
from flows.sop.kind import FLOW
from flows.sop.lifecycle import Note, Outcome, Verb, transition
from flows.sop.review import sheet_checked
from flows.sop.run import Run, deadline_of, phase_step, sheet_group, verifiers
from storage.models import Person, Section, Worksheet

__all__ = [
    "ANSWER",
    "ask",
    "late_minutes",
    "on_allow",
    "on_refuse_ask",
    "on_refuse_reason",
    "sent_data",
    "sent_late",
    "verifier_title",
    "window_closed",
]

#: The ``do`` of the SOP conversation while the reason of a refusal is asked.
ANSWER = "tolak_terlambat"
MAX_REASON = 500


async def window_closed(ctx: Ctx, run: Run, ws: Worksheet) -> datetime | None:
    """The isi deadline that has passed for this sheet's first Kirim, or ``None`` (may send).

    ``None`` too when the sheet was returned (a correction is always welcome), when late
    sending was already allowed, or when the cycle is not at a running isi visit.
    """
    if ws.status != SheetState.OPEN or ws.late_allowed_at is not None or not run.running:
        return None
    isi = phase_step(run, StepKind.ISI)
    if isi is None:
        return None
    deadline = await deadline_of(ctx, run, isi.id)
    if deadline is None or deadline.done_at is not None or deadline.due_at >= ctx.now:
        return None
    return deadline.due_at


def late_minutes(run: Run, due: datetime, at: datetime) -> int:
    """Office-hours minutes from ``due`` to ``at`` on the office calendar."""
    return calendar_for(run.office.tz, run.office.settings).working_minutes_between(due, at)


async def verifier_title(ctx: Ctx, run: Run, ws: Worksheet) -> str:
    """Who decides this sheet's late sending, as the SOP names them (the Sekcam for a
    planner's own sheet)."""
    found = await verifiers(ctx, run, ws)
    if not found:
        return run.preset.title(Role.PERENCANA)
    return found[0].acting_as or run.preset.title(found[0].person.role)


async def ask(ctx: Ctx, run: Run, ws: Worksheet, due: datetime) -> None:
    """The owner's Kirim after the deadline: ask the verifiers once, tell the owner."""
    pemeriksa = await verifier_title(ctx, run, ws)
    if ws.late_asked_at is not None:
        ctx.reply(texts.render("isi/terlambat_menunggu", pemeriksa=pemeriksa))
        return
    done = await transition(
        ctx,
        run,
        Verb.ASK_LATE,
        ws=ws,
        values={"late_asked_at": ctx.now},
        note=Note(
            "lembar.minta_terlambat",
            subject=f"worksheet:{ws.id}",
            data={"batas": due.isoformat()},
        ),
    )
    if not done.ok:  # a second tap in the same moment: the first one asked
        ctx.reply(texts.render("isi/terlambat_menunggu", pemeriksa=pemeriksa))
        return
    owner = await ctx.session.get(Person, ws.person_id)
    section = await ctx.session.get(Section, ws.section_id)
    text = texts.render(
        "review/minta_terlambat",
        kasi=owner,
        seksi=section,
        periode=run.period,
        batas=due,
        tz=run.office.tz,
        lama=late_minutes(run, due, ctx.now),
    )
    group = sheet_group(ws.id, ws.version)
    args = {"ws": ws.id, "wv": ws.version}
    for actor in await verifiers(ctx, run, ws):
        row = [
            await ctx.button(texts.label(key), action, args, person_id=actor.person.id, group=group)
            for key, action in (
                ("izinkan_terlambat", "lembar.izin_terlambat"),
                ("tolak", "lembar.tolak_terlambat"),
            )
        ]
        ctx.send(actor.person.id, text, [row], group=group)
    ctx.reply(
        texts.render(
            "isi/jendela_tutup",
            periode=run.period,
            batas=due,
            tz=run.office.tz,
            pemeriksa=pemeriksa,
        )
    )


async def _checked(ctx: Ctx, args: dict[str, Any]) -> tuple[Run, Worksheet, Actor] | None:
    """The tapped request, if it still waits and the tapper may decide it."""
    got = await sheet_checked(ctx, args, SheetState.OPEN, verifier_title)
    if got is not None and await window_closed(ctx, got[0], got[1]) is None:
        ctx.refuse(texts.render("review/terlambat_tidak_perlu"))  # extended meanwhile
        return None
    return got


async def on_allow(ctx: Ctx, args: dict[str, Any]) -> None:
    """Izinkan terlambat: the owner may send the sheet now; one transition however tapped."""
    got = await _checked(ctx, args)
    if got is None:
        return
    run, ws, actor = got
    done = await transition(
        ctx,
        run,
        Verb.ALLOW_LATE,
        ws=ws,
        version=args["wv"],
        values={"late_allowed_by": actor.person.id, "late_allowed_at": ctx.now},
        note=Note("lembar.izin_terlambat", subject=f"worksheet:{ws.id}"),
        close=lambda by: texts.render(
            "siklus/catatan_izin_terlambat", oleh=by, waktu=ctx.now, tz=run.office.tz
        ),
    )
    if not done.ok:
        ctx.toast = texts.render("siklus/sudah_diputuskan")
        return
    owner = await ctx.session.get(Person, ws.person_id)
    section = await ctx.session.get(Section, ws.section_id)
    send = await ctx.button(
        texts.label("kirim"), "isi.kirim", {"ws": ws.id}, person_id=ws.person_id
    )
    ctx.send(
        ws.person_id,
        texts.render("review/izin_terlambat_diberikan", oleh=actor, periode=run.period),
        [[send]],
    )
    ctx.reply(texts.render("review/izin_terlambat_ok", orang=owner, seksi=section))


async def on_refuse_ask(ctx: Ctx, args: dict[str, Any]) -> None:
    """Tolak: ask for the reason first; nothing changes until it is given."""
    got = await _checked(ctx, args)
    if got is None:
        return
    _run, ws, _actor = got
    await set_state(ctx, FLOW, {"do": ANSWER, "ws": ws.id, "wv": ws.version})
    owner = await ctx.session.get(Person, ws.person_id)
    ctx.reply(texts.render("review/tanya_alasan_tolak", orang=owner))


async def on_refuse_reason(ctx: Ctx, state: dict[str, Any]) -> None:
    """The reason of a refusal arrived: the sheet is closed unsent and the cycle moves on."""
    assert ctx.inbound is not None
    reason = ctx.inbound.text.strip()
    if len(reason) < 3 or len(reason) > MAX_REASON:
        ctx.reply(texts.render("siklus/alasan_salah", maks=MAX_REASON))
        return
    await clear_state(ctx)
    got = await _checked(ctx, {"ws": state.get("ws"), "wv": state.get("wv")})
    if got is None:  # refused with the reason why (decided, extended, or no right)
        return
    run, ws, _actor = got
    done = await transition(
        ctx,
        run,
        Verb.REFUSE_LATE,
        ws=ws,
        version=state["wv"],
        values={"return_reason": reason},
        note=Note("lembar.tolak_terlambat", subject=f"worksheet:{ws.id}", reason=reason),
        close=lambda by: texts.render(
            "siklus/catatan_tolak_terlambat",
            oleh=by,
            waktu=ctx.now,
            tz=run.office.tz,
            alasan=reason,
        ),
    )
    if done.outcome is not Outcome.DONE or done.actor is None:
        ctx.reply(texts.render("siklus/sudah_diputuskan"))
        return
    section = await ctx.session.get(Section, ws.section_id)
    ctx.send(
        ws.person_id,
        texts.render(
            "review/izin_terlambat_ditolak", oleh=done.actor, periode=run.period, alasan=reason
        ),
    )
    ctx.reply(texts.render("review/tolak_terlambat_ok", seksi=section))
    await progress(ctx, run)


async def sent_late(ctx: Ctx, run: Run, ws: Worksheet) -> tuple[datetime, int] | None:
    """For a Kirim allowed late: the deadline it missed and by how many working minutes."""
    if ws.status != SheetState.OPEN or ws.late_allowed_at is None:
        return None
    isi = phase_step(run, StepKind.ISI)
    deadline = await deadline_of(ctx, run, isi.id) if isi is not None else None
    if deadline is None or deadline.due_at >= ctx.now:
        return None  # extended past now after all: on time
    return deadline.due_at, late_minutes(run, deadline.due_at, ctx.now)


def sent_data(ws: Worksheet, lateness: tuple[datetime, int] | None) -> dict[str, Any]:
    """The ``lembar.kirim`` event's data: for a late sheet, the deadline, minutes, who allowed."""
    if lateness is None:
        return {}
    due, minutes = lateness
    return {
        "tepat_waktu": False,
        "batas": due.isoformat(),
        "terlambat_menit": minutes,
        "diizinkan_oleh": ws.late_allowed_by,
    }
