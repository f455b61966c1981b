"""Rekap xlsx and laporan PDF, each job in a subprocess (time and peak RSS) beside its floor."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bench.common import Result

ROOT = Path(__file__).resolve().parent.parent


async def run_job(kind: str, rows: int, path: str = "") -> dict[str, Any]:
    """Run ``bench.docjob`` in a fresh interpreter; its last stdout line is the JSON result."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.docjob",
        kind,
        str(rows),
        path,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"docjob {kind} failed: {err.decode()[-2000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


async def rekap(workdir: Path, rows: int) -> list[Result]:
    cells = str(workdir / f"cells-{rows}.pickle")
    info = await run_job("cells", rows, cells)
    floor = await run_job("rekap-floor", rows, cells)
    product = await run_job("rekap", rows)
    size = f"{rows:,} indicator rows ({info['cells']:,} cells)"
    return [
        Result(
            "rekap xlsx, time",
            product["seconds"],
            "s",
            floor["seconds"],
            "s",
            "openpyxl write-only, same cells",
            "<= 1.3x floor",
            size,
            met=product["seconds"] <= 1.3 * floor["seconds"],
            extra={"product": product, "floor": floor},
        ),
        Result(
            "rekap xlsx, peak RSS",
            product["rss_mib"],
            "MiB",
            floor["rss_mib"],
            "MiB",
            "openpyxl write-only, same cells",
            "<= 1.5x floor",
            size,
            met=product["rss_mib"] <= 1.5 * floor["rss_mib"],
        ),
    ]


async def laporan(rows: int) -> list[Result]:
    floor = await run_job("laporan-floor", rows)
    product = await run_job("laporan", rows)
    size = f"{rows:,} indicators, {product['pages']} pages (bare: {floor['pages']})"
    return [
        Result(
            "laporan PDF, time",
            product["seconds"],
            "s",
            floor["seconds"],
            "s",
            "WeasyPrint on a bare jinja2 table, same rows",
            "<= 1.5x floor",
            size,
            met=product["seconds"] <= 1.5 * floor["seconds"],
            extra={"product": product, "floor": floor},
        ),
        Result(
            "laporan PDF, peak RSS",
            product["rss_mib"],
            "MiB",
            floor["rss_mib"],
            "MiB",
            "the same bare-table process",
            "<= 400 MiB at 1,000 rows",
            size,
            met=product["rss_mib"] <= 400 if rows >= 1000 else None,
        ),
    ]
