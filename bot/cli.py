"""The ``kinerja-bot`` command line (click), in Indonesian: help, errors and exit codes.

The commands themselves are listed in :mod:`bot.commands`; their words are in
``templates/chat/cli/bantuan.yaml``. Every failure ends in one or two Indonesian lines and an
exit code from :class:`bot.failures.ExitCode`; the traceback only with ``--debug`` or
``LOG_LEVEL=DEBUG``, with the token masked.
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
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import click
import yaml

from bot.commands import COMMANDS, GROUPS, Param, Spec
from bot.failures import ExitCode, Failure, explain, output_folder, redacted, settings_failure
from bot.settings import Settings
from flows.core import texts

Command = Callable[[argparse.Namespace, Settings], Awaitable[int]]
PROG = "kinerja-bot"
HELP_NAMES = ["-h", "--bantuan", "--help"]


@cache
def words() -> dict[str, Any]:
    """The CLI's help words (templates/chat/cli/bantuan.yaml)."""
    path = texts.TEMPLATES / "chat" / "cli" / "bantuan.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _command_words(name: str) -> dict[str, Any]:
    return words()["perintah"].get(name, {})


def package_version() -> str:
    try:
        return version("kinerja-bot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+sumber"


# --- click, in Indonesian --------------------------------------------------------------------


class _Indonesian:
    """Usage line, options and arguments sections with Indonesian headings."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = words()["program"]["bantuan"]
        return option

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), words()["judul"]["pemakaian"])

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            record
            for param in self.get_params(ctx)  # type: ignore[attr-defined]
            if not isinstance(param, click.Argument)
            and (record := param.get_help_record(ctx)) is not None
        ]
        if rows:
            with formatter.section(words()["judul"]["opsi"]):
                formatter.write_dl(rows)


class KinerjaCommand(_Indonesian, click.Command):
    """One subcommand: its arguments explained, an example, extra words refused politely."""

    def __init__(self, spec: Spec, **kwargs: Any) -> None:
        self.spec = spec
        super().__init__(spec.name, **kwargs)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help_text(ctx, formatter)
        described = _command_words(self.spec.name).get("argumen", {})
        rows = [(p.name.upper(), described.get(p.name, "")) for p in self.spec.params if not p.flag]
        if rows:
            with formatter.section(words()["judul"]["argumen"]):
                formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        example = _command_words(self.spec.name).get("contoh", "")
        if example:
            with formatter.section(words()["judul"]["contoh"]):
                _write_lines(formatter, example)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.allow_extra_args = True
        try:
            rest = super().parse_args(ctx, args)
        except click.UsageError as error:
            error.ctx = error.ctx or ctx  # the parser's own errors come without one
            raise
        if rest:
            raise Failure(
                ExitCode.USAGE,
                "argumen_lebih",
                sisa=" ".join(rest),
                contoh=_command_words(self.spec.name).get("contoh", ""),
            )
        return rest


class KinerjaGroup(_Indonesian, click.Group):
    """The program: commands listed by group, "maksud Anda" for a mistyped command."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [spec.name for spec in COMMANDS if spec.name in self.commands]

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help_text(ctx, formatter)
        with formatter.section(words()["judul"]["contoh"]):
            _write_lines(formatter, words()["program"]["contoh"])

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for group in GROUPS:
            rows = [
                (spec.name, _command_words(spec.name).get("ringkas", ""))
                for spec in COMMANDS
                if spec.group == group and spec.name in self.commands
            ]
            if rows:
                with formatter.section(words()["kelompok"][group]):
                    formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_paragraph()
        formatter.write_text(words()["program"]["penutup"])


def _write_lines(formatter: click.HelpFormatter, text: str) -> None:
    """Lines written as they are (examples must not be re-wrapped)."""
    for line in text.splitlines():
        formatter.write(f"{'':>{formatter.current_indent}}{line}\n")


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(texts.render("cli/versi", versi=package_version()))
        ctx.exit(0)


def _click_param(param: Param, described: dict[str, str]) -> click.Parameter:
    help_text = described.get(param.name, "")
    if param.is_flag:
        return click.Option([param.flag, param.name], is_flag=True, help=help_text)
    if param.flag:
        return click.Option(
            [param.flag, param.name], default=param.default, help=help_text, metavar="TEKS"
        )
    optional = {} if param.required else {"default": param.default}
    return click.Argument(
        [param.name],
        required=param.required,
        **optional,
        metavar=param.name.upper() if param.required else f"[{param.name.upper()}]",
    )


def _subcommand(spec: Spec) -> click.Command:
    said = _command_words(spec.name)

    def callback(**params: Any) -> tuple[Spec, dict[str, Any]]:
        return spec, params

    return KinerjaCommand(
        spec,
        callback=callback,
        params=[_click_param(p, said.get("argumen", {})) for p in spec.params],
        help=said.get("uraian", ""),
        short_help=said.get("ringkas", ""),
        options_metavar=words()["judul"]["opsi_metavar"],
        context_settings={"help_option_names": HELP_NAMES},
    )


def build_cli() -> click.Group:
    """The whole command line, built when it is needed (never at import time)."""
    program = words()["program"]

    def callback(debug: bool) -> tuple[Spec, dict[str, Any]] | None:
        click.get_current_context().meta["debug"] = debug
        if click.get_current_context().invoked_subcommand is None:
            return _spec("jalan"), {}
        return None

    group = KinerjaGroup(
        PROG,
        callback=callback,
        invoke_without_command=True,
        help=program["uraian"],
        options_metavar=words()["judul"]["opsi_metavar"],
        subcommand_metavar=f"{words()['judul']['perintah']} ...",
        context_settings={"help_option_names": HELP_NAMES},
        params=[
            click.Option(
                ["--versi"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=_show_version,
                help=program["versi"],
            ),
            click.Option(["--debug"], is_flag=True, help=program["debug"]),
        ],
    )
    for spec in COMMANDS:
        group.add_command(_subcommand(spec))
    return group


def _spec(name: str) -> Spec:
    return next(spec for spec in COMMANDS if spec.name == name)


def command_names() -> list[str]:
    """Every command the CLI knows (the README test checks its commands against this)."""
    return list(build_cli().commands)


# --- usage errors ----------------------------------------------------------------------------


def _usage_failure(error: click.UsageError) -> Failure:
    """click's usage errors, said in Indonesian."""
    ctx = error.ctx
    path = ctx.command_path if ctx is not None else PROG
    command = ctx.command if ctx is not None else None
    example = (
        _command_words(command.spec.name).get("contoh", "")
        if isinstance(command, KinerjaCommand)
        else f"{PROG} --bantuan"
    )
    if isinstance(error, click.exceptions.NoSuchCommand):
        return Failure(
            ExitCode.USAGE,
            "perintah_tidak_dikenal",
            nama=error.command_name,
            saran=error.possibilities or [],
        )
    if isinstance(error, click.NoSuchOption):
        return Failure(
            ExitCode.USAGE,
            "opsi_tidak_dikenal",
            nama=error.option_name,
            saran=[p for p in error.possibilities or [] if p not in HELP_NAMES],
            perintah=path,
        )
    if isinstance(error, click.MissingParameter):
        name = error.param.human_readable_name if error.param is not None else "?"
        return Failure(ExitCode.USAGE, "argumen_kurang", nama=name.strip("[]"), contoh=example)
    if isinstance(error, click.BadOptionUsage):
        return Failure(ExitCode.USAGE, "opsi_perlu_nilai", nama=error.option_name, contoh=example)
    name = ctx.info_name if ctx is not None else PROG
    return Failure(ExitCode.USAGE, "pemakaian_salah", nama=name, perintah=path)


# --- running ---------------------------------------------------------------------------------


class RedactSecret(logging.Filter):
    """Replace a secret (the bot token) in any log record that still carries it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secret:
            return True
        message = record.getMessage()
        if self.secret in message:
            record.msg = message.replace(self.secret, "***")
            record.args = None
        if record.exc_info and not record.exc_text:
            trace = logging.Formatter().formatException(record.exc_info)
            record.exc_text = trace.replace(self.secret, "***")
        return True


def _has_token(settings: Settings) -> bool:
    token = settings.telegram_token
    return token is not None and bool(token.get_secret_value().strip())


def _token(settings: Settings | None) -> str | None:
    if settings is None or settings.telegram_token is None:
        return None
    return settings.telegram_token.get_secret_value() or None


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
    token = _token(settings)
    if token:
        redact = RedactSecret(token)
        for handler in logging.getLogger().handlers:
            handler.addFilter(redact)


def _fail(failure: Failure, error: BaseException | None, debug: bool, secret: str | None) -> int:
    """Print the failure's lines on stderr (and the masked traceback with --debug)."""
    if debug and error is not None:
        trace = "".join(traceback.format_exception(error))
        print(redacted(trace, secret), file=sys.stderr, end="")
    print(redacted(failure.message(), secret), file=sys.stderr)
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
        return _fail(_usage_failure(error), None, debug, None)
    except Failure as failure:
        return _fail(failure, None, debug, None)
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
        return _fail(settings_failure(error), error, debug, None)
    debug = debug or settings.log_level.upper() == "DEBUG"
    secret = _token(settings)
    _configure_logging(settings, debug)
    values = {p.name: params[p.name] for p in spec.params}
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
            error, base_url=settings.telegram_base_url, database_url=settings.database_url
        )
        return _fail(failure, error, debug, secret)


if __name__ == "__main__":
    sys.exit(main())
