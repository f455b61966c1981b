"""The province load test (bench/province.py): its counting, and a tiny run of the whole thing.

The tiny run starts real bot processes (2 webhook workers, one SIGKILLed halfway and restarted,
and a ``pekerja``) on PostgreSQL; it asserts counts, never times.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.province import compare, normalised, summarise

ROOT = Path(__file__).resolve().parent.parent


def test_compare_counts_lost_doubled_and_out_of_order() -> None:
    want = ["a", "b", "c", "d"]
    assert compare(want, want) == (0, 0, 0)
    assert compare(["a", "c", "d"], want) == (1, 0, 0)
    assert compare(["a", "b", "b", "c", "d"], want) == (0, 1, 0)
    assert compare(["a", "c", "b", "d"], want) == (0, 0, 1)
    assert compare([], want) == (4, 0, 0)


def test_transcripts_are_compared_without_digits_or_spacing() -> None:
    one = normalised([(0.0, "send", "Kasi 1000017:  9 Kegiatan")])
    other = normalised([(1.0, "send", "Kasi 1000021: 9\nKegiatan")])
    assert one == other == ["send:Kasi #: # Kegiatan"]
    assert normalised([(0.0, "edit", "x")]) != normalised([(0.0, "send", "x")])


@pytest.mark.slow
@pytest.mark.e2e
def test_tiny_province_run_loses_doubles_and_reorders_nothing(tmp_path: Path) -> None:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the province run needs PostgreSQL (TEST_DATABASE_URL)")
    env = {**os.environ, "BENCH_DATABASE_URL": asyncio.run(_side_database(url, "province"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--only=province",
            "--province-people=50",
            "--province-offices=5",
            "--province-web=2",
            "--province-active=10",
            "--province-profile-s=0",
            f"--out={tmp_path}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads((tmp_path / "latest.json").read_text())["figures"]
    assert [f for f in figures if "error" in f] == []
    by_name = {f["figure"]: f for f in figures}
    for name in ("province lost", "province doubled", "province out-of-order"):
        assert by_name[name]["value"] == 0, by_name[name]
        assert by_name[name]["floor"] > 0  # there were messages to lose
    run = by_name["province updates/s"]["extra"]
    assert run["killed"]["worker"] == "web1" and run["killed"]["restarted_after_s"] == 5.0
    assert run["finished"] == run["people"] == 49  # one Kasi went first, alone (the reference)
    assert run["updates"] == 49 * 5
    assert run["database"]["worksheets"] == {"submitted": 50}
    assert run["database"]["cycle_steps"] == {"olah_data": 5}  # every office moved on, once
    assert set(run["database"]["outbox"]) == {"sent"}
    assert run["database"]["inbox"] == {"done": 50 * 5}
    assert "province lost" in done.stdout


def test_profile_summary_separates_waiting_from_work() -> None:
    raw = "\n".join(
        [
            "run (asyncio/runners.py:118);select (selectors.py:468) 70",
            "run (asyncio/runners.py:118);_worker (concurrent/futures/thread.py:81);"
            "wait (threading.py:320) 10",
            "run (asyncio/runners.py:118);drain (bot/workers/delivery.py:96);"
            "execute (asyncpg/connection.py:300) 20",
        ]
    )
    summary = summarise(raw)
    assert summary["samples"] == 100 and summary["idle_share"] == 0.8
    assert summary["top_self"] == {"execute (asyncpg/connection.py:300)": 0.2}
    assert summary["top_ours_inclusive"] == {"drain (bot/workers/delivery.py:96)": 0.2}


async def _side_database(url: str, suffix: str) -> str:
    """A fresh database beside the test database (the bench wipes its own and refuses the
    shared one), on the same server."""
    base = make_url(url)
    side = base.set(database=f"{base.database}_{suffix}")
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{side.database}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{side.database}"'))
    finally:
        await engine.dispose()
    return side.render_as_string(hide_password=False)
