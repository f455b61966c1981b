"""Corrections after Kirim: a Kasi asks ("Minta ubah"), the sheet's verifier allows or refuses.

Allowed, only the named entry reopens for its Kasi (the sheet goes back as after a return);
sent again, the sheet goes to its verifier as usual. A correction may be asked and allowed
while the figures are still with the planner: up to the rekap step, before the cycle is final.
After that, the rekap must come back (a Kembalikan from the Sekcam / Camat, or ``/bukakembali``
by the planner once final).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from flows.core import texts
from flows.core.context import Ctx, new_token
from flows.core.conversation import clear_state, get_state, set_state
from flows.core.people import Actor
from flows.core.router import Router
from flows.domain.numparse import has_visible_text
from flows.domain.roles import Role
from flows.domain.states import COUNTED, StepKind
from flows.sop.engine import progress
from flows.sop.lifecycle import LostRace, Note, Verb, lock_cycle, transition
from flows.sop.reminder_plan import plan_cycle
from flows.sop.run import Run, as_verifier, load, phase_step, set_deadline, verifiers
from flows.sop.sheet_data import Item, sheet_items
from storage.models import ButtonToken, Cycle, Section, Worksheet

FLOW = "ubah"
MAX_REASON = 500


def register(router: Router) -> None:
    router.action("ubah.minta", on_ask)
    router.action("ubah.pilih", on_pick)
    router.action("ubah.izinkan", on_allow)
    router.action("ubah.tolak", on_refuse)
    router.conversation(FLOW, on_message)


def closed_because(run: Run) -> str | None:
    """``None`` while a correction may be asked and allowed; else the template saying why not."""
    if not run.running or run.cycle.data.get("final"):
        return "ubah/sudah_final"
    last = (
        phase_step(run, StepKind.REKAP)
        or phase_step(run, StepKind.VERIFIKASI)
        or phase_step(run, StepKind.ISI)
    )
    if last is None or run.preset.index(run.cycle.step) > run.preset.index(last.id):
        return "ubah/sudah_di_pimpinan"
    return None


async def offer(ctx: Ctx, ws: Worksheet, cycle: Cycle) -> None:
    """``/isi`` after Kirim: the sheet as sent, with Minta ubah while a correction may be asked."""
    run = await load(ctx, cycle.id)
    assert run is not None
    items = await sheet_items(ctx.session, ws, cycle)
    closed = closed_because(run)
    buttons = []
    if closed is None:
        button = await ctx.button(texts.label("minta_ubah"), "ubah.minta", {"ws": ws.id})
        buttons = [[button]]
    ctx.reply(
        texts.render(
            "ubah/sudah_dikirim",
            periode=run.period,
            items=items,
            figs={i.indicator.id: i.figures() for i in items},
            tutup=texts.render(closed) if closed else "",
        ),
        buttons,
    )


# --- the Kasi asks ---------------------------------------------------------------------------


async def _own(ctx: Ctx, ws_id: Any) -> tuple[Run, Worksheet] | None:
    """The speaker's sent sheet, while a correction may be asked (else answered, ``None``)."""
    ws = await ctx.session.get(Worksheet, int(ws_id or 0))
    run = await load(ctx, ws.cycle_id) if ws is not None else None
    if ws is None or run is None or ctx.person is None or ws.person_id != ctx.person.id:
        ctx.refuse(texts.render("umum/tombol_kedaluwarsa"))
        return None
    if ws.status not in COUNTED:
        ctx.refuse(texts.render("ubah/lembar_terbuka", periode=run.period))
        return None
    closed = closed_because(run)
    if closed is not None:
        ctx.refuse(texts.render(closed))
        return None
    return run, ws


async def on_ask(ctx: Ctx, args: dict[str, Any]) -> None:
    """Minta ubah: choose the indicator to correct."""
    got = await _own(ctx, args.get("ws"))
    if got is None:
        return
    run, ws = got
    items = [i for i in await sheet_items(ctx.session, ws, run.cycle) if i.measured]
    rows = [
        [await ctx.button(i.indicator.kode, "ubah.pilih", {"ws": ws.id, "ind": i.indicator.id})]
        for i in items
    ]
    ctx.reply(texts.render("ubah/pilih_indikator", items=items), rows)


async def on_pick(ctx: Ctx, args: dict[str, Any]) -> None:
    """An indicator chosen: ask why it must change."""
    got = await _own(ctx, args.get("ws"))
    if got is None:
        return
    run, ws = got
    item = await _item(ctx, run, ws, args.get("ind"))
    if item is None:
        ctx.refuse(texts.render("umum/tombol_kedaluwarsa"))
        return
    await set_state(ctx, FLOW, {"do": "alasan", "ws": ws.id, "ind": item.indicator.id})
    ctx.reply(texts.render("ubah/tanya_alasan", item=item, fig=item.figures()))


async def _item(ctx: Ctx, run: Run, ws: Worksheet, ind: Any) -> Item | None:
    items = await sheet_items(ctx.session, ws, run.cycle)
    return next((i for i in items if i.indicator.id == ind and i.measured), None)


def _reason(ctx: Ctx) -> str | None:
    """The typed reason, or ``None`` (answered) when it is empty, too short or too long."""
    assert ctx.inbound is not None
    text = ctx.inbound.text.strip()
    if ctx.inbound.file is not None or not has_visible_text(text):
        ctx.reply(texts.render("siklus/alasan_salah", maks=MAX_REASON))
        return None
    if len(text) < 3 or len(text) > MAX_REASON:
        ctx.reply(texts.render("siklus/alasan_salah", maks=MAX_REASON))
        return None
    return text


async def on_message(ctx: Ctx) -> None:
    """A typed answer while a correction's reason (asking or refusing) is awaited."""
    state = await get_state(ctx, FLOW)
    if state is None:
        return
    if state.get("do") == "tolak":
        await _refused(ctx, state)
    else:
        await _asked(ctx, state)


def _group_prefix(ws_id: int, ind_id: int) -> str:
    return f"ubah{ws_id}i{ind_id}r"


async def _pending(ctx: Ctx, ws_id: int, ind_id: int) -> bool:
    """A request for this entry still waits for its decision."""
    found = await ctx.session.scalar(
        select(ButtonToken.token)
        .where(
            ButtonToken.group_key.like(f"{_group_prefix(ws_id, ind_id)}%"),
            ButtonToken.action == "ubah.izinkan",
            ButtonToken.closed_note == "",
        )
        .limit(1)
    )
    return found is not None


async def _asked(ctx: Ctx, state: dict[str, Any]) -> None:
    reason = _reason(ctx)
    if reason is None:
        return
    got = await _own(ctx, state.get("ws"))
    item = await _item(ctx, got[0], got[1], state.get("ind")) if got else None
    if got is None or item is None:
        await clear_state(ctx)
        return
    run, ws = got
    await clear_state(ctx)
    kode = item.indicator.kode
    if await _pending(ctx, ws.id, item.indicator.id):
        ctx.reply(texts.render("ubah/masih_menunggu", kode=kode))
        return
    group = f"{_group_prefix(ws.id, item.indicator.id)}{new_token()[:6]}"
    args = {"ws": ws.id, "ind": item.indicator.id, "alasan": reason, "g": group}
    section = await ctx.session.get(Section, ws.section_id)
    text = texts.render(
        "ubah/permintaan",
        kasi=ctx.person,
        seksi=section,
        periode=run.period,
        item=item,
        fig=item.figures(),
        alasan=reason,
    )
    deciders = await verifiers(ctx, run, ws)
    for actor in deciders:
        row = [
            await ctx.button(texts.label(key), action, args, person_id=actor.person.id, group=group)
            for key, action in (("izinkan", "ubah.izinkan"), ("tolak", "ubah.tolak"))
        ]
        ctx.send(actor.person.id, text, [row], group=group)
    ctx.log(
        "lembar.minta_ubah",
        office_id=run.office.id,
        cycle_id=run.cycle.id,
        subject=f"worksheet:{ws.id}",
        reason=reason,
        data={"indikator": kode},
    )
    ctx.reply(texts.render("ubah/terkirim", kode=kode, pemeriksa=deciders))


# --- the verifier decides --------------------------------------------------------------------


async def _decider(ctx: Ctx, args: dict[str, Any]) -> tuple[Run, Worksheet, Actor, Item] | None:
    """The request's sheet, its verifier (the speaker) and the entry; else answered, ``None``."""
    ws = await ctx.session.get(Worksheet, int(args.get("ws", 0)))
    run = await load(ctx, ws.cycle_id) if ws is not None else None
    item = await _item(ctx, run, ws, args.get("ind")) if ws and run else None
    if ws is None or run is None or item is None:
        ctx.refuse(texts.render("umum/tombol_kedaluwarsa"))
        return None
    actor = await as_verifier(ctx, run, ws)
    if actor is None:
        ctx.refuse(texts.render("siklus/bukan_wewenang", pelaku=_verifier_title(run)))
        return None
    return run, ws, actor, item


def _verifier_title(run: Run) -> str:
    step = phase_step(run, StepKind.VERIFIKASI) or phase_step(run, StepKind.REKAP)
    return run.preset.title(step.pelaku if step else Role.PERENCANA)


async def _claim(ctx: Ctx, group: str, note: str) -> bool:
    """Decide the request once: close its buttons if nobody has (exactly one decision wins)."""
    done = await ctx.session.execute(
        update(ButtonToken)
        .where(ButtonToken.group_key == group, ButtonToken.closed_note == "")
        .values(closed_note=note)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]  # DML returns a CursorResult


async def on_allow(ctx: Ctx, args: dict[str, Any]) -> None:
    """Izinkan: only the asked entry reopens for its Kasi; the sheet is back with them."""
    got = await _decider(ctx, args)
    if got is None:
        return
    run, ws, actor, item = got
    await lock_cycle(ctx, run)  # a Teruskan of the rekap at the same moment: one wins
    closed = closed_because(run)
    if closed is not None:
        ctx.refuse(texts.render(closed))
        return
    if ws.status not in COUNTED:
        ctx.refuse(texts.render("ubah/lembar_terbuka_pemeriksa"))
        return
    reason, kode = str(args.get("alasan", "")), item.indicator.kode
    note = texts.render("ubah/catatan_diizinkan", oleh=actor, waktu=ctx.now, tz=run.office.tz)
    if not await _claim(ctx, str(args.get("g", "")), note):
        ctx.refuse(texts.render("siklus/sudah_diputuskan"))
        return
    done = await transition(
        ctx,
        run,
        Verb.CORRECT,
        ws=ws,
        values={"return_reason": reason},
        note=Note(
            "lembar.ubah_diizinkan",
            subject=f"worksheet:{ws.id}",
            reason=reason,
            data={"indikator": [kode]},
        ),
    )
    if not done.ok:  # the sheet moved between the check and the claim: start over
        raise LostRace(f"worksheet {ws.id}: correction lost ({done.outcome})")
    for i in await sheet_items(ctx.session, ws, run.cycle):
        i.entry.editable = i is item
        if i is item:
            i.entry.filled = False
    await ctx.close_group(str(args["g"]), note)
    if run.step.jenis not in (StepKind.ISI, StepKind.VERIFIKASI):
        await _back_to_fill(ctx, run, note)
    fix = await ctx.button(
        texts.label("perbaiki_sekarang"), "isi.mulai", {}, person_id=ws.person_id
    )
    ctx.send(
        ws.person_id,
        texts.render("ubah/diizinkan", periode=run.period, kode=kode, oleh=actor, alasan=reason),
        [[fix]],
    )
    ctx.reply(texts.render("ubah/diizinkan_ok", kode=kode))
    await progress(ctx, run)


async def _back_to_fill(ctx: Ctx, run: Run, note: str) -> None:
    """Allowed at the rekap (or a step before it): the cycle goes back to its isi step."""
    await ctx.close_group(run.group, note)
    isi = phase_step(run, StepKind.ISI)
    assert isi is not None
    await transition(ctx, run, Verb.ENTER, step=isi.id)
    await set_deadline(ctx, run, isi)
    await plan_cycle(ctx, run)


async def on_refuse(ctx: Ctx, args: dict[str, Any]) -> None:
    """Tolak: ask for the reason of the refusal."""
    got = await _decider(ctx, args)
    if got is None:
        return
    _run, _ws, _actor, item = got
    await set_state(ctx, FLOW, {"do": "tolak", **args})
    ctx.reply(texts.render("ubah/tanya_alasan_tolak", kode=item.indicator.kode))


async def _refused(ctx: Ctx, state: dict[str, Any]) -> None:
    reason = _reason(ctx)
    if reason is None:
        return
    got = await _decider(ctx, state)
    if got is None:
        await clear_state(ctx)
        return
    run, ws, actor, item = got
    await clear_state(ctx)
    kode = item.indicator.kode
    note = texts.render(
        "ubah/catatan_ditolak", oleh=actor, waktu=ctx.now, tz=run.office.tz, alasan=reason
    )
    if not await _claim(ctx, str(state.get("g", "")), note):
        ctx.reply(texts.render("siklus/sudah_diputuskan"))
        return
    await ctx.close_group(str(state["g"]), note)
    ctx.log(
        "lembar.ubah_ditolak",
        office_id=run.office.id,
        cycle_id=run.cycle.id,
        subject=f"worksheet:{ws.id}",
        reason=reason,
        data={"indikator": kode, "permintaan": state.get("alasan", "")},
        acting_as=actor.acting_as,
    )
    ctx.send(
        ws.person_id,
        texts.render("ubah/ditolak", periode=run.period, kode=kode, oleh=actor, alasan=reason),
    )
    ctx.reply(texts.render("ubah/ditolak_ok", kode=kode))
