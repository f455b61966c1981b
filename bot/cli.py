"""Command line: run the bot, and the admin tools (import an office, open a cycle, ...)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot import redact
from bot.settings import Settings
from flows.core import texts

Command = Callable[[argparse.Namespace, Settings], Awaitable[int]]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kinerja-bot", description=texts.render("admin/deskripsi"))
    sub = p.add_subparsers(dest="perintah")
    sub.add_parser("jalan", help="menjalankan bot (Telegram); tanpa TELEGRAM_TOKEN: demo luring")
    s = sub.add_parser("demo", help="demo luring: satu siklus lengkap kantor contoh, tanpa token")
    s.add_argument(
        "--keluaran",
        type=Path,
        default=Path("out"),
        help="folder untuk laporan PDF dan rekap xlsx (bawaan: ./out)",
    )
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
    _operations(sub)
    return p


def _operations(sub: argparse._SubParsersAction) -> None:
    """The operator's commands: look at offices, people and cycles; backups; Plt / Plh."""
    sub.add_parser("daftar-kantor", help="daftar kantor, jumlah pegawai aktif, siklus berjalan")
    s = sub.add_parser("daftar-orang", help="pegawai sebuah kantor, pendaftaran dan Plt/Plh")
    s.add_argument("kantor")
    s = sub.add_parser("siklus", help="keadaan sebuah siklus dan log kejadiannya")
    s.add_argument("kantor")
    s.add_argument("periode", nargs="?", default="", help='mis. "TW III 2026" (bawaan: terakhir)')
    s = sub.add_parser("ekspor-log", help="log kejadian sebuah siklus ke xlsx untuk auditor")
    s.add_argument("kantor")
    s.add_argument("periode", help='mis. "TW III 2026"')
    s.add_argument("berkas", type=Path)
    s = sub.add_parser("cadangkan", help="mencadangkan basis data SQLite selagi bot berjalan")
    s.add_argument("berkas", type=Path)
    s = sub.add_parser("plt", help="menetapkan Plt/Plh untuk sebuah peran")
    s.add_argument("kantor")
    s.add_argument("nip")
    s.add_argument("peran", help="camat, sekcam, perencana atau kasi")
    s.add_argument("mulai", help="tanggal mulai, DD-MM-YYYY atau YYYY-MM-DD")
    s.add_argument("sampai", help="tanggal selesai (termasuk), DD-MM-YYYY atau YYYY-MM-DD")
    s.add_argument("--jenis", default="Plt", help="Plt atau Plh (bawaan: Plt)")
    s.add_argument("--alasan", default="")
    sub.add_parser("surat-mati", help="pesan masuk yang gagal diproses (dead letter)")
    s = sub.add_parser("surat-mati-ulang", help="memproses ulang pesan masuk yang gagal")
    s.add_argument("id", nargs="*", help="ID yang diulang (bawaan: semua)")
    s = sub.add_parser("plt-hapus", help="menghapus penetapan Plt/Plh menurut ID-nya")
    s.add_argument("kantor")
    s.add_argument("id")
    s.add_argument("--alasan", default="")


def _has_token(settings: Settings) -> bool:
    token = settings.telegram_token
    return token is not None and bool(token.get_secret_value().strip())


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

    _readable_stdout()
    try:
        await demo(getattr(args, "keluaran", None) or Path("out"), echo=_echo)
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


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO, and a Bot API URL contains the token.
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    secrets = (settings.telegram_token, settings.telegram_webhook_secret)
    redact.install(*(s.get_secret_value() for s in secrets if s is not None))
    args = _parser().parse_args(argv)
    from bot import admin

    commands: dict[str, Command] = {
        "jalan": run_bot,
        "demo": run_demo,
        "impor-kantor": admin.import_office_file,
        "impor-pk": admin.import_pk_file,
        "templat-pk": admin.write_pk_template,
        "buka-siklus": admin.open_cycle,
        "undangan-baru": admin.reissue_invite,
        "daftar-kantor": admin.list_offices,
        "daftar-orang": admin.list_people,
        "siklus": admin.show_cycle,
        "ekspor-log": admin.export_log,
        "cadangkan": admin.backup,
        "plt": admin.add_acting,
        "plt-hapus": admin.remove_acting,
        "surat-mati": admin.list_dead_letters,
        "surat-mati-ulang": admin.replay_dead_letters,
    }
    command = commands[args.perintah or "jalan"]
    try:
        return asyncio.run(command(args, settings))
    except KeyboardInterrupt:
        return 130
    except Exception:  # a library error may quote the token: log it through the filter
        logging.getLogger("kinerja-bot").exception("stopped by an error")
        return 1


if __name__ == "__main__":
    sys.exit(main())
