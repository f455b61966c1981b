"""The wheel: built from the source, installed into a fresh venv, it runs the offline demo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pypdf
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
#: Not part of a fresh clone: local environments, build output, caches, runtime data.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "data", "out"
)


def _run(args: list[str | Path], cwd: Path, timeout: float = 900) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the source (so no stale build/ leaks into it)."""
    src = tmp_path_factory.mktemp("src") / "kinerja-bot"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCE)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, src], cwd=dist)
    (built,) = dist.glob("kinerja_bot-*.whl")
    return built


def test_the_wheel_holds_templates_presets_sample_office_and_migrations(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "templates/chat/labels.yaml",
        "templates/chat/mulai/selamat_datang.txt",
        "templates/chat/demo/skenario.yaml",
        "templates/laporan/laporan.html",
        "templates/laporan/laporan.css",
        "templates/laporan/riwayat.yaml",
        "flows/sop/presets/kebasen-pengukuran.yaml",
        "examples/sukamaju.yaml",
        "storage/migrations/env.py",
        "storage/migrations/versions/0001_initial_schema.py",
    ):
        assert needed in names
    shipped = {n for n in names if n.startswith("templates/") and not n.endswith(".py")}
    in_tree = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "templates").rglob("*")
        if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts
    }
    assert shipped == in_tree  # every template, none forgotten by a glob


def test_demo_runs_from_the_installed_wheel(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    _run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], cwd=tmp_path)

    # The installed packages are the ones used, not the source tree.
    where = _run(
        [venv / "bin" / "python", "-c", "import templates, flows; print(templates.__file__)"],
        cwd=tmp_path,
    )
    assert Path(where.strip()).is_relative_to(venv)

    out = tmp_path / "keluaran"
    _run([venv / "bin" / "kinerja-bot", "demo", "--keluaran", out], cwd=tmp_path, timeout=300)

    laporan = out / "Laporan_Kinerja_TW_III_2026_Kecamatan_Sukamaju.pdf"
    rekap = out / "Rekap_Kinerja_TW_III_2026_Kecamatan_Sukamaju.xlsx"
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(laporan).pages)
    assert "KECAMATAN SUKAMAJU" in text.upper()
    book = openpyxl.load_workbook(rekap)
    cells = {
        str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
    }
    assert "KECAMATAN SUKAMAJU — KABUPATEN CONTOH" in cells
