"""One document job in a process of its own, so its peak RSS is its own.

``python -m bench.docjob KIND ROWS [CELLS]`` prints one JSON line: seconds and peak RSS (MiB),
plus the RSS before the timed part (imports and the input data). KIND is ``rekap`` (the
product's ``reports.xlsx.build_rekap``), ``cells`` (dump the cell values of a rekap to a pickle
file, untimed), ``rekap-floor`` (openpyxl write-only of those cells), ``laporan``
(``reports.pdf.render_laporan_pdf``) or ``laporan-floor`` (WeasyPrint on a bare jinja2 table
of the same rows).
"""

from __future__ import annotations

import dataclasses
import io
import json
import pickle
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECTIONS = 10

BARE_TABLE = """<!doctype html><html><head><meta charset="utf-8"><style>
@page { size: A4 landscape; margin: 15mm }
body { font-family: sans-serif; font-size: 9pt }
table { border-collapse: collapse; width: 100% }
td, th { border: 0.5pt solid #000; padding: 2pt; vertical-align: top }
</style></head><body><h1>{{ title }}</h1>{% for s in sections %}<h2>{{ s.nama }}</h2>
<table><tr><th>No</th><th>Kode</th><th>Sasaran</th><th>Indikator</th><th>Satuan</th>
<th>Target</th><th>Realisasi</th><th>Capaian</th><th>Predikat</th><th>Kendala</th>
<th>Upaya</th></tr>{% for r in s.rows %}<tr><td>{{ r.no }}</td><td>{{ r.kode }}</td>
<td>{{ r.sasaran }}</td><td>{{ r.indikator }}</td><td>{{ r.satuan }}</td>
<td>{{ r.target_sd }}</td><td>{{ r.realisasi_sd }}</td><td>{{ r.capaian_sd }}</td>
<td>{{ r.predikat }}</td><td>{{ r.kendala }}</td><td>{{ r.upaya }}</td></tr>{% endfor %}
</table>{% endfor %}</body></html>"""


def rss_mib() -> float:
    """Peak RSS of this process (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_data(rows: int) -> Any:
    """The sample office's TW III report, its rows repeated to ``rows`` in 10 sections."""
    from tests.report_fixtures import sample_report_data

    base = sample_report_data("TW")
    pool = base.all_rows
    template = base.sections[0]
    sections = []
    per = -(-rows // SECTIONS)
    for s in range(SECTIONS):
        n = min(per, rows - s * per)
        if n <= 0:
            break
        picked = tuple(
            dataclasses.replace(pool[(s * per + i) % len(pool)], no=i + 1, kode=f"B{s:02d}-{i + 1}")
            for i in range(n)
        )
        sections.append(
            dataclasses.replace(template, kode=f"B{s:02d}", nama=f"Seksi Bench {s}", rows=picked)
        )
    return dataclasses.replace(base, sections=tuple(sections))


def _rekap(rows: int, _: str) -> dict[str, Any]:
    from reports.xlsx import build_rekap

    data = report_data(rows)
    before = rss_mib()
    t0 = time.perf_counter()
    out = build_rekap(data)
    return {"seconds": time.perf_counter() - t0, "rss_before_mib": before, "bytes": len(out)}


def _cells(rows: int, path: str) -> dict[str, Any]:
    from openpyxl import load_workbook

    from reports.xlsx import build_rekap

    wb = load_workbook(io.BytesIO(build_rekap(report_data(rows))), read_only=True)
    sheets = [(ws.title, [list(r) for r in ws.iter_rows(values_only=True)]) for ws in wb]
    Path(path).write_bytes(pickle.dumps(sheets))
    return {"cells": sum(len(r) for _, rs in sheets for r in rs)}


def _rekap_floor(_: int, path: str) -> dict[str, Any]:
    from openpyxl import Workbook

    sheets = pickle.loads(Path(path).read_bytes())
    before = rss_mib()
    t0 = time.perf_counter()
    wb = Workbook(write_only=True)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return {"seconds": time.perf_counter() - t0, "rss_before_mib": before, "bytes": buf.tell()}


def _pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def _laporan(rows: int, _: str) -> dict[str, Any]:
    import weasyprint  # noqa: F401  # imported before the timing, as in the floor's job

    from reports.pdf import render_laporan_pdf

    data = report_data(rows)
    before = rss_mib()
    t0 = time.perf_counter()
    pdf = render_laporan_pdf(data)
    return {"seconds": time.perf_counter() - t0, "rss_before_mib": before, "pdf": pdf}


def _laporan_floor(rows: int, _: str) -> dict[str, Any]:
    from jinja2 import Environment
    from weasyprint import HTML

    data = report_data(rows)
    before = rss_mib()
    t0 = time.perf_counter()
    html = (
        Environment(autoescape=True)
        .from_string(BARE_TABLE)
        .render(title=data.period_label, sections=data.sections)
    )
    pdf = HTML(string=html).write_pdf()
    return {"seconds": time.perf_counter() - t0, "rss_before_mib": before, "pdf": pdf}


JOBS = {
    "rekap": _rekap,
    "cells": _cells,
    "rekap-floor": _rekap_floor,
    "laporan": _laporan,
    "laporan-floor": _laporan_floor,
}


def main(argv: list[str]) -> None:
    kind, rows, path = argv[0], int(argv[1]), argv[2] if len(argv) > 2 else ""
    result = JOBS[kind](rows, path)
    result["rss_mib"] = rss_mib()  # the peak, taken before anything is counted afterwards
    pdf = result.pop("pdf", None)
    if pdf is not None:
        result["pages"] = _pages(pdf)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
