"""The admin command line, run in-process on an SQLite file."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from bot.cli import main
from tests.conftest import SAMPLE_OFFICE


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "kinerja_uji_bot")
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_import_invite_and_open_cycle(env: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["impor-kantor", str(SAMPLE_OFFICE)]) == 0
    out = capsys.readouterr().out
    assert "https://t.me/kinerja_uji_bot?start=" in out
    assert main(["undangan-baru", "kecamatan-sukamaju", "19830507 200604 1 011"]) == 0
    assert "https://t.me/kinerja_uji_bot?start=" in capsys.readouterr().out
    assert main(["buka-siklus", "kecamatan-sukamaju", "TW III 2026"]) == 0
    out = capsys.readouterr().out
    assert "Budi Santoso" in out and "4 indikator" in out
    assert main(["buka-siklus", "kecamatan-sukamaju", "TW III 2026"]) == 1
    assert "sudah pernah dibuka" in capsys.readouterr().out
    assert main(["buka-siklus", "tidak-ada", "TW III 2026"]) == 1
    assert "tidak ditemukan" in capsys.readouterr().out


def test_bad_office_file_imports_nothing(env: Path, capsys: pytest.CaptureFixture[str]):
    bad = env / "rusak.yaml"
    bad.write_text(SAMPLE_OFFICE.read_text().replace("polaritas: negatif", "polaritas: turun", 1))
    assert main(["impor-kantor", str(bad)]) == 1
    assert 'polaritas "turun"' in capsys.readouterr().out
    assert main(["buka-siklus", "kecamatan-sukamaju", "TW III 2026"]) == 1
    assert "tidak ditemukan" in capsys.readouterr().out


def test_pk_template_round_trip(env: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["impor-kantor", str(SAMPLE_OFFICE)]) == 0
    template = env / "pk.xlsx"
    assert main(["templat-pk", str(template)]) == 0
    wb = openpyxl.load_workbook(template)
    ws = wb["PK"]
    headers = [c.value for c in ws[1]]
    row = dict.fromkeys(headers)
    row.update(
        {
            "Kode": "PEM-9",
            "Seksi": "PEM",
            "Sasaran": "Layanan",
            "Indikator": "Uji",
            "Satuan": "Dokumen",
            "Polaritas": "positif",
            "Agregasi": "kumulatif",
            "Target Tahunan": 4,
            "Target TW I": 1,
            "Target TW II": 2,
            "Target TW III": 3,
            "Target TW IV": 4,
        }
    )
    ws.append([row[h] for h in headers])
    wb.save(template)
    capsys.readouterr()
    assert main(["impor-pk", "kecamatan-sukamaju", str(template)]) == 0
    capsys.readouterr()
    assert main(["buka-siklus", "kecamatan-sukamaju", "TW III 2026"]) == 0
    # The sheet lists only PEM-9, so the other indicators were deactivated (never deleted).
    out = capsys.readouterr().out
    assert "Budi Santoso, S.IP (Seksi Pemerintahan): 1 indikator" in out
    assert "Siti" not in out
