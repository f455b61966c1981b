"""``python -m bench.table [FILE]``: a results JSON (default ``bench/results/latest.json``) as the
Markdown table the README carries."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.__main__ import ROOT, _num


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| figure | size | value | floor (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["figures"]:
        if "error" in r:
            lines.append(f"| {r['figure']} | | error: {r['error'][:80]} | | | | |")
            continue
        met = {True: "yes", False: "**no**", None: "–"}[r["met"]]
        error = r.get("extra", {}).get("error", "").splitlines()
        note = f", failed: {error[0].rsplit(') ', 1)[-1][:60]}" if error else ""
        lines.append(
            f"| {r['figure']} | {r['size']} | {_num(r['value'])} {r['unit']}{note} "
            f"| {_num(r['floor'])} {r['floor_unit']}: {r['floor_what']} "
            f"| {r['ratio']:.3g}× | {r['target']} | {met} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else ROOT / "bench" / "results" / "latest.json"
    print(markdown(json.loads(path.read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main(sys.argv[1:])
