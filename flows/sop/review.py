"""Verifying worksheets: Terima / Kembalikan per sheet, and returning single indicators."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import update

from flows.core import texts
from flows.core.context import Ctx
from flows.core.conversation import clear_state, set_state
from flows.core.people import Actor
from flows.sop.engine import (
    Run,
    _phase_step,
    _set_deadline,
    authority,
    load,
    progress,
    role_holders,
    step_actors,
    worksheets,
)
from flows.sop.sheet_data import Item, sheet_items
from flows.sop.steps import FLOW, checked
from storage.models import Cycle, Person, Section, Worksheet

MAX_REASON = 500


def _group(ws_id: int, version: int) -> str:
    return f"ws{ws_id}n{version}"


async def verifiers(ctx: Ctx, run: Run, ws: Worksheet) -> list[Actor]:
    """Who checks this sheet: the verifikasi step's actors, never the sheet's owner.

    Without a verifikasi step the first rekap step's actors are told (for information). When
    nobody else is left (a planner's own sheet), the Sekcam.
    """
    step = _phase_step(run, "verifikasi") or _phase_step(run, "rekap")
    people = (
        [a for a in await step_actors(ctx, run, step) if a.person.id != ws.person_id]
        if step
        else []
    )
    if not people:
        people = [a for a in await role_holders(ctx, run, "sekcam") if a.person.id != ws.person_id]
    return people


async def sheet_submitted(ctx: Ctx, ws: Worksheet, cycle: Cycle, items: list[Item]) -> None:
    """A sheet was sent: its verifier gets it with Terima / Kembalikan, then the cycle moves."""
    run = await load(ctx, cycle.id)
    assert run is not None and ctx.person is not None
    section = await ctx.session.get(Section, ws.section_id)
    verify = _phase_step(run, "verifikasi") is not None
    text = texts.render(
        "review/lembar_masuk",
        kasi=ctx.person,
        seksi=section,
        periode=run.period,
        items=items,
        figs={i.indicator.id: i.figures() for i in items},
        verifikasi=verify,
    )
    group = _group(ws.id, ws.version)
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


async def _sheet_checked(ctx: Ctx, args: dict[str, Any]) -> tuple[Run, Worksheet, Actor] | None:
    ws = await ctx.session.get(Worksheet, int(args.get("ws", 0)))
    run = await load(ctx, ws.cycle_id) if ws is not None else None
    if ws is None or run is None or run.cycle.status != "running":
        ctx.refuse(texts.render("umum/tombol_kedaluwarsa"))
        return None
    if ws.version != args.get("wv") or ws.status != "submitted":
        ctx.refuse(texts.render("siklus/sudah_diputuskan"))
        return None
    actor = next((a for a in await verifiers(ctx, run, ws) if a.person.id == ctx.person.id), None)  # type: ignore[union-attr]
    if actor is None:
        ctx.refuse(texts.render("siklus/bukan_wewenang", pelaku=texts.label("peran_perencana")))
        return None
    return run, ws, actor


async def on_accept(ctx: Ctx, args: dict[str, Any]) -> None:
    """Terima: the sheet is accepted; one transition however often it is tapped."""
    got = await _sheet_checked(ctx, args)
    if got is None:
        return
    run, ws, actor = got
    done = await ctx.session.execute(
        update(Worksheet)
        .where(
            Worksheet.id == ws.id, Worksheet.version == args["wv"], Worksheet.status == "submitted"
        )
        .values(
            status="accepted",
            reviewed_by=actor.person.id,
            reviewed_at=ctx.now,
            version=Worksheet.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        ctx.toast = texts.render("siklus/sudah_diputuskan")
        return
    await ctx.session.refresh(ws)
    section = await ctx.session.get(Section, ws.section_id)
    ctx.log(
        "lembar.terima",
        office_id=run.office.id,
        cycle_id=run.cycle.id,
        subject=f"worksheet:{ws.id}",
        acting_as=actor.acting_as,
    )
    await ctx.close_group(
        _group(ws.id, args["wv"]),
        texts.render("siklus/catatan_diterima", oleh=actor, waktu=ctx.now, tz=run.office.tz),
    )
    ctx.send(
        ws.person_id,
        texts.render("review/lembar_diterima", periode=run.period, seksi=section, oleh=actor),
    )
    await progress(ctx, run)


async def on_return_ask(ctx: Ctx, args: dict[str, Any]) -> None:
    """Kembalikan on a sheet: ask for the reason (and, optionally, which indicators)."""
    got = await _sheet_checked(ctx, args)
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
        if ws.status not in ("submitted", "accepted"):
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
    await set_state(ctx, FLOW, {"do": "kembalikan_lembar", **state})
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
    if ws is None or run is None or ws.version != state["wv"] or run.cycle.status != "running":
        await clear_state(ctx)
        ctx.reply(texts.render("siklus/sudah_diputuskan"))
        return
    from_recap = "c" in state
    if from_recap and (run.cycle.version != state["v"] or run.cycle.step != state["s"]):
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
    allowed = ("submitted", "accepted") if from_recap else ("submitted",)
    done = await ctx.session.execute(
        update(Worksheet)
        .where(
            Worksheet.id == ws.id, Worksheet.version == state["wv"], Worksheet.status.in_(allowed)
        )
        .values(
            status="returned",
            return_reason=reason,
            reviewed_by=ctx.person.id,
            reviewed_at=ctx.now,
            version=Worksheet.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    await clear_state(ctx)
    if done.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        ctx.reply(texts.render("siklus/sudah_diputuskan"))
        return
    await ctx.session.refresh(ws)
    back = [i for i in items if not named or i.indicator.kode in named]
    for i in items:
        i.entry.editable = i in back
        if i in back:
            i.entry.filled = False
    candidates = (
        [await authority(ctx, run, run.step)] if from_recap else await verifiers(ctx, run, ws)
    )
    actor = next((a for a in candidates if a and a.person.id == ctx.person.id), Actor(ctx.person))
    ctx.log(
        "lembar.kembalikan",
        office_id=run.office.id,
        cycle_id=run.cycle.id,
        subject=f"worksheet:{ws.id}",
        reason=reason,
        data={"indikator": [i.indicator.kode for i in back]},
        acting_as=actor.acting_as,
    )
    note = texts.render(
        "siklus/catatan_dikembalikan", oleh=actor, waktu=ctx.now, tz=run.office.tz, alasan=reason
    )
    await ctx.close_group(_group(ws.id, state["wv"]), note)
    if from_recap:
        await ctx.close_group(run.group, note)
        isi = _phase_step(run, "isi")
        assert isi is not None
        run.cycle.step = isi.id
        run.cycle.version += 1
        await ctx.session.flush()
        await _set_deadline(ctx, run, isi)
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
