"""Admin commands behind the CLI; each prints Indonesian text from templates/."""

from __future__ import annotations

import argparse
from datetime import date

from sqlalchemy import select

from bot.settings import Settings
from flows import texts
from flows.context import Ctx, SystemClock
from flows.cycle_admin import CycleError, hand_out
from flows.cycle_admin import open_cycle as open_cycle_flow
from flows.periods import parse_period, quarter_just_ended
from flows.router import Core
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Office


async def _database(settings: Settings) -> Database:
    db = Database(settings.database_url)
    await upgrade(db.engine)
    return db


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Telegram bot; without a token say plainly what is missing."""
    if settings.telegram_token is None:
        print(texts.render("admin/tanpa_token"))
        return 2
    from bot.app import run_telegram

    await run_telegram(settings)
    return 0


async def open_cycle(args: argparse.Namespace, settings: Settings) -> int:
    """Open a collection cycle for an office and period, and hand out the worksheets."""
    from bot.app import build_router

    db = await _database(settings)
    core = Core(db, build_router(), SystemClock())
    result: list[str] = []

    async def work(ctx: Ctx) -> None:
        office = await ctx.session.scalar(select(Office).where(Office.code == args.kantor))
        if office is None:
            raise CycleError(texts.render("admin/kantor_tidak_ada", kode=args.kantor))
        period = (
            parse_period(args.periode, office.tahun)
            if args.periode
            else quarter_just_ended(date.today())
        )
        if period is None or period.kind != "TW":
            raise CycleError(texts.render("admin/periode_salah", teks=args.periode))
        cycle = await open_cycle_flow(ctx, office, period, step="pengisian", note=args.catatan)
        handouts = await hand_out(ctx, cycle)
        result.append(
            texts.render("admin/siklus_dibuka", periode=period, kantor=office, lembar=handouts)
        )

    try:
        await core.run(work)
    except CycleError as exc:
        print(str(exc))
        return 1
    finally:
        await db.dispose()
    print(result[0])
    return 0
