"""Commands of the chain: /mulai (the order), /bukakembali (reopen), /status."""

from __future__ import annotations

from sqlalchemy import select

from flows.chat.status import cmd_status
from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import local_date
from flows.core.router import Router
from flows.domain.periods import Period, parse_period, quarter_just_ended
from flows.domain.roles import HEADS, Role
from flows.domain.states import CycleState
from flows.sop import engine, opening
from flows.sop.cycle_admin import CycleError
from flows.sop.preset import Preset, load_preset
from flows.sop.run import Run, as_planner, authority
from storage.models import Cycle, Office

MAX_NOTE = 500


def register(router: Router) -> None:
    router.command("mulai", cmd_start)
    router.action(opening.OFFER_TAP, on_offer_tap)
    router.command("bukakembali", cmd_reopen)
    router.command("status", cmd_status)


def split_period(args: str, default_year: int) -> tuple[Period | None, str]:
    """ "TW III 2026 mohon segera" → (TW III 2026, "mohon segera"); no period → (None, args)."""
    words = args.split()
    for n in range(min(4, len(words)), 0, -1):
        period = parse_period(" ".join(words[:n]), default_year)
        if period is not None:
            return period, " ".join(words[n:])
    return None, args.strip()


def closing_quarter(period: Period, preset: Preset) -> Period | None:
    """The quarter whose cycle runs ``period``: itself for a TW; for a semester or the year
    the quarter that closes it, where the preset rolls that period up (seed 004)."""
    if period.kind == "TW":
        return period
    wanted = "semester" if period.kind == "SEMESTER" else "tahunan"
    if not any(s.periode == wanted for s in preset.langkah):
        return None
    return Period.quarter(period.year, period.quarters[-1])


async def cmd_start(ctx: Ctx) -> None:
    """/mulai [periode] [catatan]: the head orders the collection (the preset's step 1)."""
    assert ctx.person is not None and ctx.inbound is not None
    office = await ctx.session.get(Office, ctx.person.office_id)
    assert office is not None
    today = local_date(office, ctx.now)
    period, note = split_period(ctx.inbound.args, today.year)
    if (
        period is None
        and note
        and ctx.inbound.args.split()[0].lower() in ("tw", "triwulan", "semester", "tahun")
    ):
        ctx.reply(texts.render("admin/periode_salah", teks=ctx.inbound.args[:40]))
        return
    await start_order(ctx, office, period or quarter_just_ended(today), note)


async def on_offer_tap(ctx: Ctx, args: dict[str, str]) -> None:
    """The Camat taps "Mulai sekarang" on the offered card: the same order as /mulai."""
    assert ctx.person is not None
    office = await ctx.session.get(Office, ctx.person.office_id)
    assert office is not None
    period = Period.from_key(args["p"])
    if await start_order(ctx, office, period, ""):
        note = texts.render("siklus/tawaran_ditekan", oleh=ctx.person)
        await ctx.close_group(opening.offer_group(office.id, period.key), note)


async def start_order(ctx: Ctx, office: Office, asked: Period, note: str) -> bool:
    """Give the order for ``asked`` as the speaker (/mulai, or the tap on an offered card)."""
    preset = load_preset(office.preset)
    first = preset.first
    probe = Run(
        Cycle(office_id=office.id, period_key="", preset=preset.id, step=first.id), office, preset
    )
    actor = await authority(ctx, probe, first)
    if actor is None:
        ctx.reply(texts.render("siklus/bukan_wewenang", pelaku=preset.actor_title(first.id)))
        return False
    running = await ctx.session.scalar(
        select(Cycle).where(Cycle.office_id == office.id, Cycle.status == CycleState.RUNNING)
    )
    if running is not None:
        ctx.reply(
            texts.render("siklus/masih_berjalan", periode=Period.from_key(running.period_key))
        )
        return False
    period = closing_quarter(asked, preset)
    if period is None:
        ctx.reply(texts.render("siklus/hanya_triwulan"))
        return False
    if len(note) > MAX_NOTE:
        ctx.reply(texts.render("isi/teks_terlalu_panjang", maks=MAX_NOTE))
        return False
    try:
        run = await engine.start(ctx, office, period, note, actor)
    except CycleError as e:
        ctx.reply(str(e))
        return False
    ctx.reply(
        texts.render(
            "siklus/dimulai",
            periode=period,
            diminta=asked,
            langkah=run.step,
            pelaku=run.preset.actor_title(run.step.id),
        )
    )
    return True


async def cmd_reopen(ctx: Ctx) -> None:
    """/bukakembali [periode] alasan: the planner reopens a final cycle, with a reason."""
    assert ctx.person is not None and ctx.inbound is not None
    office = await ctx.session.get(Office, ctx.person.office_id)
    assert office is not None
    period, reason = split_period(ctx.inbound.args, local_date(office, ctx.now).year)
    query = select(Cycle).where(Cycle.office_id == office.id)
    if period is not None:
        query = query.where(Cycle.period_key == period.key)
    cycle = await ctx.session.scalar(
        query.order_by(Cycle.created_at.desc(), Cycle.id.desc()).limit(1)
    )
    run = await engine.load(ctx, cycle.id) if cycle else None
    if run is None:
        ctx.reply(texts.render("status/tidak_ada_siklus"))
        return
    preset = run.preset
    actor = await as_planner(ctx, run)
    if actor is None:
        ctx.reply(texts.render("siklus/bukan_wewenang", pelaku=preset.title(Role.PERENCANA)))
        return
    if not run.cycle.data.get("final"):
        ctx.reply(texts.render("siklus/belum_final", periode=run.period))
        return
    if len(reason) < 3:
        ctx.reply(texts.render("siklus/bukakembali_perlu_alasan"))
        return
    target = await engine.reopen(ctx, run, actor, reason[:MAX_NOTE])
    text = texts.render(
        "siklus/dibuka_kembali",
        periode=run.period,
        oleh=actor,
        alasan=reason,
        ke=preset.actor_title(target.id),
    )
    for role in HEADS:
        for a in await engine.role_holders(ctx, run, role):
            ctx.send(a.person.id, text)
    ctx.reply(text)
