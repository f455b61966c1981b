"""Command line: run the bot, and the admin tools (import an office, open a cycle, ...)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.settings import Settings
from flows import texts

Command = Callable[[argparse.Namespace, Settings], Awaitable[int]]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kinerja-bot", description=texts.render("admin/deskripsi"))
    sub = p.add_subparsers(dest="perintah")
    sub.add_parser("jalan", help="menjalankan bot (Telegram)")
    s = sub.add_parser("impor-kantor", help="mengimpor berkas kantor (YAML)")
    s.add_argument("berkas", type=Path)
    s = sub.add_parser("impor-pk", help="mengimpor indikator PK dari xlsx")
    s.add_argument("kantor")
    s.add_argument("berkas", type=Path)
    s.add_argument(
        "--per-triwulan",
        action="store_true",
        help="target di berkas per triwulan (bukan s.d. triwulan)",
    )
    s = sub.add_parser("templat-pk", help="menulis templat xlsx PK yang kosong")
    s.add_argument("berkas", type=Path)
    s = sub.add_parser("buka-siklus", help="membuka pengumpulan data dan membagikan kertas kerja")
    s.add_argument("kantor")
    s.add_argument("periode", nargs="?", default="", help='mis. "TW III 2026"')
    s.add_argument("--catatan", default="")
    s = sub.add_parser("undangan-baru", help="membuat kode undangan baru untuk seorang pegawai")
    s.add_argument("kantor")
    s.add_argument("nip")
    return p


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = _parser().parse_args(argv)
    from bot import admin

    commands: dict[str, Command] = {
        "jalan": admin.run,
        "impor-kantor": admin.import_office_file,
        "impor-pk": admin.import_pk_file,
        "templat-pk": admin.write_pk_template,
        "buka-siklus": admin.open_cycle,
        "undangan-baru": admin.reissue_invite,
    }
    command = commands[args.perintah or "jalan"]
    try:
        return asyncio.run(command(args, settings))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
