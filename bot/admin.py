"""Admin commands behind the CLI; each prints Indonesian text from templates/."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows import texts
from flows.context import Ctx, SystemClock
from flows.cycle_admin import CycleError, hand_out
from flows.cycle_admin import open_cycle as open_cycle_flow
from flows.office_file import OfficeFileError, load_office_file
from flows.office_import import import_office, invite_message
from flows.office_import import reissue_invite as reissue_invite_flow
from flows.periods import parse_period, quarter_just_ended
from flows.pk_workbook import import_pk, read_pk, write_template
from flows.router import Core
from flows.sop import preset_ids
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
        return 0
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


async def _in_transaction(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[str]]
) -> int:
    """Run one admin change in one transaction; an import error prints and changes nothing."""
    db = await _database(settings)
    try:
        async with db.transaction() as session:
            message = await work(session)
    except OfficeFileError as exc:
        print(exc.message())
        return 1
    finally:
        await db.dispose()
    print(message)
    return 0


async def import_office_file(args: argparse.Namespace, settings: Settings) -> int:
    """Import (or update) an office from its YAML file; print the report and invites."""
    try:
        spec = load_office_file(
            args.berkas, known_presets=preset_ids(), default_tz=settings.default_tz
        )
    except OfficeFileError as exc:
        print(exc.message())
        return 1

    async def work(session: AsyncSession) -> str:
        report = await import_office(session, spec, now=SystemClock().now())
        return report.summary(settings.telegram_bot_username or None)

    return await _in_transaction(settings, work)


async def import_pk_file(args: argparse.Namespace, settings: Settings) -> int:
    """Import the PK indicators of an office from an xlsx workbook."""
    try:
        rows = read_pk(args.berkas, per_quarter=args.per_triwulan)
    except OfficeFileError as exc:
        print(exc.message())
        return 1

    async def work(session: AsyncSession) -> str:
        report = await import_pk(session, args.kantor, rows, now=SystemClock().now())
        return report.summary(settings.telegram_bot_username or None)

    return await _in_transaction(settings, work)


async def write_pk_template(args: argparse.Namespace, settings: Settings) -> int:
    """Write a blank PK workbook a planner can fill in Excel."""
    write_template(args.berkas)
    print(texts.render("admin/templat_ditulis", berkas=args.berkas))
    return 0


async def reissue_invite(args: argparse.Namespace, settings: Settings) -> int:
    """A new single-use invite code for one person (the old unused ones die)."""

    async def work(session: AsyncSession) -> str:
        now = SystemClock().now()
        code = await reissue_invite_flow(session, args.kantor, args.nip, now=now)
        return await invite_message(
            session, code, bot_username=settings.telegram_bot_username or None
        )

    return await _in_transaction(settings, work)
