"""Smoke test of the benchmark harness: it runs and reports every figure beside a floor.

No time is asserted: the figures are measurements, not pass/fail checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SMALLEST = [
    "--quick",
    "--kasi=3",
    "--sheets=40",
    "--messages=40",
    "--ceiling-messages=20",
    "--rekap-rows=20",
    "--laporan-rows=5",
]


@pytest.mark.slow
def test_quick_run_reports_every_figure_with_floor_and_ratio(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no BENCH_DATABASE_URL: SQLite only
    done = subprocess.run(
        [sys.executable, "-m", "bench", *SMALLEST, f"--out={tmp_path}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "latest.json").read_text())
    dated = [p for p in tmp_path.glob("*-quick.json")]
    assert len(dated) == 1 and json.loads(dated[0].read_text()) == report
    figures = report["figures"]
    assert [f for f in figures if "error" in f] == []
    groups = {f["group"] for f in figures}
    assert groups == {"inbound", "startup", "sweep", "fanout", "ceiling", "rekap", "laporan"}
    assert len(figures) == 13
    for f in figures:
        assert f["floor"] > 0 and f["value"] >= 0, f
        assert f["ratio"] == pytest.approx(f["value"] / f["floor"]), f
        assert f["target"] and f["floor_what"], f
    inbound = next(f for f in figures if f["figure"] == "inbound SQLite rate")
    assert inbound["extra"]["submitted"] == 3  # every Kasi's sheet really went through
    assert "inbound SQLite rate" in done.stdout and "ratio" in done.stdout
