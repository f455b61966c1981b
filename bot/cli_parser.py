"""The ``kinerja-bot`` command line parser (click), in Indonesian.

Help, usage lines and usage errors speak Indonesian; the words come from
``templates/chat/cli/bantuan.yaml`` and the commands from :mod:`bot.commands`. Parsing returns
the chosen :class:`Spec` with its values; :mod:`bot.cli` runs it.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click
import yaml

from bot.commands import COMMANDS, GROUPS, Param, Spec
from bot.failures import ExitCode, Failure
from flows.core import texts

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
    if param.many:
        return click.Argument([param.name], nargs=-1, metavar=f"[{param.name.upper()}]...")
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


def usage_failure(error: click.UsageError) -> Failure:
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
    name = (ctx.info_name if ctx is not None else None) or PROG
    return Failure(ExitCode.USAGE, "pemakaian_salah", nama=name, perintah=path)
