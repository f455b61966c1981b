"""Typed answers inside the SOP: a return's reason, a meeting's date/time/place, a method text."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flows.core import texts
from flows.core.context import Ctx
from flows.core.conversation import clear_state, get_state, set_state
from flows.core.people import Actor, local_date
from flows.setup.office_file import calendar_for
from flows.sop import review as sheet_review
from flows.sop.engine import Run, authority, claim, go_back, load, role_holders
from flows.sop.steps import FLOW, finish_step

MAX_TEXT = 2000
MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("januari", "jan"),
            ("februari", "feb", "pebruari"),
            ("maret", "mar"),
            ("april", "apr"),
            ("mei",),
            ("juni", "jun"),
            ("juli", "jul"),
            ("agustus", "agu", "agt", "ags"),
            ("september", "sep", "sept"),
            ("oktober", "okt"),
            ("november", "nov", "nop"),
            ("desember", "des"),
        ),
        start=1,
    )
    for m in names
}
_DATE_NUM = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})$")
_DATE_WORD = re.compile(r"^(?:[a-z']+,?\s+)?(\d{1,2})\s+([a-z]+)\s+(\d{4})$")
_TIME = re.compile(r"^(?:pukul\s+|jam\s+)?(\d{1,2})(?:[.:](\d{2}))?(?:\s*(wib|wita|wit))?$")


def parse_date(text: str) -> date | None:
    """ "12-10-2026", "12/10/2026", "12 Oktober 2026", "Senin, 12 Okt 2026"."""
    t = " ".join(text.strip().lower().split())
    m = _DATE_NUM.match(t)
    if m:
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _DATE_WORD.match(t)
        if not m or m[2] not in MONTHS:
            return None
        d, mo, y = int(m[1]), MONTHS[m[2]], int(m[3])
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def parse_time(text: str) -> str | None:
    """ "09.00", "9:30", "pukul 13.00 WIB" → "09.00"; None if not a time of day."""
    m = _TIME.match(" ".join(text.strip().lower().split()))
    if not m:
        return None
    h, mi = int(m[1]), int(m[2] or 0)
    if h > 23 or mi > 59:
        return None
    return f"{h:02d}.{mi:02d}"


async def on_message(ctx: Ctx) -> None:
    state = await get_state(ctx, FLOW)
    assert state is not None and ctx.inbound is not None
    if ctx.inbound.file is not None:
        ctx.reply(texts.render("siklus/ketik_saja"))
        return
    if state["do"] == "kembalikan_lembar":
        await sheet_review.on_reason(ctx, state)
    elif state["do"] == "kembalikan":
        await _return_step(ctx, state)
    elif state["do"] == "tulis":
        await _write(ctx, state)


async def _current(ctx: Ctx, state: dict[str, Any]) -> Run | None:
    """The cycle is still at the visit the question was asked for; else the question dies."""
    run = await load(ctx, int(state["c"]))
    if (
        run is None
        or run.cycle.status != "running"
        or run.cycle.version != state["v"]
        or run.cycle.step != state["s"]
    ):
        await clear_state(ctx)
        ctx.reply(texts.render("siklus/sudah_diputuskan"))
        return None
    return run


async def _take(ctx: Ctx, run: Run, state: dict[str, Any]) -> Actor | None:
    """The answer is complete: end the question and claim the move; None (and why) if not."""
    await clear_state(ctx)
    actor = await authority(ctx, run, run.step)
    if actor is None:
        ctx.reply(texts.render("siklus/bukan_wewenang", pelaku=run.preset.actor_title(run.step.id)))
        return None
    if not await claim(ctx, run, state["v"]):
        ctx.reply(texts.render("siklus/sudah_diputuskan"))
        return None
    return actor


async def _return_step(ctx: Ctx, state: dict[str, Any]) -> None:
    run = await _current(ctx, state)
    if run is None:
        return
    reason = ctx.inbound.text.strip() if ctx.inbound else ""
    if len(reason) < 3 or len(reason) > sheet_review.MAX_REASON:
        ctx.reply(texts.render("siklus/alasan_salah", maks=sheet_review.MAX_REASON))
        return
    target = run.preset.return_target(run.step.id)
    assert target is not None  # telaah / sahkan always name kembali_ke (flows/sop/preset.py checks)
    actor = await _take(ctx, run, state)
    if actor is None:
        return
    step = run.step
    ctx.log(
        "langkah.kembalikan",
        office_id=run.office.id,
        cycle_id=run.cycle.id,
        subject=step.id,
        reason=reason,
        data={"step": step.id, "ke": target.id},
        acting_as=actor.acting_as,
    )
    await ctx.close_group(
        f"c{run.cycle.id}v{state['v']}",
        texts.render(
            "siklus/catatan_dikembalikan",
            oleh=actor,
            waktu=ctx.now,
            tz=run.office.tz,
            alasan=reason,
        ),
    )
    ctx.reply(texts.render("siklus/dikembalikan_ke", ke=run.preset.actor_title(target.id)))
    await go_back(ctx, run, target, actor, reason)


async def _write(ctx: Ctx, state: dict[str, Any]) -> None:
    run = await _current(ctx, state)
    if run is None:
        return
    text = ctx.inbound.text.strip() if ctx.inbound else ""
    ask = state["ask"]
    jenis = run.step.jenis
    if not text or len(text) > MAX_TEXT:
        ctx.reply(
            texts.render("isi/teks_terlalu_panjang", maks=MAX_TEXT)
            if text
            else texts.render(f"siklus/tanya_{ask}", jenis=jenis)
        )
        return
    if ask == "tanggal":
        day = parse_date(text)
        cal = calendar_for(run.office.tz, run.office.settings)
        if day is None:
            ctx.reply(texts.render("siklus/tanggal_salah"))
            return
        if day < local_date(run.office, ctx.now) or not cal.is_working_day(day):
            ctx.reply(
                texts.render("siklus/tanggal_tidak_bisa", tanggal=day, libur=cal.holiday_name(day))
            )
            return
        await set_state(ctx, FLOW, {**state, "ask": "jam", "tanggal": day.isoformat()})
        ctx.reply(texts.render("siklus/tanya_jam", jenis=jenis))
        return
    if ask == "jam":
        clock = parse_time(text)
        if clock is None:
            ctx.reply(texts.render("siklus/jam_salah"))
            return
        await set_state(ctx, FLOW, {**state, "ask": "tempat", "jam": clock})
        ctx.reply(texts.render("siklus/tanya_tempat", jenis=jenis))
        return
    actor = await _take(ctx, run, state)
    if actor is None:
        return
    if ask == "tempat":
        meeting = {"tanggal": state["tanggal"], "jam": state["jam"], "tempat": text}
        run.cycle.data = {**run.cycle.data, jenis: meeting}
        await _invite(ctx, run, meeting)
    else:
        run.cycle.data = {**run.cycle.data, jenis: text}
        ctx.reply(texts.render("siklus/tersimpan", jenis=jenis))
    await finish_step(ctx, run, actor, "langkah.selesai", "catatan_selesai")


async def _invite(ctx: Ctx, run: Run, meeting: dict[str, str]) -> None:
    step = run.step
    roles = step.peserta or (run.preset.pengisi if step.jenis == "rapat" else ("perencana",))
    invited: dict[int, Any] = {}
    for role in roles:
        for a in await role_holders(ctx, run, role):
            invited[a.person.id] = a.person
    text = texts.render(
        "siklus/undangan_rapat",
        jenis=step.jenis,
        periode=run.period,
        tanggal=date.fromisoformat(meeting["tanggal"]),
        jam=meeting["jam"],
        tempat=meeting["tempat"],
        tz=run.office.tz,
        pengundang=ctx.person,
    )
    for pid in invited:
        if ctx.person is None or pid != ctx.person.id:
            ctx.send(pid, text)
    ctx.reply(texts.render("siklus/undangan_terkirim", jumlah=len(invited)))
