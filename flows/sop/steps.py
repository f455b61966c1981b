"""What each kind of step asks of its actor, and the taps that complete it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flows.core import texts
from flows.core.context import Ctx
from flows.core.conversation import set_state
from flows.core.messages import Button
from flows.core.people import Actor
from flows.domain.periods import Period
from flows.sop import documents
from flows.sop.engine import (
    Run,
    advance,
    authority,
    claim,
    deadline_of,
    hand_out_once,
    load,
    preview,
    progress,
    role_holders,
    step_actors,
    worksheets,
)
from flows.sop.preset import Step
from flows.sop.rekap_view import section_summaries

FLOW = "sop"

Announce = Callable[[Ctx, Run, Step, dict[str, str]], Awaitable[None]]


# --- announcing a step to its actors -------------------------------------------------------


async def announce(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    await _ANNOUNCE[step.jenis](ctx, run, step, returned)


async def _to_actors(
    ctx: Ctx,
    run: Run,
    step: Step,
    body: str,
    buttons: list[tuple[str, str, dict[str, Any]]],
    returned: dict[str, str],
) -> list[Actor]:
    """Send the step's card with its buttons to everyone who may act at it."""
    deadline = await deadline_of(ctx, run, step.id)
    head = texts.render(
        "siklus/langkah",
        periode=run.period,
        langkah=step,
        pelaku=run.preset.actor_title(step.id),
        catatan=run.cycle.note,
        dikembalikan=returned,
        batas=deadline.due_at if deadline else None,
        tz=run.office.tz,
        waktu=step.waktu_teks or run.preset.waktu_bawaan.label,
        waktu_kerja=run.preset.duration(step.id).unit == "menit",
    )
    people = await step_actors(ctx, run, step)
    for actor in people:
        row: list[Button] = []
        for key, action, extra in buttons:
            args = {"c": run.cycle.id, "v": run.cycle.version, "s": step.id, **extra}
            row.append(
                await ctx.button(
                    texts.label(key), action, args, person_id=actor.person.id, group=run.group
                )
            )
        ctx.send(
            actor.person.id, f"{head}\n\n{body}".strip(), [row] if row else [], group=run.group
        )
    return people


async def _forward(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    body = texts.render("siklus/tekan_teruskan", jenis=step.jenis)
    await _to_actors(ctx, run, step, body, [("teruskan", "sop.lanjut", {})], returned)


async def _prepare(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    owners = await _owners(ctx, run)
    later_bagikan = any(s.jenis == "bagikan" for s in run.steps[run.preset.index(step.id) :])
    hands_out = step.jenis == "bagikan" or not later_bagikan
    body = texts.render("siklus/pratinjau", pemilik=owners, bagikan=hands_out)
    key, action = ("bagikan", "sop.bagikan") if hands_out else ("selesai", "sop.lanjut")
    await _to_actors(ctx, run, step, body, [(key, action, {})], returned)


async def _write(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    """rapat / arahan / metode / analisis: the actor types something, then the cycle moves."""
    body = texts.render("siklus/minta_tulis", jenis=step.jenis)
    buttons = [("atur_rapat" if step.jenis in ("rapat", "arahan") else "tulis", "sop.tulis", {})]
    if step.jenis == "analisis":
        buttons.append(("lewati", "sop.lanjut", {}))
    await _to_actors(ctx, run, step, body, buttons, returned)


async def _fill(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    await hand_out_once(ctx, run)
    owners = {w.person_id for w in await worksheets(ctx, run)}
    note = texts.render(
        "siklus/isi_semua_asn", periode=run.period, metode=run.cycle.data.get("metode", "")
    )
    for role in run.preset.pengisi:
        for actor in await role_holders(ctx, run, role):
            if actor.person.id not in owners:
                ctx.send(actor.person.id, note)
    await progress(ctx, run)


async def _verify(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    """Sheets are checked as they arrive (flows/sheet_review); here only move on if all are."""
    await progress(ctx, run)


#: rekap / telaah / sahkan: the summary template and the card's buttons.
_SUMMARY_CARDS: dict[str, tuple[str, list[tuple[str, str, dict[str, Any]]]]] = {
    "rekap": (
        "siklus/rekap",
        [("teruskan", "sop.lanjut", {}), ("kembalikan_lembar", "sop.pilih_lembar", {})],
    ),
    "telaah": (
        "siklus/minta_persetujuan",
        [("setujui", "sop.setujui", {}), ("kembalikan", "sop.kembalikan", {})],
    ),
}
_SUMMARY_CARDS["sahkan"] = _SUMMARY_CARDS["telaah"]


async def _summary(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    """The chat rekap with its buttons; the rekap xlsx goes along (the PDF only when final)."""
    template, buttons = _SUMMARY_CARDS[step.jenis]
    body = texts.render(template, seksi=await section_summaries(ctx, run))
    people = await _to_actors(ctx, run, step, body, buttons, returned)
    await documents.request(ctx, run.cycle, "rekap", [a.person.id for a in people])


async def _report(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    titles = [run.preset.title(r) for r in (step.kepada or ("camat",))]
    body = texts.render("siklus/minta_laporkan", kepada=titles)
    await _to_actors(ctx, run, step, body, [("laporkan", "sop.lanjut", {})], returned)


async def _archive(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    body = texts.render("siklus/minta_arsip")
    await _to_actors(ctx, run, step, body, [("selesai", "sop.lanjut", {})], returned)


async def _roll_up(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    period = roll_up_period(run, step)
    body = texts.render("siklus/gabung", periode_gabung=period)
    people = await _to_actors(ctx, run, step, body, [("teruskan", "sop.lanjut", {})], returned)
    ids = [a.person.id for a in people]
    for kind in ("rekap", "laporan"):
        await documents.request(ctx, run.cycle, kind, ids, period_key=period.key)


def roll_up_period(run: Run, step: Step) -> Period:
    """The semester or year a ``gabung`` step joins, for the cycle's quarter."""
    p = run.period
    if step.periode == "tahunan":
        return Period.annual(p.year)
    return Period.semester(p.year, 1 if p.number <= 2 else 2)


_ANNOUNCE: dict[str, Announce] = {
    "perintah": _forward,
    "disposisi": _forward,
    "siapkan": _prepare,
    "bagikan": _prepare,
    "rapat": _write,
    "arahan": _write,
    "metode": _write,
    "analisis": _write,
    "isi": _fill,
    "verifikasi": _verify,
    "rekap": _summary,
    "telaah": _summary,
    "sahkan": _summary,
    "laporkan": _report,
    "arsip": _archive,
    "gabung": _roll_up,
}


async def _owners(ctx: Ctx, run: Run) -> list[dict[str, Any]]:
    return [
        {"seksi": section, "orang": person, "indikator": inds}
        for section, person, inds in await preview(ctx, run)
    ]


# --- taps -------------------------------------------------------------------------------


async def checked(ctx: Ctx, args: dict[str, Any]) -> tuple[Run, Actor] | None:
    """The tap is for the current visit of the step and the tapper may act; else say why."""
    run = await load(ctx, int(args.get("c", 0)))
    if run is None:
        ctx.refuse(texts.render("umum/tombol_kedaluwarsa"))
        return None
    if (
        run.cycle.status != "running"
        or run.cycle.version != args.get("v")
        or run.cycle.step != args.get("s")
    ):
        ctx.refuse(texts.render("siklus/sudah_diputuskan"))
        return None
    actor = await authority(ctx, run, run.step)
    if actor is None:
        ctx.refuse(
            texts.render("siklus/bukan_wewenang", pelaku=run.preset.actor_title(run.step.id))
        )
        return None
    return run, actor


async def on_next(ctx: Ctx, args: dict[str, Any]) -> None:
    """Teruskan / Selesai / Laporkan / Lewati: the step is done."""
    got = await checked(ctx, args)
    if got is None:
        return
    run, actor = got
    step = run.step
    if not await claim(ctx, run, args["v"]):
        ctx.toast = texts.render("siklus/sudah_diputuskan")
        return
    if step.jenis == "laporkan":
        await _deliver_report(ctx, run, step)
    action = "langkah.teruskan" if step.jenis in ("perintah", "disposisi") else "langkah.selesai"
    await finish_step(ctx, run, actor, action, "catatan_selesai")


async def on_hand_out(ctx: Ctx, args: dict[str, Any]) -> None:
    """Bagikan: the worksheets go out to the fillers."""
    got = await checked(ctx, args)
    if got is None:
        return
    run, actor = got
    if not await claim(ctx, run, args["v"]):
        ctx.toast = texts.render("siklus/sudah_diputuskan")
        return
    count = await hand_out_once(ctx, run)
    ctx.reply(texts.render("siklus/dibagikan", jumlah=count))
    await finish_step(ctx, run, actor, "langkah.bagikan", "catatan_dibagikan")


async def on_approve(ctx: Ctx, args: dict[str, Any]) -> None:
    """Setujui: the draft moves on."""
    got = await checked(ctx, args)
    if got is None:
        return
    run, actor = got
    if not await claim(ctx, run, args["v"]):
        ctx.toast = texts.render("siklus/sudah_diputuskan")
        return
    await finish_step(ctx, run, actor, "langkah.setujui", "catatan_disetujui")


async def finish_step(ctx: Ctx, run: Run, actor: Actor, action: str, note: str) -> None:
    """Log the decision, replace the buttons with it, and move to the next step."""
    step = run.step
    deadline = await deadline_of(ctx, run, step.id)
    on_time = deadline is None or ctx.now <= deadline.due_at
    ctx.log(
        action,
        office_id=run.office.id,
        cycle_id=run.cycle.id,
        subject=step.id,
        data={
            "step": step.id,
            "tepat_waktu": on_time,
            "batas": deadline.due_at.isoformat() if deadline else None,
        },
        acting_as=actor.acting_as,
    )
    group = f"c{run.cycle.id}v{run.cycle.version - 1}"
    await ctx.close_group(
        group, texts.render(f"siklus/{note}", oleh=actor, waktu=ctx.now, tz=run.office.tz)
    )
    await advance(ctx, run)


async def on_return_ask(ctx: Ctx, args: dict[str, Any]) -> None:
    """Kembalikan: ask for the reason (nothing changes until it is given)."""
    got = await checked(ctx, args)
    if got is None:
        return
    run, _actor = got
    target = run.preset.return_target(run.step.id)
    await set_state(
        ctx, FLOW, {"do": "kembalikan", "c": run.cycle.id, "v": args["v"], "s": run.step.id}
    )
    ctx.reply(
        texts.render("siklus/tanya_alasan", ke=run.preset.actor_title(target.id) if target else "")
    )


async def on_write_ask(ctx: Ctx, args: dict[str, Any]) -> None:
    """Atur rapat / Tulis: start the short conversation of a rapat, metode or analisis step."""
    got = await checked(ctx, args)
    if got is None:
        return
    run, _actor = got
    jenis = run.step.jenis
    first = "tanggal" if jenis in ("rapat", "arahan") else "teks"
    await set_state(
        ctx,
        FLOW,
        {"do": "tulis", "c": run.cycle.id, "v": args["v"], "s": run.step.id, "ask": first},
    )
    ctx.reply(texts.render(f"siklus/tanya_{first}", jenis=jenis))


async def _deliver_report(ctx: Ctx, run: Run, step: Step) -> None:
    ids: list[int] = []
    for role in step.kepada or ("camat",):
        ids += [a.person.id for a in await role_holders(ctx, run, role)]
    period = roll_up_period(run, step).key if step.periode else None
    for kind in ("laporan", "rekap"):
        await documents.request(ctx, run.cycle, kind, sorted(set(ids)), period_key=period)
