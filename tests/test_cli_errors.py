"""The command line in Indonesian: help, usage errors, and every failure a user can meet said
in one or two lines with its own exit code, never a traceback (without --debug), never the token.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from bot.cli import build_cli, main, package_version
from bot.commands import COMMANDS
from bot.offline import demo as demo_module
from bot.offline.emulator import BotApiEmulator
from tests.conftest import SAMPLE_OFFICE

ROOT = Path(__file__).resolve().parent.parent
SECRET = "987654:RAHASIA-salah-sekali"
ENGLISH = ("Usage", "Options", "Show this message", "Error", "Try '", "No such", "Missing")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith(("TELEGRAM_", "WEBHOOK_")) or key in ("LOG_LEVEL", "DEFAULT_TZ"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- help ------------------------------------------------------------------------------------


def test_help_is_indonesian_grouped_and_lists_every_command(env, capsys):
    code, out, _ = run(capsys, "--bantuan")
    assert code == 0
    assert out.startswith("Pemakaian: kinerja-bot [OPSI] PERINTAH ...")
    for heading in (
        "Penyiapan kantor:",
        "Siklus pengumpulan data:",
        "Pegawai, undangan dan Plt/Plh:",
        "Menjalankan dan merawat bot:",
        "Contoh:",
    ):
        assert heading in out
    for spec in COMMANDS:
        assert f"  {spec.name} " in out
    assert not any(word in out for word in ENGLISH)
    assert "Telegram dan WhatsApp" in " ".join(out.split())  # both channels run


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.name)
def test_each_command_help_explains_its_arguments_with_an_example(env, capsys, spec):
    code, out, _ = run(capsys, spec.name, "--bantuan")
    assert code == 0
    assert out.startswith(f"Pemakaian: kinerja-bot {spec.name}")
    assert f"Contoh:\n  kinerja-bot {spec.name}" in out
    for param in spec.params:
        shown = param.flag or param.name.upper()
        line = next(line for line in out.splitlines() if line.strip().startswith(shown))
        assert len(line.strip()) > len(shown) + 5, f"{shown} is not explained"
    assert not any(word in out for word in ENGLISH)


def test_version(env, capsys):
    assert run(capsys, "--versi") == (0, f"kinerja-bot {package_version()}\n", "")
    assert package_version() == "0.1.0"


def test_mistyped_command_gets_a_suggestion(env, capsys):
    code, out, err = run(capsys, "bukasiklus", "kecamatan-sukamaju")
    assert code == 2 and out == ""
    assert err == (
        'Perintah "bukasiklus" tidak dikenal. Maksud Anda: buka-siklus atau siklus?\n'
        "Daftar perintah: kinerja-bot --bantuan\n"
    )


def test_usage_mistakes_are_said_in_indonesian(env, capsys):
    assert run(capsys, "buka-siklus")[1:] == (
        "",
        'KANTOR belum diisi.\nContoh: kinerja-bot buka-siklus kecamatan-sukamaju "TW III 2026"\n',
    )
    code, _, err = run(capsys, "buka-siklus", "kecamatan-sukamaju", "TW", "III", "2026")
    assert code == 2 and err.startswith("Argumen berlebih: III 2026. Teks yang berspasi")
    code, _, err = run(capsys, "demo", "--kelu")
    assert code == 2
    assert err == (
        "Opsi --kelu tidak dikenal. Maksud Anda: --keluaran?\nBantuan: kinerja-bot demo --bantuan\n"
    )
    code, _, err = run(capsys, "demo", "--keluaran")
    assert code == 2 and err.startswith("Opsi --keluaran perlu nilai.\n")


# --- failures a user meets -------------------------------------------------------------------


async def cli_process(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """``python -m bot ARGS`` as a separate process (the emulator keeps serving meanwhile)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "WEBHOOK_")) and k not in ("LOG_LEVEL", "DATABASE_URL")
    }
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    env.update(extra)
    return env


async def test_wrong_token_is_two_lines_without_the_token(tmp_path: Path, emu: BotApiEmulator):
    env = clean_env(
        tmp_path, TELEGRAM_TOKEN=SECRET, TELEGRAM_BASE_URL=f"http://127.0.0.1:{emu.port}"
    )
    code, out, err = await cli_process(env, "jalan")
    assert code == 6
    assert err == (
        f"Token Telegram ditolak oleh server Bot API (127.0.0.1:{emu.port}).\n"
        "Periksa TELEGRAM_TOKEN di .env: salin lagi tokennya dari @BotFather "
        "(/mybots → API Token).\n"
    )
    assert SECRET not in out + err and "Traceback" not in out + err

    # With --debug the traceback is shown, with the token masked.
    code, out, err = await cli_process(env, "--debug", "jalan")
    assert code == 6 and "Traceback" in err and "InvalidToken" in err
    assert SECRET not in out + err
    assert err.endswith("(/mybots → API Token).\n")


def test_no_network_is_two_lines(env, capsys, monkeypatch):
    port = closed_port()
    monkeypatch.setenv("TELEGRAM_TOKEN", SECRET)
    monkeypatch.setenv("TELEGRAM_BASE_URL", f"http://127.0.0.1:{port}")
    code, out, err = run(capsys, "jalan")
    assert code == 7
    assert err == (
        f"Server Bot API (127.0.0.1:{port}) tidak dapat dihubungi.\n"
        "Periksa koneksi internet (atau TELEGRAM_BASE_URL), lalu jalankan lagi.\n"
    )
    assert SECRET not in out + err and "Traceback" not in out + err


def test_log_level_debug_shows_the_traceback_without_the_token(env, capsys, monkeypatch):
    monkeypatch.setenv("TELEGRAM_TOKEN", SECRET)
    monkeypatch.setenv("TELEGRAM_BASE_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    code, out, err = run(capsys, "jalan")
    assert code == 7 and "Traceback" in err and SECRET not in out + err


def test_unreachable_database_is_two_lines_without_the_password(env, capsys, monkeypatch):
    port = closed_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql+asyncpg://kinerja:sandi@127.0.0.1:{port}/k")
    code, out, err = run(capsys, "daftar-kantor")
    assert code == 5 and out == ""
    assert err == (
        f"Basis data postgresql+asyncpg://kinerja:***@127.0.0.1:{port}/k tidak dapat dibuka "
        "(sambungan ditolak).\n"
        "Periksa DATABASE_URL di .env dan pastikan server basis datanya berjalan.\n"
    )
    assert "sandi" not in err

    monkeypatch.setenv("DATABASE_URL", "mysql://kinerja@localhost/k")
    code, _, err = run(capsys, "daftar-kantor")
    assert code == 4
    assert err.startswith('DATABASE_URL "mysql://kinerja@localhost/k" tidak dikenali.')
    assert "Traceback" not in err


def test_a_sqlite_file_that_cannot_be_made(env, capsys, monkeypatch):
    """No traceback from aiosqlite's thread either (it outlived the loop before)."""
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:////proc/kinerja.db")
    code, out, err = run(capsys, "daftar-kantor")
    assert (code, out) == (5, "")
    assert err == (
        "Basis data sqlite+aiosqlite:////proc/kinerja.db tidak dapat dibuka "
        "(berkasnya tidak dapat dibuat atau dibuka di folder itu).\n"
        "Periksa DATABASE_URL di .env dan pastikan server basis datanya berjalan.\n"
    )


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_postgres_refusing_the_login_or_the_database_name(env, capsys, monkeypatch):
    from sqlalchemy.engine import make_url

    server = make_url(os.environ["TEST_DATABASE_URL"])
    cases = {
        server.set(database="belum_dibuat_cli"): "basis data dengan nama itu belum dibuat",
        server.set(username="bukan_pengguna", password="R4hasia-xyz"): (
            "nama pengguna atau kata sandi ditolak"
        ),
    }
    for url, why in cases.items():
        monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
        code, out, err = run(capsys, "daftar-kantor")
        assert code == 5 and out == "", err
        shown = url.render_as_string(hide_password=True)
        assert err.startswith(f"Basis data {shown} tidak dapat dibuka ({why}).\n")
        assert "R4hasia-xyz" not in err and "Traceback" not in err


def test_a_setting_that_cannot_be_used(env, capsys, monkeypatch):
    monkeypatch.setenv("WEBHOOK_PORT", "delapan")
    assert run(capsys, "daftar-kantor") == (
        4,
        "",
        "Pengaturan WEBHOOK_PORT tidak sah: harus bilangan bulat.\n"
        "Perbaiki nilainya di .env atau di lingkungan (lihat .env.example).\n",
    )


def test_unknown_nip_speaks_of_the_person_not_a_file(env, capsys):
    assert run(capsys, "impor-kantor", str(SAMPLE_OFFICE))[0] == 0
    code, out, _ = run(capsys, "undangan-baru", "kecamatan-sukamaju", "19990101 200001 1 001")
    assert code == 1
    assert out == (
        "Pegawai dengan NIP 19990101 200001 1 001 tidak ada di Kecamatan Sukamaju. "
        "Lihat daftarnya dengan: kinerja-bot daftar-orang kecamatan-sukamaju\n"
    )
    assert "Berkas" not in out


def test_demo_output_that_is_a_file_is_refused_before_playing(env, capsys, monkeypatch):
    played: list[Path] = []

    async def fake(out_dir: Path, **_kwargs: object) -> None:
        played.append(out_dir)

    monkeypatch.setattr(demo_module, "run_demo", fake)
    (env / "laporan.pdf").write_bytes(b"%PDF")
    assert run(capsys, "demo", "--keluaran", "laporan.pdf") == (
        3,
        "",
        "laporan.pdf sudah ada sebagai berkas, bukan folder.\n"
        "Pilih folder lain, mis. --keluaran hasil/\n",
    )
    assert played == []


def test_file_arguments_are_named_precisely(env, capsys):
    assert run(capsys, "impor-kantor", str(SAMPLE_OFFICE))[0] == 0
    (env / "folder.xlsx").mkdir()
    (env / "pk.pdf").write_bytes(b"%PDF-1.7")
    cases = {
        "tidak-ada.xlsx": "Berkas tidak-ada.xlsx tidak ditemukan.\n"
        f"Periksa nama dan foldernya (folder kerja sekarang: {env}).\n",
        "folder.xlsx": "folder.xlsx adalah folder, bukan berkas.\n"
        "Tulis nama berkasnya, mis. pk.xlsx\n",
        "pk.pdf": "pk.pdf bukan berkas Excel (.xlsx).\nPilih berkas Excel (.xlsx), mis. pk.xlsx\n",
    }
    for name, said in cases.items():
        assert run(capsys, "impor-pk", "kecamatan-sukamaju", name) == (3, "", said), name
    assert run(capsys, "templat-pk", "folder.xlsx")[0] == 3
    assert run(capsys, "templat-pk", "pk.csv") == (
        3,
        "",
        "pk.csv bukan berkas Excel (.xlsx).\nPilih berkas Excel (.xlsx), mis. pk.xlsx\n",
    )
    assert not (env / "pk.csv").exists()
    assert run(capsys, "cadangkan", ".")[0] == 3
    code, _, err = run(capsys, "ekspor-log", "kecamatan-sukamaju", "TW III 2026", ".")
    assert code == 3 and err.startswith(". adalah folder, bukan berkas.")


def test_readme_commands_exist():
    """The command list the README test checks against is the CLI's own."""
    assert set(build_cli().commands) == {spec.name for spec in COMMANDS}


# --- periksa ---------------------------------------------------------------------------------


async def test_periksa_against_the_emulator(tmp_path: Path, emu: BotApiEmulator):
    from tests.botproc import TOKEN

    base = f"http://127.0.0.1:{emu.port}"
    env = clean_env(
        tmp_path,
        TELEGRAM_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=base,
        TELEGRAM_BOT_USERNAME="kinerja_uji_bot",
    )
    code, out, err = await cli_process(env, "periksa")
    lines = out.splitlines()
    assert code == 0, out + err
    assert err == ""
    assert lines[0] == "✓ Pengaturan: terbaca, bot @kinerja_uji_bot, zona bawaan Asia/Jakarta"
    assert lines[1].startswith("✓ Basis data: sqlite+aiosqlite:///") and "belum ada" in lines[1]
    assert lines[2] == f"✓ Bot API: 127.0.0.1:{emu.port} menjawab, bot @kinerja_uji_bot"
    assert lines[3].startswith("✓ Templat: ") and lines[4].startswith("✓ Zona waktu: Asia/Jakarta")
    assert lines[-1] == "Semua pemeriksaan lolos."
    assert not (tmp_path / "bot.db").exists()  # periksa changes nothing

    env.update(TELEGRAM_TOKEN=SECRET, DEFAULT_TZ="Asia/Atlantis")
    code, out, err = await cli_process(env, "periksa")
    assert code == 8 and err == ""
    assert (
        f"✗ Token Telegram ditolak oleh server Bot API (127.0.0.1:{emu.port}). "
        "Periksa TELEGRAM_TOKEN di .env" in out
    )
    assert '✗ Zona waktu: "Asia/Atlantis" tidak dikenal.' in out
    assert out.splitlines()[-1].startswith("2 pemeriksaan gagal;")
    assert SECRET not in out and "Traceback" not in out


async def test_webhook_port_in_use(tmp_path: Path, emu: BotApiEmulator):
    from tests.botproc import TOKEN

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = clean_env(
            tmp_path,
            TELEGRAM_TOKEN=TOKEN,
            TELEGRAM_BASE_URL=f"http://127.0.0.1:{emu.port}",
            TELEGRAM_WEBHOOK_URL="https://kinerja.contoh.invalid/telegram",
            TELEGRAM_WEBHOOK_SECRET="rahasia_webhook",
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
        code, out, err = await cli_process(env, "jalan")
    assert code == 4, err
    assert err.endswith(
        f"Alamat 127.0.0.1:{port} untuk webhook sudah dipakai proses lain.\n"
        "Hentikan proses itu (mungkin bot yang sudah berjalan) atau ganti WEBHOOK_PORT di .env.\n"
    )
    assert "Traceback" not in err and TOKEN not in out + err
