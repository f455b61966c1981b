"""rapat / arahan / metode / analisis: the actor types something, then the cycle moves.

A meeting (rapat, arahan) asks its date, time and place and invites its participants; a
method or an analysis is one text (an analysis may be skipped with Lewati).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flows.core import texts
from flows.core.context import Ctx
from flows.core.conversation import clear_state, set_state
from flows.core.people import local_date
from flows.domain.office_settings import calendar_for
from flows.domain.roles import Role
from flows.domain.states import MEETINGS, StepKind
from flows.sop.card import ButtonSpec, checked, current, finish_step, on_next, to_actors
from flows.sop.kind import FLOW, Kind
from flows.sop.preset import Step
from flows.sop.run import Run, role_holders
from flows.sop.step_talk import MAX_TEXT, parse_date, parse_time

ANSWER = "tulis"


async def enter(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    body = texts.render("siklus/minta_tulis", jenis=step.jenis)
    buttons: list[ButtonSpec] = [
        ("atur_rapat" if step.jenis in MEETINGS else "tulis", "sop.tulis", {})
    ]
    if step.jenis == StepKind.ANALISIS:
        buttons.append(("lewati", "sop.lanjut", {}))
    await to_actors(ctx, run, step, body, buttons, returned)


async def on_write_ask(ctx: Ctx, args: dict[str, Any]) -> None:
    """Atur rapat / Tulis: start the short conversation of a rapat, metode or analisis step."""
    got = await checked(ctx, args)
    if got is None:
        return
    run, _actor = got
    jenis = run.step.jenis
    first = "tanggal" if jenis in MEETINGS else "teks"
    await set_state(
        ctx,
        FLOW,
        {"do": ANSWER, "c": run.cycle.id, "v": args["v"], "s": run.step.id, "ask": first},
    )
    ctx.reply(texts.render(f"siklus/tanya_{first}", jenis=jenis))


async def on_answer(ctx: Ctx, state: dict[str, Any]) -> None:
    """One typed answer: the date, the time, the place, or the text."""
    run = await current(ctx, state)
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

    async def save(ctx: Ctx, run: Run, step: Step) -> None:
        if ask == "tempat":
            meeting = {"tanggal": state["tanggal"], "jam": state["jam"], "tempat": text}
            run.cycle.data = {**run.cycle.data, jenis: meeting}
            await _invite(ctx, run, meeting)
        else:
            run.cycle.data = {**run.cycle.data, jenis: text}
            ctx.reply(texts.render("siklus/tersimpan", jenis=jenis))

    # The answer is complete: end the question, claim the visit, save, and move on.
    await clear_state(ctx)
    await finish_step(
        ctx, run, state["v"], "langkah.selesai", "catatan_selesai", then=save, answer=True
    )


async def _invite(ctx: Ctx, run: Run, meeting: dict[str, str]) -> None:
    step = run.step
    roles = step.peserta or (
        run.preset.pengisi if step.jenis == StepKind.RAPAT else (Role.PERENCANA,)
    )
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


KIND = Kind(
    names=(StepKind.RAPAT, StepKind.ARAHAN, StepKind.METODE, StepKind.ANALISIS),
    enter=enter,
    taps={"sop.tulis": on_write_ask, "sop.lanjut": on_next},
    answers={ANSWER: on_answer},
)
