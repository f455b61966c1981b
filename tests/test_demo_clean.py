"""The README's first command, as a user runs it: the demo ends cleanly every time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("DEMO_RUNS", "3"))


@pytest.mark.e2e
@pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="the demo always runs on its own SQLite: once per CI run, in the SQLite pass",
)
def test_demo_ends_with_the_files_and_an_empty_stderr_every_time(tmp_path: Path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TELEGRAM_") and k not in ("LOG_LEVEL", "DATABASE_URL")
    }
    env["PYTHONPATH"] = str(ROOT)
    for run in range(RUNS):
        out = tmp_path / f"hasil-{run}"
        done = subprocess.run(
            [sys.executable, "-m", "bot", "demo", "--keluaran", str(out)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr
        assert done.stderr == "", f"run {run + 1}: stderr was\n{done.stderr}"
        assert "Laporan_Kinerja_TW_III_2026_Kecamatan_Sukamaju.pdf" in done.stdout
        assert (out / "Rekap_Kinerja_TW_III_2026_Kecamatan_Sukamaju.xlsx").is_file()
        assert (out / "Laporan_Kinerja_TW_III_2026_Kecamatan_Sukamaju.pdf").is_file()
        assert not (tmp_path / "data").exists()  # the demo never touches ./data
