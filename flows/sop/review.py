"""Verifying worksheets: Terima / Kembalikan per sheet, and returning single indicators."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from flows.core import texts
from flows.core.context import Ctx
from flows.core.conversation import clear_state, set_state
from flows.core.people import Actor
from flows.domain.states import COUNTED, SheetState, StepKind
from flows.sop.card import checked
from flows.sop.engine import progress
from flows.sop.kind import FLOW
from flows.sop.lifecycle import Note, Outcome, Verb, lock_cycle, transition
from flows.sop.reminder_plan import plan_cycle
from flows.sop.run import (
    Run,
    as_verifier,
    load,
    phase_step,
    set_deadline,
    sheet_group,
    verifiers,
    worksheets,
)
from flows.sop.sheet_data import Item, sheet_items
from storage.models import Cycle, Person, Section, Worksheet

__all__ = ["MAX_REASON", "on_accept", "on_reason", "sheet_submitted", "split_reason", "verifiers"]

MAX_REASON = 500
#: The ``do`` of the SOP conversation while a sheet's return reason is asked.
ANSWER = "kembalikan_lembar"


async def sheet_submitted(ctx: Ctx, ws: Worksheet, cycle: Cycle, items: list[Item]) -> None:
    """A sheet was sent: its verifier gets it with Terima / Kembalikan, then the cycle moves."""
    run = await load(ctx, cycle.id)
    assert run is not None and ctx.person is not None
    section = await ctx.session.get(Section, ws.section_id)
    verify = phase_step(run, StepKind.VERIFIKASI) is not None
    text = texts.render(
        "review/lembar_masuk",
        kasi=ctx.person,
        seksi=section,
        periode=run.period,
        items=items,
        figs={i.indicator.id: i.figures() for i in items},
        verifikasi=verify,
    )
    group = sheet_group(ws.id, ws.version)
    args = {"ws": ws.id, "wv": ws.version}
    choices = [("terima", "lembar.terima"), ("kembalikan", "lembar.kembalikan")] if verify else []
    for actor in await verifiers(ctx, run, ws):
        row = [
            await ctx.button(texts.label(key), action, args, person_id=actor.person.id, group=group)
            for key, action in choices
        ]
        buttons = [row] if row else []
        ctx.send(actor.person.id, text, buttons, group=group)
    await progress(ctx, run)


#: Who may decide a sheet, as a refusal names them (default: the planner's title).
Title = Callable[[Ctx, Run, Worksheet], Awaitable[str]]


async def sheet_checked(
    ctx: Ctx,
    args: dict[str, Any],
    status: SheetState = SheetState.SUBMITTED,
    title: Title | None = None,
) -> tuple[Run, Worksheet, Actor] | None:
    """The tapped sheet, if it still waits at ``status`` in that visit and the tapper verifies
    it; otherwise the polite refusal, and ``None``."""
    ws = await ctx.session.get(Worksheet, int(args.get("ws", 0)))
    run = await load(ctx, ws.cycle_id) if ws is not None else None
    if ws is None or run is None or not run.running:
        ctx.refuse(texts.render("umum/tombol_kedaluwarsa"))
        return None
    if ws.version != args.get("wv") or ws.status != status:
        ctx.refuse(texts.render("siklus/sudah_diputuskan"))
        return None
    actor = await as_verifier(ctx, run, ws)
    if actor is None:
        pelaku = await title(ctx, run, ws) if title else texts.label("peran_perencana")
        ctx.refuse(texts.render("siklus/bukan_wewenang", pelaku=pelaku))
        return None
    return run, ws, actor


async def on_accept(ctx: Ctx, args: dict[str, Any]) -> None:
    """Terima: the sheet is accepted; one transition however often it is tapped."""
    got = await sheet_checked(ctx, args)
    if got is None:
        return
    run, ws, actor = got
    done = await transition(
        ctx,
        run,
        Verb.ACCEPT,
        ws=ws,
        version=args["wv"],
        values={"reviewed_by": actor.person.id, "reviewed_at": ctx.now},
        note=Note("lembar.terima", subject=f"worksheet:{ws.id}"),
        close=lambda by: texts.render(
            "siklus/catatan_diterima", oleh=by, waktu=ctx.now, tz=run.office.tz
        ),
    )
    if not done.ok:
        ctx.toast = texts.render("siklus/sudah_diputuskan")
        return
    section = await ctx.session.get(Section, ws.section_id)
    ctx.send(
        ws.person_id,
        texts.render("review/lembar_diterima", periode=run.period, seksi=section, oleh=actor),
    )
    await progress(ctx, run)


async def on_return_ask(ctx: Ctx, args: dict[str, Any]) -> None:
    """Kembalikan on a sheet: ask for the reason (and, optionally, which indicators)."""
    got = await sheet_checked(ctx, args)
    if got is None:
        return
    run, ws, _actor = got
    await _ask_reason(ctx, run, ws, {"ws": ws.id, "wv": ws.version})


async def on_pick_sheet(ctx: Ctx, args: dict[str, Any]) -> None:
    """Kembalikan lembar at a rekap step: choose the sheet to send back."""
    got = await checked(ctx, args)
    if got is None:
        return
    run, _actor = got
    rows = []
    for ws in await worksheets(ctx, run):
        if ws.status not in COUNTED:
            continue
        section = await ctx.session.get(Section, ws.section_id)
        assert section is not None
        rows.append(
            [
                await ctx.button(
                    section.kode,
                    "sop.lembar",
                    {**args, "ws": ws.id, "wv": ws.version},
                    group=run.group,
                )
            ]
        )
    ctx.reply(texts.render("review/pilih_lembar"), rows, group=run.group)


async def on_sheet_picked(ctx: Ctx, args: dict[str, Any]) -> None:
    got = await checked(ctx, args)
    if got is None:
        return
    run, _actor = got
    ws = await ctx.session.get(Worksheet, int(args["ws"]))
    if ws is None or ws.cycle_id != run.cycle.id or ws.version != args["wv"]:
        ctx.refuse(texts.render("siklus/sudah_diputuskan"))
        return
    await _ask_reason(
        ctx,
        run,
        ws,
        {"ws": ws.id, "wv": ws.version, "c": run.cycle.id, "v": args["v"], "s": args["s"]},
    )


async def _ask_reason(ctx: Ctx, run: Run, ws: Worksheet, state: dict[str, Any]) -> None:
    items = [i for i in await sheet_items(ctx.session, ws, run.cycle) if i.measured]
    await set_state(ctx, FLOW, {"do": ANSWER, **state})
    owner = await ctx.session.get(Person, ws.person_id)
    ctx.reply(
        texts.render(
            "review/tanya_alasan_lembar", orang=owner, kode=[i.indicator.kode for i in items]
        )
    )


_CODES_RE = re.compile(
    r"^\s*([A-Za-z0-9._/-]+(?:\s*[,;]\s*[A-Za-z0-9._/-]+|\s+dan\s+[A-Za-z0-9._/-]+)*)\s*:\s*(.+)$",
    re.S,
)


_CODE_SHAPE = re.compile(r"^[A-Za-z]{1,12}[-.]?\d+(?:[.-]\d+)*$")


def split_reason(text: str, codes: list[str]) -> tuple[list[str], str] | None:
    """ "PEM-2, PEM-3: alasan" → (["PEM-2", "PEM-3"], "alasan"); no code prefix → ([], text).

    Returns ``None`` when the prefix names a code that is not on the sheet.
    """
    m = _CODES_RE.match(text)
    if not m:
        return [], text.strip()
    named = [c for c in re.split(r"\s*[,;]\s*|\s+dan\s+", m.group(1).strip()) if c]
    by_upper = {c.upper(): c for c in codes}
    looks_like_codes = all(n.upper() in by_upper or _CODE_SHAPE.match(n) for n in named)
    if not looks_like_codes:
        return [], text.strip()  # a colon in ordinary text, not a code list
    if any(n.upper() not in by_upper for n in named):
        return None
    return [by_upper[n.upper()] for n in named], m.group(2).strip()


async def on_reason(ctx: Ctx, state: dict[str, Any]) -> None:
    """The reason for returning a sheet arrived: send the named indicators (or all) back."""
    assert ctx.person is not None and ctx.inbound is not None
    ws = await ctx.session.get(Worksheet, int(state["ws"]))
    run = await load(ctx, ws.cycle_id) if ws is not None else None
    if ws is None or run is None or ws.version != state["wv"] or not run.running:
        await clear_state(ctx)
        ctx.reply(texts.render("siklus/sudah_diputuskan"))
        return
    from_recap = "c" in state
    if from_recap:
        await lock_cycle(ctx, run)  # a Teruskan on this visit at the same moment: one wins
    if from_recap and not run.is_visit(state["v"], state["s"]):
        await clear_state(ctx)
        ctx.reply(texts.render("siklus/sudah_diputuskan"))
        return
    items = [i for i in await sheet_items(ctx.session, ws, run.cycle) if i.measured]
    text = ctx.inbound.text.strip()
    parsed = split_reason(text, [i.indicator.kode for i in items])
    if parsed is None:
        ctx.reply(texts.render("review/kode_salah", kode=[i.indicator.kode for i in items]))
        return
    named, reason = parsed
    if len(reason) < 3 or len(reason) > MAX_REASON:
        ctx.reply(texts.render("siklus/alasan_salah", maks=MAX_REASON))
        return
    back = [i for i in items if not named or i.indicator.kode in named]

    def closing(by: Actor | None) -> str:
        return texts.render(
            "siklus/catatan_dikembalikan", oleh=by, waktu=ctx.now, tz=run.office.tz, alasan=reason
        )

    await clear_state(ctx)
    done = await transition(
        ctx,
        run,
        Verb.RETURN_AT_REKAP if from_recap else Verb.RETURN,
        ws=ws,
        version=state["wv"],
        values={"return_reason": reason, "reviewed_by": ctx.person.id, "reviewed_at": ctx.now},
        note=Note(
            "lembar.kembalikan",
            subject=f"worksheet:{ws.id}",
            reason=reason,
            data={"indikator": [i.indicator.kode for i in back]},
        ),
        close=closing,
    )
    if done.outcome is Outcome.FORBIDDEN:
        ctx.reply(texts.render("siklus/bukan_wewenang", pelaku=texts.label("peran_perencana")))
        return
    if not done.ok:
        ctx.reply(texts.render("siklus/sudah_diputuskan"))
        return
    actor = done.actor
    assert actor is not None
    for i in items:
        i.entry.editable = i in back
        if i in back:
            i.entry.filled = False
    if from_recap:
        await ctx.close_group(run.group, closing(actor))
        isi = phase_step(run, StepKind.ISI)
        assert isi is not None
        await transition(ctx, run, Verb.ENTER, step=isi.id)
        await set_deadline(ctx, run, isi)
        await plan_cycle(ctx, run)
    fix = await ctx.button(
        texts.label("perbaiki_sekarang"), "isi.mulai", {}, person_id=ws.person_id
    )
    ctx.send(
        ws.person_id,
        texts.render(
            "review/lembar_dikembalikan",
            periode=run.period,
            oleh=actor,
            alasan=reason,
            kode=[i.indicator.kode for i in back],
        ),
        [[fix]],
    )
    ctx.reply(texts.render("review/dikembalikan_ok", kode=[i.indicator.kode for i in back]))
    await progress(ctx, run)
