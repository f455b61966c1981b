"""The Kasi's worksheet conversation (/isi): indicator by indicator, then Kirim."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from flows.chat import correction
from flows.core import texts
from flows.core.context import Ctx
from flows.core.conversation import clear_state, get_state, set_state
from flows.core.messages import Outbound
from flows.core.router import Router
from flows.domain.capaian import is_sedang_or_below
from flows.domain.limits import evidence_allowed
from flows.domain.measure import amount_from_sd
from flows.domain.numparse import has_visible_text, parse_number
from flows.domain.periods import Period
from flows.domain.roles import Role
from flows.domain.states import FILLABLE, CycleState, EntryState, SheetState
from flows.setup.office_file import kumulatif_entry
from flows.sop import late, rekap_view, value_history
from flows.sop import review as sheet_review
from flows.sop.evidence import without_evidence
from flows.sop.lifecycle import Verb, transition
from flows.sop.preset import load_cycle_preset
from flows.sop.run import load
from flows.sop.sheet_data import Item, active_sheet, sheet_items, sheet_with_cycle
from storage.models import Cycle, Office, StoredFile, Worksheet

FLOW = "isi"
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TEXT = 1000


def register(router: Router) -> None:
    router.command("isi", cmd_isi)
    router.command("batal", cmd_batal)
    router.conversation(FLOW, on_message)
    router.action("isi.mulai", lambda ctx, _args: cmd_isi(ctx))
    router.action("isi.ya", on_confirm)
    router.action("isi.bukan", on_reject)
    router.action("isi.lewati", on_skip)
    router.action("isi.kirim", on_submit)
    router.action("isi.ubah", on_edit)
    router.action("isi.pilih", on_pick)
    router.action("isi.tetap", on_keep)
    router.action("isi.hapus", on_clear)


# --- entry points ---------------------------------------------------------------


async def cmd_isi(ctx: Ctx) -> None:
    """The Kasi sees their indicators with status, then is walked through the next one."""
    assert ctx.person is not None
    found = await active_sheet(ctx.session, ctx.person.id)
    if found is None:
        ctx.reply(texts.render("isi/tidak_ada"))
        return
    ws, cycle = found
    if ws.status not in FILLABLE:
        if ws.status == SheetState.CLOSED:
            ctx.reply(_not_fillable(ws, cycle))  # late sending refused: nothing to correct
        else:
            await correction.offer(ctx, ws, cycle)  # sent: a value changes only by a correction
        return
    items = await sheet_items(ctx.session, ws, cycle)
    ctx.reply(texts.render("isi/daftar", items=items, periode=Period.from_key(cycle.period_key)))
    await _window_notice(ctx, ws, cycle)
    await _advance(ctx, ws, items, mode="urut")


async def cmd_batal(ctx: Ctx) -> None:
    """Cancel the question being asked; saved answers stay."""
    flow = await clear_state(ctx)
    ctx.reply(texts.render("isi/batal" if flow else "umum/tidak_ada_yang_dibatalkan"))


async def on_message(ctx: Ctx) -> None:
    """A text or a file while a worksheet question is open."""
    loaded = await _load(ctx)
    if loaded is None:
        return
    state, ws, item = loaded
    inbound = ctx.inbound
    assert inbound is not None
    step = state["step"]
    if step == "bukti":
        if inbound.file is None:
            ctx.reply(texts.render("isi/minta_bukti_lagi"))
            return
        await _save_evidence(ctx, item, state)
        return
    if inbound.file is not None:
        ctx.reply(texts.render("isi/bukan_saatnya_bukti"))
        return
    if inbound.other:  # a voice note, sticker, location ...: ask the same question again
        await _ask_again(ctx, state, ws, item, step)
        return
    text = inbound.text.strip()
    if step in ("nilai", "pembilang", "penyebut"):
        await _answer_number(ctx, state, ws, item, step, text)
    elif step == "konfirmasi":
        await _answer_number(ctx, state, ws, item, state["field"], text)
    elif step in ("kendala", "upaya"):
        if not has_visible_text(text):  # blank or invisible-only: ask again
            await _ask_again(ctx, state, ws, item, step)
            return
        if len(text) > MAX_TEXT:
            ctx.reply(texts.render("isi/teks_terlalu_panjang", maks=MAX_TEXT))
            return
        field = "keterangan" if step == "kendala" else "upaya"
        await value_history.change(ctx, item.entry, field, text)
        item.entry.updated_at = ctx.now
        await _after_text(ctx, state, ws, item, step)
    else:
        ctx.reply(texts.render("isi/pakai_tombol"))


async def _ask_again(ctx: Ctx, state: dict[str, Any], ws: Worksheet, item: Item, step: str) -> None:
    """Repeat the open question, changing nothing."""
    if step in ("nilai", "pembilang", "penyebut"):
        await _ask_field(ctx, state, item, step, again=True)
    elif step in ("kendala", "upaya"):
        await _ask_optional(ctx, state, ws, item, step)
    else:
        ctx.reply(texts.render("isi/pakai_tombol"))


# --- buttons --------------------------------------------------------------------


async def on_confirm(ctx: Ctx, args: dict[str, Any]) -> None:
    loaded = await _load(ctx, expect=args, step="konfirmasi")
    if loaded is None:
        return
    state, ws, item = loaded
    _drop_buttons(ctx)
    await _accept_number(ctx, state, ws, item, state["field"], Decimal(state["value"]))


async def on_reject(ctx: Ctx, args: dict[str, Any]) -> None:
    loaded = await _load(ctx, expect=args, step="konfirmasi")
    if loaded is None:
        return
    state, ws, item = loaded
    _drop_buttons(ctx)
    await _ask_field(ctx, state, item, state["field"], again=True)


async def on_skip(ctx: Ctx, args: dict[str, Any]) -> None:
    loaded = await _load(ctx, expect=args, step=args.get("step", ""))
    if loaded is None:
        return
    state, ws, item = loaded
    _drop_buttons(ctx)
    if state["step"] == "bukti":
        await _next_after_item(ctx, state, ws)
    else:
        await _after_text(ctx, state, ws, item, state["step"])


async def on_keep(ctx: Ctx, args: dict[str, Any]) -> None:
    """Pertahankan: the kendala / upaya written before stays."""
    await on_skip(ctx, args)


async def on_clear(ctx: Ctx, args: dict[str, Any]) -> None:
    """Hapus: the kendala / upaya written before no longer holds."""
    loaded = await _load(ctx, expect=args, step=args.get("step", ""))
    if loaded is None:
        return
    state, ws, item = loaded
    _drop_buttons(ctx)
    if state["step"] == "kendala":
        await value_history.change(ctx, item.entry, "keterangan", "")
    elif state["step"] == "upaya":
        await value_history.change(ctx, item.entry, "upaya", "")
    item.entry.updated_at = ctx.now
    await _after_text(ctx, state, ws, item, state["step"])


async def on_submit(ctx: Ctx, args: dict[str, Any]) -> None:
    """Kirim: the sheet goes to the planner; one transition however often it is tapped."""
    ws = await _own_sheet(ctx, args)
    if ws is None:
        return
    cycle = await ctx.session.get(Cycle, ws.cycle_id)
    assert cycle is not None and ctx.person is not None
    items = await sheet_items(ctx.session, ws, cycle)
    missing = [i for i in items if i.measured and i.state is EntryState.EMPTY]
    if missing:
        ctx.reply(texts.render("isi/belum_lengkap", items=missing))
        return
    lacking = await without_evidence(ctx.session, items)
    if lacking:  # refused, naming them; the first one's evidence is asked for at once
        ctx.reply(texts.render("isi/bukti_wajib", items=lacking))
        state = {"ws": ws.id, "ind": lacking[0].indicator.id, "mode": "ubah"}
        await _ask_optional(ctx, state, ws, lacking[0], "bukti")
        return
    run = await load(ctx, cycle.id)
    assert run is not None
    due = await late.window_closed(ctx, run, ws)
    if due is not None:  # the filling window closed: the verifier is asked, nothing is sent
        await late.ask(ctx, run, ws, due)
        return
    lateness = await late.sent_late(ctx, run, ws)
    line = rekap_view.stored_line(items, Period.from_key(cycle.period_key).last_quarter)
    done = await transition(
        ctx,
        run,
        Verb.SUBMIT,
        ws=ws,
        # whoever returned it did not verify what is sent now
        values={
            "submitted_at": ctx.now,
            "reviewed_by": None,
            "reviewed_at": None,
            "late_minutes": lateness[1] if lateness else ws.late_minutes,
            # its line of the rekap summary, as sent (no reading of every sheet at the rekap)
            "summary": line,
        },
    )
    if not done.ok:
        ctx.toast = texts.render("isi/sudah_dikirim", periode=Period.from_key(cycle.period_key))
        return
    for item in items:
        item.entry.editable = False
    await clear_state(ctx)
    await ctx.close_group(f"isi:{ws.id}", texts.render("isi/catatan_terkirim", waktu=ctx.now))
    periode = Period.from_key(cycle.period_key)
    ctx.log(
        "lembar.kirim",
        cycle_id=cycle.id,
        subject=f"worksheet:{ws.id}",
        data=late.sent_data(ws, lateness),
    )
    reviewer = load_cycle_preset(cycle.preset, cycle.preset_snapshot).title(Role.PERENCANA)
    ctx.reply(texts.render("isi/terkirim", periode=periode, pemeriksa=reviewer))
    await sheet_review.sheet_submitted(ctx, ws, cycle, items)


async def on_edit(ctx: Ctx, args: dict[str, Any]) -> None:
    """Ubah: pick the indicator to change."""
    ws = await _own_sheet(ctx, args)
    if ws is None:
        return
    cycle = await ctx.session.get(Cycle, ws.cycle_id)
    assert cycle is not None
    items = [
        i for i in await sheet_items(ctx.session, ws, cycle) if i.measured and i.entry.editable
    ]
    group = f"isi:{ws.id}"
    rows = [
        [
            await ctx.button(
                f"{i.indicator.kode}",
                "isi.pilih",
                {"ws": ws.id, "ind": i.indicator.id},
                group=group,
            )
        ]
        for i in items
    ]
    await set_state(ctx, FLOW, {"ws": ws.id, "ind": None, "step": "pilih", "mode": "ubah"})
    ctx.reply(texts.render("isi/pilih_indikator", items=items), rows, group=group)


async def on_pick(ctx: Ctx, args: dict[str, Any]) -> None:
    ws = await _own_sheet(ctx, args)
    if ws is None:
        return
    cycle = await ctx.session.get(Cycle, ws.cycle_id)
    assert cycle is not None
    items = await sheet_items(ctx.session, ws, cycle)
    item = next((i for i in items if i.indicator.id == args.get("ind")), None)
    if item is None or not item.entry.editable or not item.measured:
        ctx.refuse(texts.render("umum/tombol_kedaluwarsa"))
        return
    await _ask_value(ctx, ws, item, mode="ubah")


# --- steps ----------------------------------------------------------------------


async def _advance(ctx: Ctx, ws: Worksheet, items: list[Item], mode: str) -> None:
    nxt = next((i for i in items if i.measured and i.entry.editable and not i.entry.filled), None)
    if nxt is not None and mode == "urut":
        await _ask_value(ctx, ws, nxt, mode)
    else:
        await _summary(ctx, ws, items)


async def _sd_entry(ctx: Ctx, ws: Worksheet) -> bool:
    """True when the office answers ``kumulatif`` indicators with the total s.d. TW."""
    cycle = await ctx.session.get(Cycle, ws.cycle_id)
    office = await ctx.session.get(Office, cycle.office_id) if cycle else None
    return office is not None and kumulatif_entry(office.settings or {}) == "sd"


async def _ask_value(ctx: Ctx, ws: Worksheet, item: Item, mode: str) -> None:
    field = "pembilang" if item.indicator.aggregation == "rasio" else "nilai"
    state: dict[str, Any] = {"ws": ws.id, "ind": item.indicator.id, "step": field, "mode": mode}
    if item.kumulatif and await _sd_entry(ctx, ws):
        state["sd"] = True
    if item.entry.realisasi is not None:  # a value being corrected: remember its predikat
        state["lama"] = item.figures().predikat or ""
    await set_state(ctx, FLOW, state)
    ctx.reply(texts.render("isi/kartu", item=item, fig=item.figures(), sd=bool(state.get("sd"))))
    await _ask_field(ctx, state, item, field)


async def _ask_field(
    ctx: Ctx, state: dict[str, Any], item: Item, field: str, again: bool = False
) -> None:
    state = {**state, "step": field}
    state.pop("value", None)
    await set_state(ctx, FLOW, state)
    ctx.reply(texts.render(f"isi/tanya_{field}", item=item, ulang=again, sd=bool(state.get("sd"))))


async def _answer_number(
    ctx: Ctx, state: dict[str, Any], ws: Worksheet, item: Item, field: str, text: str
) -> None:
    parsed = parse_number(text)
    if parsed.value is None:
        ctx.reply(texts.render("isi/angka_salah", teks=text[:40], alasan=parsed.error))
        await _ask_field(ctx, state, item, field, again=True)
        return
    if parsed.ambiguous:
        new = {**state, "step": "konfirmasi", "field": field, "value": str(parsed.value)}
        await set_state(ctx, FLOW, new)
        expect = {"ws": ws.id, "ind": item.indicator.id, "value": str(parsed.value)}
        buttons = [
            [
                await ctx.button(texts.label("ya"), "isi.ya", expect),
                await ctx.button(texts.label("bukan"), "isi.bukan", expect),
            ]
        ]
        ctx.reply(texts.render("isi/konfirmasi_angka", teks=text, nilai=parsed.value), buttons)
        return
    await _accept_number(ctx, state, ws, item, field, parsed.value)


async def _accept_number(
    ctx: Ctx, state: dict[str, Any], ws: Worksheet, item: Item, field: str, value: Decimal
) -> None:
    entry = item.entry
    if field == "pembilang":
        await _ask_field(ctx, {**state, "pembilang": str(value)}, item, "penyebut")
        return
    if field == "penyebut":
        numerator = Decimal(state["pembilang"])
        if value == 0:
            ctx.reply(texts.render("isi/penyebut_nol"))
            await _ask_field(ctx, state, item, "penyebut", again=True)
            return
        if numerator > value:
            ctx.reply(
                texts.render("isi/pembilang_lebih_besar", pembilang=numerator, penyebut=value)
            )
            await _ask_field(ctx, state, item, "pembilang", again=True)
            return
        await value_history.change(ctx, entry, "numerator", numerator)
        await value_history.change(ctx, entry, "denominator", value)
        await value_history.change(ctx, entry, "realisasi", numerator / value * 100)
    elif item.kumulatif and state.get("sd"):
        amount = amount_from_sd(value, item.sd_before)
        if amount is None:  # a total s.d. TW cannot fall: ask again, store nothing
            ctx.reply(texts.render("isi/sd_lebih_kecil", item=item, nilai=value))
            await _ask_field(ctx, state, item, field, again=True)
            return
        await value_history.change(ctx, entry, "realisasi", amount)
    else:
        await value_history.change(ctx, entry, "realisasi", value)
    entry.filled = True
    entry.updated_at = ctx.now
    fig = item.figures()
    changed = "lama" in state and (state["lama"] or None) != fig.predikat
    ctx.reply(texts.render("isi/capaian", item=item, fig=fig, berubah=changed))
    await _ask_optional(ctx, {**state, "pembilang": None}, ws, item, "kendala")


async def _ask_optional(
    ctx: Ctx, state: dict[str, Any], ws: Worksheet, item: Item, step: str
) -> None:
    new = {k: v for k, v in state.items() if k not in ("field", "value", "pembilang")}
    new["step"] = step
    await set_state(ctx, FLOW, new)
    args = {"ws": ws.id, "ind": item.indicator.id, "step": step}
    written = {"kendala": item.entry.keterangan, "upaya": item.entry.upaya}.get(step, "")
    if written:  # what was written before is shown: keep it, clear it, or type anew
        buttons = [
            await ctx.button(texts.label("pertahankan"), "isi.tetap", args),
            await ctx.button(texts.label("hapus"), "isi.hapus", args),
        ]
    else:
        buttons = [await ctx.button(texts.label("lewati"), "isi.lewati", args)]
    ctx.reply(texts.render(f"isi/tanya_{step}", item=item, tertulis=written), [buttons])


async def _after_text(
    ctx: Ctx, state: dict[str, Any], ws: Worksheet, item: Item, step: str
) -> None:
    """After kendala comes upaya (only when capaian is Sedang or below), then bukti.

    An upaya written for an earlier, lower capaian is dropped when the new one needs none.
    """
    if step == "kendala" and is_sedang_or_below(item.figures().predikat, item.scale):
        await _ask_optional(ctx, state, ws, item, "upaya")
        return
    if step == "kendala" and item.entry.upaya:
        await value_history.change(ctx, item.entry, "upaya", "")
        item.entry.updated_at = ctx.now
    await _ask_optional(ctx, state, ws, item, "bukti")


async def _save_evidence(ctx: Ctx, item: Item, state: dict[str, Any]) -> None:
    inbound = ctx.inbound
    assert inbound is not None and inbound.file is not None
    f = inbound.file
    if not evidence_allowed(f.file_name, f.mime):
        ctx.reply(texts.render("isi/jenis_berkas_ditolak"))
        return
    if f.size > MAX_FILE_BYTES or not f.content:
        ctx.reply(texts.render("isi/berkas_terlalu_besar", maks_mb=MAX_FILE_BYTES // 2**20))
        return
    ctx.session.add(
        StoredFile(
            entry_id=item.entry.id,
            kind=f.kind,
            file_name=f.file_name[:200],
            caption=inbound.text.strip()[:MAX_TEXT],
            mime=f.mime,
            size=len(f.content),
            sha256=hashlib.sha256(f.content).hexdigest(),
            channel=inbound.channel,
            channel_file_id=f.channel_file_id,
            content=f.content,
            created_at=ctx.now,
        )
    )
    await value_history.evidence_added(ctx, item.entry, f.file_name[:200])
    ctx.reply(texts.render("isi/bukti_diterima", nama=f.file_name))
    ws = await ctx.session.get(Worksheet, state["ws"])
    assert ws is not None
    await _next_after_item(ctx, state, ws)


async def _next_after_item(ctx: Ctx, state: dict[str, Any], ws: Worksheet) -> None:
    cycle = await ctx.session.get(Cycle, ws.cycle_id)
    assert cycle is not None
    items = await sheet_items(ctx.session, ws, cycle)
    await _advance(ctx, ws, items, mode=state.get("mode", "urut"))


async def _summary(ctx: Ctx, ws: Worksheet, items: list[Item]) -> None:
    group = f"isi:{ws.id}"
    await set_state(ctx, FLOW, {"ws": ws.id, "ind": None, "step": "ringkasan", "mode": "ubah"})
    buttons = [
        [
            await ctx.button(texts.label("kirim"), "isi.kirim", {"ws": ws.id}, group=group),
            await ctx.button(texts.label("ubah"), "isi.ubah", {"ws": ws.id}, group=group),
        ]
    ]
    ctx.reply(
        texts.render(
            "isi/ringkasan", items=items, figs={i.indicator.id: i.figures() for i in items}
        ),
        buttons,
        group=group,
    )


# --- checks ---------------------------------------------------------------------


async def _load(
    ctx: Ctx, expect: dict[str, Any] | None = None, step: str = ""
) -> tuple[dict[str, Any], Worksheet, Item] | None:
    """The open question, if it is still the one this message or button answers."""
    assert ctx.person is not None
    state = await get_state(ctx, FLOW)
    stale = state is None or state.get("ind") is None
    if not stale and expect is not None:
        assert state is not None
        stale = (
            state.get("ws") != expect.get("ws")
            or state.get("ind") != expect.get("ind")
            or (step and state.get("step") != step)
            or ("value" in expect and state.get("value") != expect["value"])
        )
    if stale:
        if expect is not None:
            ctx.toast = texts.render("umum/tombol_kedaluwarsa")
        ctx.reply(texts.render("umum/tombol_kedaluwarsa" if expect else "isi/ketik_isi"))
        return None
    assert state is not None
    ws, cycle = await sheet_with_cycle(ctx.session, state["ws"])
    if (
        ws is None
        or cycle is None
        or ws.status not in FILLABLE
        or cycle.status != CycleState.RUNNING
    ):
        await clear_state(ctx)
        ctx.reply(texts.render("isi/tidak_ada"))
        return None
    items = await sheet_items(ctx.session, ws, cycle)
    item = next((i for i in items if i.indicator.id == state["ind"]), None)
    if item is None or not item.entry.editable:
        await clear_state(ctx)
        ctx.reply(texts.render("isi/ketik_isi"))
        return None
    return state, ws, item


async def _own_sheet(ctx: Ctx, args: dict[str, Any]) -> Worksheet | None:
    assert ctx.person is not None
    ws, _cycle = await sheet_with_cycle(ctx.session, args.get("ws"))
    if ws is None or ws.person_id != ctx.person.id:
        ctx.refuse(texts.render("umum/tombol_kedaluwarsa"))
        return None
    if ws.status not in FILLABLE:
        cycle = await ctx.session.get(Cycle, ws.cycle_id)
        assert cycle is not None
        ctx.refuse(_not_fillable(ws, cycle))
        return None
    return ws


def _not_fillable(ws: Worksheet, cycle: Cycle) -> str:
    """Why a sheet cannot be filled: sent already, or closed (late sending refused)."""
    name = "isi/lembar_ditutup" if ws.status == SheetState.CLOSED else "isi/sudah_dikirim"
    return texts.render(name, periode=Period.from_key(cycle.period_key))


async def _window_notice(ctx: Ctx, ws: Worksheet, cycle: Cycle) -> None:
    """After the isi deadline, /isi says at once that Kirim will need permission."""
    if ws.status != SheetState.OPEN or ws.late_allowed_at is not None:
        return  # a returned sheet, or late sending allowed: nothing to say
    run = await load(ctx, cycle.id)
    due = await late.window_closed(ctx, run, ws) if run is not None else None
    if run is not None and due is not None:
        pemeriksa = await late.verifier_title(ctx, run, ws)
        ctx.reply(
            texts.render("isi/jendela_tutup_info", batas=due, tz=run.office.tz, pemeriksa=pemeriksa)
        )


def _drop_buttons(ctx: Ctx) -> None:
    """Take the buttons off the tapped message, so it cannot be tapped twice."""
    if ctx.inbound and ctx.inbound.message_ref and ctx.person:
        ctx.out.append(
            Outbound(
                text="",
                person_id=ctx.person.id,
                edit_of=f"msg:{ctx.inbound.message_ref}",
            )
        )
