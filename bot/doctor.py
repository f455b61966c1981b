"""``kinerja-bot periksa``: configuration, database, Bot API, templates and time zone.

Each check prints one ✓ / ✗ / – line (from ``templates/chat/cli/periksa.txt``); nothing is
changed (a SQLite file that does not exist yet is not created). The exit code is
:attr:`ExitCode.CHECK` when any check fails. A channel adds its own check to :data:`CHECKS`.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.failures import ExitCode, Failure, explain, safe_database_url, server_of
from bot.settings import Settings
from flows.core import texts

OK, FAILED, SKIPPED = "✓", "✗", "–"


@dataclass(frozen=True)
class Result:
    mark: str
    line: str


def _say(kode: str, **context: object) -> str:
    return texts.render("cli/periksa", kode=kode, **context)


async def check_settings(settings: Settings) -> list[Result]:
    token = settings.telegram_token
    problems = []
    if token is None or not token.get_secret_value().strip():
        problems.append(_say("tanpa_token"))
    if not settings.telegram_bot_username:
        problems.append(_say("tanpa_nama_bot"))
    if settings.telegram_webhook_url:
        if not settings.telegram_webhook_url.startswith("https://"):
            problems.append(_say("webhook_http"))
        if settings.telegram_webhook_secret is None:
            problems.append(_say("webhook_rahasia"))
    if problems:
        return [Result(FAILED, p) for p in problems]
    line = _say("pengaturan", nama_bot=settings.telegram_bot_username, zona=settings.default_tz)
    return [Result(OK, line)]


def _failed(error: Exception, settings: Settings) -> Result:
    failure = explain(
        error, base_url=settings.telegram_base_url, database_url=settings.database_url
    )
    return Result(FAILED, " ".join(failure.message().splitlines()))


async def check_database(settings: Settings) -> list[Result]:
    """Open the database read-only and compare its schema revision with the newest."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from storage.db import Database, is_sqlite
    from storage.migrate import alembic_config

    url = safe_database_url(settings.database_url)
    try:
        if is_sqlite(settings.database_url):
            name = make_url(settings.database_url).database or ""
            if name and name != ":memory:" and not Path(name).exists():
                return [Result(OK, _say("db_baru", url=url))]
        db = Database(settings.database_url)
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                current = await conn.run_sync(
                    lambda c: MigrationContext.configure(c).get_current_heads()
                )
        finally:
            await db.dispose()
    except Exception as error:  # the user's words for it come from explain()
        return [_failed(error, settings)]
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return [Result(OK, _say("db_baik", url=url, terbaru=set(current) == set(heads)))]


async def check_bot_api(settings: Settings) -> list[Result]:
    """getMe against TELEGRAM_BASE_URL with the token."""
    from telegram import Bot

    token = settings.telegram_token
    if token is None or not token.get_secret_value().strip():
        return [Result(SKIPPED, _say("bot_api_lewat"))]
    try:
        bot = Bot(
            token.get_secret_value(),
            base_url=settings.bot_api_url,
            base_file_url=settings.bot_file_url,
        )
        async with bot:
            me = await bot.get_me()
    except Exception as error:
        return [_failed(error, settings)]
    server = server_of(settings.telegram_base_url)
    return [Result(OK, _say("bot_api_baik", server=server, nama_bot=me.username))]


async def check_templates(settings: Settings) -> list[Result]:
    """Every chat template compiles and every YAML word list loads."""
    import jinja2
    import yaml

    root = texts.TEMPLATES
    files = sorted(p for p in (root / "chat").rglob("*") if p.is_file())
    files += [root / "laporan" / "laporan.html", root / "laporan" / "laporan.css"]
    env = jinja2.Environment()
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
            if path.suffix == ".yaml":
                yaml.safe_load(source)
            elif path.suffix in (".txt", ".html"):
                env.parse(source)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, jinja2.TemplateSyntaxError) as error:
            name = path.relative_to(root) if path.is_relative_to(root) else path
            return [Result(FAILED, _say("templat_rusak", berkas=name, sebab=type(error).__name__))]
    return [Result(OK, _say("templat_baik", jumlah=len(files)))]


async def check_timezone(settings: Settings) -> list[Result]:
    from flows.domain.fmt import fmt_datetime, tz_abbrev

    try:
        zone = ZoneInfo(settings.default_tz)
    except (ZoneInfoNotFoundError, ValueError):
        return [Result(FAILED, _say("zona_salah", zona=settings.default_tz))]
    now = datetime.now(zone)
    line = _say(
        "zona_baik",
        zona=settings.default_tz,
        singkatan=tz_abbrev(settings.default_tz),
        sekarang=fmt_datetime(now, settings.default_tz),
    )
    return [Result(OK, line)]


Check = Callable[[Settings], Awaitable[list[Result]]]
CHECKS: list[Check] = [
    check_settings,
    check_database,
    check_bot_api,
    check_templates,
    check_timezone,
]


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run every check, print its line, and say how many failed."""
    results: list[Result] = []
    for check in CHECKS:
        try:
            found = await check(settings)
        except Failure as failure:
            found = [Result(FAILED, " ".join(failure.message().splitlines()))]
        for result in found:
            print(f"{result.mark} {result.line}", flush=True)
        results += found
    failed = sum(1 for r in results if r.mark == FAILED)
    print()
    print(_say("ringkasan_gagal", jumlah=failed) if failed else _say("ringkasan_baik"))
    return int(ExitCode.CHECK) if failed else int(ExitCode.OK)
