"""The ``kinerja-bot`` command line: parse (:mod:`bot.cli_parser`), run, and explain failures.

The commands are listed in :mod:`bot.commands`. Every failure ends in one or two Indonesian
lines and an exit code from :class:`bot.failures.ExitCode`; the traceback only with ``--debug``
or ``LOG_LEVEL=DEBUG``, with the token masked.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from bot import redact
from bot.cli_parser import PROG, build_cli, command_names, package_version, usage_failure
from bot.commands import Spec
from bot.failures import ExitCode, Failure, explain, output_folder, redacted, settings_failure
from bot.settings import Settings
from flows.core import texts

__all__ = ["PROG", "build_cli", "command_names", "main", "package_version"]

Command = Callable[[argparse.Namespace, Settings], Awaitable[int]]


# --- running ---------------------------------------------------------------------------------


def _has_token(settings: Settings) -> bool:
    from bot.bootstrap import telegram_enabled, whatsapp_enabled

    return telegram_enabled(settings) or whatsapp_enabled(settings)


def _secrets(settings: Settings | None) -> tuple[str, ...]:
    """Every secret of this run (tokens, webhook secrets): never printed, never logged."""
    if settings is None:
        return ()
    values = (
        settings.telegram_token,
        settings.telegram_webhook_secret,
        settings.whatsapp_token,
        settings.whatsapp_app_secret,
        settings.whatsapp_verify_token,
    )
    return tuple(v.get_secret_value() for v in values if v is not None and v.get_secret_value())


async def run_bot(args: argparse.Namespace, settings: Settings) -> int:
    """``jalan``: the real bot with a token; without one, say how to get one and run the demo."""
    from bot import admin

    if _has_token(settings):
        return await admin.run(args, settings)
    print(texts.render("demo/tanpa_token"))
    print()
    return await run_demo(args, settings)


async def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    """``demo``: the offline demo; the laporan PDF and rekap xlsx go to ``--keluaran``."""
    from bot.offline.demo import DemoError
    from bot.offline.demo import run_demo as demo

    out = Path(getattr(args, "keluaran", None) or "out")
    output_folder(out)  # checked before the cycle is played
    _readable_stdout()
    try:
        await demo(out, echo=_echo)
    except DemoError as exc:
        print(texts.render("demo/gagal", alasan=str(exc)))
        return 1
    return 0


def _echo(line: str) -> None:
    print(line, flush=True)


def _readable_stdout() -> None:
    """A terminal that cannot show a character gets "?" instead of a crash."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="replace")


def _configure_logging(settings: Settings, debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO, and a Bot API URL contains the token.
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    redact.install(*_secrets(settings))


def _fail(
    failure: Failure, error: BaseException | None, debug: bool, secrets: tuple[str, ...]
) -> int:
    """Print the failure's lines on stderr (and the masked traceback with --debug)."""
    if debug and error is not None:
        trace = "".join(traceback.format_exception(error))
        print(redacted(trace, *secrets), file=sys.stderr, end="")
    print(redacted(failure.message(), *secrets), file=sys.stderr)
    return int(failure.code)


def _wants_debug(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("LOG_LEVEL", "").upper() == "DEBUG"


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the command, and return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _wants_debug(argv)
    try:
        chosen = build_cli().main(args=argv, prog_name=PROG, standalone_mode=False)
    except click.UsageError as error:  # the command line itself: no traceback to show
        return _fail(usage_failure(error), None, debug, ())
    except Failure as failure:
        return _fail(failure, None, debug, ())
    except click.Abort:
        return int(ExitCode.INTERRUPTED)
    if isinstance(chosen, int):  # --bantuan or --versi
        return chosen
    if chosen is None:
        return 0
    spec, params = chosen
    return _run(spec, params, debug)


async def _settled(work: Awaitable[int]) -> int:
    """Run ``work``; when it fails, let the database threads finish while the loop still runs.

    aiosqlite stops a connection that failed to open from its own thread and reports back to
    the loop; if the loop is already closed that thread prints a traceback on stderr.
    """
    try:
        return await work
    except Exception:
        from aiosqlite import core

        worker = getattr(core, "_connection_worker_thread", None)
        for thread in threading.enumerate():
            if worker is not None and getattr(thread, "_target", None) is worker:
                await asyncio.to_thread(thread.join, 2)
        raise


def _run(spec: Spec, params: dict[str, Any], debug: bool) -> int:
    try:
        settings = Settings()
    except Exception as error:  # a value in .env or the environment that cannot be used
        return _fail(settings_failure(error), error, debug, ())
    debug = debug or settings.log_level.upper() == "DEBUG"
    secrets = _secrets(settings)
    _configure_logging(settings, debug)
    values = {p.name: params.get(p.name, p.default) for p in spec.params}
    for p in spec.params:
        if p.path and values[p.name] is not None:
            values[p.name] = Path(values[p.name])
    module, _, name = spec.target.partition(":")
    command: Command = getattr(importlib.import_module(module), name)
    try:
        return asyncio.run(_settled(command(argparse.Namespace(**values), settings)))
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except Exception as error:
        failure = explain(
            error,
            base_url=settings.telegram_base_url,
            database_url=settings.database_url,
            listen=f"{settings.webhook_listen}:{settings.webhook_port}",
        )
        return _fail(failure, error, debug, secrets)


if __name__ == "__main__":
    sys.exit(main())
