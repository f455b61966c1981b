"""``python -m bench``: every figure of issue 15 beside its floor, measured in this one run.

Prints one table and writes ``bench/results/latest.json`` plus a dated copy. ``--quick`` uses
small sizes (about a minute); the default sizes are the issue's. Set ``BENCH_DATABASE_URL``
(a PostgreSQL database of your own, never ``test``) to measure inbound on PostgreSQL too.
The province load test (issue 14, minutes, real processes) runs only when asked:
``--only province`` (it needs ``BENCH_DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import documents, fanout, inbound, province, startup, sweep  # noqa: E402
from bench.common import Result, fresh_db  # noqa: E402

FULL = {
    "kasi": 300,
    "indicators": 2,
    "sheets": 100_000,
    "messages": 10_000,
    "ceiling_messages": 2_000,
    "rekap_rows": 50_000,
    "laporan_rows": 500,
    "province_people": 5_000,
    "province_offices": 250,
    "province_web": 3,
    "province_active": 200,
    "province_profile_s": 60,
    "province_budget_s": 0,
}
QUICK = {
    "kasi": 20,
    "indicators": 1,
    "sheets": 1_000,
    "messages": 120,
    "ceiling_messages": 200,
    "rekap_rows": 300,
    "laporan_rows": 20,
    "province_people": 50,
    "province_offices": 5,
    "province_web": 2,
    "province_active": 10,
    "province_profile_s": 0,
    "province_budget_s": 0,
}
FIGURES = (
    "inbound",
    "inbound-pg",
    "startup",
    "sweep",
    "fanout",
    "ceiling",
    "rekap",
    "laporan",
    "province",
)
#: Figures left out unless named in ``--only`` (they take minutes and need PostgreSQL).
ON_REQUEST = ("province",)

Figure = Callable[[], Awaitable[list[Result]]]


def _figures(sizes: dict[str, int], workdir: Path) -> dict[str, Figure]:
    async def inbound_on(where: str | Path) -> list[Result]:
        async with fresh_db(where, "inbound") as db:
            return await inbound.measure(db, sizes["kasi"], sizes["indicators"])

    async def inbound_pg() -> list[Result]:
        url = os.environ.get("BENCH_DATABASE_URL", "")
        return await inbound_on(url) if url else []

    async def province_run() -> list[Result]:
        url = os.environ.get("BENCH_DATABASE_URL", "")
        if not url.startswith("postgresql"):
            raise SystemExit("the province figure needs BENCH_DATABASE_URL (PostgreSQL)")
        plan = province.Plan(
            people=sizes["province_people"],
            offices=sizes["province_offices"],
            web=sizes["province_web"],
            active=sizes["province_active"],
            profile=sizes["province_profile_s"],
            budget_s=sizes["province_budget_s"],
        )
        return await province.measure(url, plan, workdir)

    return {
        "inbound": lambda: inbound_on(workdir),
        "inbound-pg": inbound_pg,
        "startup": lambda: startup.measure(workdir, sizes["sheets"]),
        "sweep": lambda: sweep.measure(workdir, sizes["sheets"]),
        "fanout": lambda: fanout.as_built(workdir, sizes["messages"]),
        "ceiling": lambda: fanout.ceiling(workdir, sizes["ceiling_messages"]),
        "rekap": lambda: documents.rekap(workdir, sizes["rekap_rows"]),
        "laporan": lambda: documents.laporan(sizes["laporan_rows"]),
        "province": province_run,
    }


def _num(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def table(results: list[dict[str, Any]]) -> str:
    """One plain-text table: figure, value, floor, ratio, target, met."""
    head = ("figure", "value", "floor", "ratio", "target", "met")
    rows = [head]
    for r in results:
        if "error" in r:
            rows.append((r["figure"], "ERROR", "", "", r["error"][:60], ""))
            continue
        met = {True: "yes", False: "NO", None: "-"}[r["met"]]
        rows.append(
            (
                r["figure"],
                f"{_num(r['value'])} {r['unit']}",
                f"{_num(r['floor'])} {r['floor_unit']}",
                f"{r['ratio']:.3g}x",
                r["target"],
                met,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def median_runs(runs: list[list[Result]]) -> list[Result]:
    """Per figure, the run with the median ratio (value and floor stay from one run)."""
    merged = []
    for same in zip(*runs, strict=True):
        ordered = sorted(same, key=lambda r: r.ratio)
        pick = ordered[(len(ordered) - 1) // 2]
        if len(same) > 1:
            pick.extra["ratios_of_runs"] = [r.ratio for r in same]
        merged.append(pick)
    return merged


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    p.add_argument("--only", default="", help=f"comma-separated figures of: {', '.join(FIGURES)}")
    for key, value in FULL.items():
        p.add_argument(f"--{key.replace('_', '-')}", type=int, help=f"size (full: {value:,})")
    p.add_argument("--repeat", type=int, default=1, help="runs per figure; the median is kept")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="JSON folder")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = dict(QUICK if args.quick else FULL)
    for key in sizes:
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    chosen = [f.strip() for f in args.only.split(",") if f.strip()] or [
        f for f in FIGURES if f not in ON_REQUEST
    ]
    unknown = set(chosen) - set(FIGURES)
    if unknown:
        raise SystemExit(f"unknown figure(s): {', '.join(sorted(unknown))}")
    started = datetime.now().astimezone()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kinerja-bench-") as tmp:
        figures = _figures(sizes, Path(tmp))
        for name in chosen:
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            try:
                runs = [await figures[name]() for _ in range(args.repeat)]
                results += [r.as_json() | {"group": name} for r in median_runs(runs)]
            except Exception as exc:  # noqa: BLE001 - one broken figure must not lose the rest
                traceback.print_exc()
                results.append({"figure": name, "group": name, "error": repr(exc)})
            if args.out:  # a long run keeps what it has measured so far
                args.out.mkdir(parents=True, exist_ok=True)
                partial = json.dumps({"sizes": sizes, "figures": results}, indent=2, default=str)
                (args.out / "partial.json").write_text(partial + "\n", encoding="utf-8")
    return {
        "date": started.isoformat(timespec="seconds"),
        "seconds": (datetime.now().astimezone() - started).total_seconds(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "quick": args.quick,
        "sizes": sizes,
        "figures": results,
    }


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    logging.basicConfig(level=logging.WARNING)
    report = asyncio.run(run(args))
    print(table(report["figures"]))
    args.out.mkdir(parents=True, exist_ok=True)
    body = json.dumps(report, indent=2, default=str)
    stamp = report["date"][:16].replace(":", "")
    for name in ("latest.json", f"{stamp}{'-quick' if args.quick else ''}.json"):
        (args.out / name).write_text(body + "\n", encoding="utf-8")
    (args.out / "partial.json").unlink(missing_ok=True)
    print(f"[bench] wrote {args.out / 'latest.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
