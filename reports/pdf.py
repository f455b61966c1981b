"""The laporan (Laporan Pengukuran Kinerja) as HTML (jinja2) and PDF (WeasyPrint).

WeasyPrint takes seconds for a full laporan and holds the interpreter lock, so the bot calls
``render_laporan_pdf_async``, which renders in a separate process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from reports._fmt import (
    NEUTRAL,
    PALETTE,
    fmt_capaian,
    fmt_date,
    fmt_datetime,
    fmt_nip,
    fmt_number,
    fmt_percent,
    on_time_label,
    predikat_color,
    tz_abbr,
)
from reports.chart import Bar, bar_chart_svg
from reports.data import IndicatorRow, ReportData, SectionReport

TEMPLATES = Path(str(resources.files("templates")))
TEMPLATE = "laporan/laporan.html"
PERIOD_WORD = {"TW": "triwulan", "SEMESTER": "semester", "TAHUN": "tahun"}


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
    )
    env.filters.update(
        num=fmt_number,
        cap=fmt_capaian,
        pct=fmt_percent,
        date_id=fmt_date,
        nip=fmt_nip,
        on_time=on_time_label,
        join_or=lambda words: _join(list(words), "atau"),
    )
    return env


# ---------------------------------------------------------------- view model


@dataclass(frozen=True)
class SasaranGroup:
    sasaran: str
    rows: tuple[IndicatorRow, ...]


@dataclass(frozen=True)
class SectionView:
    letter: str
    section: SectionReport
    groups: tuple[SasaranGroup, ...]


@dataclass(frozen=True)
class LowRow:
    section: SectionReport
    row: IndicatorRow


def _groups(rows: Sequence[IndicatorRow]) -> tuple[SasaranGroup, ...]:
    by: dict[str, list[IndicatorRow]] = {}
    for row in rows:
        by.setdefault(row.sasaran, []).append(row)
    return tuple(SasaranGroup(s, tuple(r)) for s, r in by.items())


def _letter(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else str(i + 1)


def _join(words: Sequence[str], conj: str = "dan") -> str:
    """["a", "b", "c"] → "a, b, dan c" (or "a, b, atau c")."""
    if len(words) <= 2:
        return f" {conj} ".join(words)
    return ", ".join(words[:-1]) + f", {conj} " + words[-1]


def _quoted(text: str) -> str:
    return f"“{text}”"


def _capaian_key(pair: tuple[SectionReport, IndicatorRow]) -> Decimal:
    value = pair[1].capaian_sd
    return Decimal(0) if value is None else value


def sasaran_analysis(data: ReportData) -> list[tuple[str, Decimal | None, str]]:
    """Per sasaran: (sasaran, average, a short generated analysis in formal Indonesian)."""
    out = []
    pairs = [(s, r) for s in data.sections for r in s.rows]
    low_levels = [lvl for lvl in data.predikat_levels if lvl in data.low_predikat]
    for sasaran, average in data.sasaran_averages:
        rows = [(s, r) for s, r in pairs if r.sasaran == sasaran]
        measured = [(s, r) for s, r in rows if r.capaian_sd is not None]
        unmeasured = len(rows) - len(measured)
        text = f"Sasaran {_quoted(sasaran)} diukur melalui {len(rows)} indikator kinerja"
        if unmeasured:
            text += f", {unmeasured} di antaranya belum dapat diukur pada periode ini"
        text += ". "
        if not measured:
            text += "Capaian sasaran ini belum dapat dihitung pada periode ini."
            out.append((sasaran, average, text))
            continue
        text += f"Rata-rata capaian sasaran ini sebesar {fmt_percent(average)}. "
        best = max(measured, key=_capaian_key)
        worst = min(measured, key=_capaian_key)
        if len(measured) == 1 or best[1] is worst[1]:
            text += (
                f"Indikator {_quoted(best[1].indikator)} ({best[0].nama}) mencapai "
                f"{fmt_percent(best[1].capaian_sd)}. "
            )
        else:
            text += (
                f"Capaian tertinggi terdapat pada indikator {_quoted(best[1].indikator)} "
                f"({best[0].nama}) sebesar {fmt_percent(best[1].capaian_sd)}, sedangkan "
                f"capaian terendah terdapat pada indikator {_quoted(worst[1].indikator)} "
                f"({worst[0].nama}) sebesar {fmt_percent(worst[1].capaian_sd)}. "
            )
        low = [r for _, r in measured if r.predikat in data.low_predikat]
        if low:
            found = [lvl for lvl in low_levels if any(r.predikat == lvl for r in low)]
            text += (
                f"Masih terdapat {len(low)} indikator dengan predikat {_join(found)}; "
                "kendala dan upaya tindak lanjutnya diuraikan pada Bab IV."
            )
        elif average is not None and average >= 100:
            text += "Secara umum target sasaran ini telah tercapai."
        else:
            text += "Seluruh indikator pada sasaran ini berada pada predikat baik."
        out.append((sasaran, average, text.strip()))
    return out


def _context(data: ReportData) -> dict[str, object]:
    sections = tuple(
        SectionView(_letter(i), s, _groups(s.rows)) for i, s in enumerate(data.sections)
    )
    low_rows = tuple(
        LowRow(s, r) for s in data.sections for r in s.rows if r.predikat in data.low_predikat
    )
    chart = bar_chart_svg(
        [Bar(s.nama, s.average_capaian, s.predikat) for s in data.sections],
        data.predikat_levels,
    )
    all_rows = data.all_rows
    by_level = {lvl: sum(1 for r in all_rows if r.predikat == lvl) for lvl in data.predikat_levels}
    has_tw_targets = any(r.targets_tw for r in all_rows)
    section_of = {id(r): s for s in data.sections for r in s.rows}
    pk_groups = tuple(
        (g.sasaran, tuple((section_of[id(r)], r) for r in g.rows)) for g in _groups(all_rows)
    )
    low_kodes = [
        (lvl, [lr.row.kode for lr in low_rows if lr.row.predikat == lvl])
        for lvl in data.predikat_levels
        if lvl in data.low_predikat
    ]
    kepala = data.office.kepala
    return {
        "data": data,
        "office": data.office,
        "kepala": kepala,
        "signature_title": kepala.jabatan.upper(),
        "period_word": PERIOD_WORD.get(data.period_kind, "periode"),
        "p": data.short,
        "sections": sections,
        "low_rows": low_rows,
        "low_levels": [lvl for lvl in data.predikat_levels if lvl in data.low_predikat],
        "chart_svg": Markup(chart),
        "analysis": sasaran_analysis(data),
        "by_level": by_level,
        "n_rows": len(all_rows),
        "n_unmeasured": sum(1 for r in all_rows if r.capaian_sd is None),
        "has_tw_targets": has_tw_targets,
        "pk_groups": pk_groups,
        "all_rows": all_rows,
        "unmeasured_in": {
            s.kode: sum(1 for r in s.rows if r.predikat is None) for s in data.sections
        },
        "low_kodes": [(lvl, kodes) for lvl, kodes in low_kodes if kodes],
        "tz_abbr": tz_abbr(data.tz),
        "fmt_dt": lambda dt: fmt_datetime(dt, data.tz),
        # a class per colour: an inline style on every cell costs WeasyPrint a CSS parse each
        "pcolor": lambda p: predikat_color(p, data.predikat_levels),
        "colors": (*PALETTE, NEUTRAL),
        "show_ranges": len(data.predikat_ranges) == len(data.predikat_levels),
        "ranged": [r for v in sections for g in v.groups for r in g.rows if r.sisi_rentang],
        "letter": _letter,
    }


# ---------------------------------------------------------------- rendering


def render_laporan_html(data: ReportData) -> str:
    """The laporan as a self-contained HTML document (CSS inlined, chart as inline SVG)."""
    return _html(data, "all")


def _html(
    data: ReportData,
    part: str,
    sheet_marks: Sequence[Sequence[tuple[int, str]]] = (),
    context: dict[str, object] | None = None,
) -> str:
    context = _context(data) if context is None else context
    return _env().get_template(TEMPLATE).render(part=part, sheet_marks=sheet_marks, **context)


def render_laporan_pdf(data: ReportData) -> bytes:
    """The laporan as PDF bytes (blocking; seconds for a full office).

    WeasyPrint holds the layout of every page until the PDF is written, so one document of a
    large office peaks at its whole size. It is made in two documents instead: Lampiran 1 (the
    formulir, most of the pages) alone, then everything else with as many empty pages where
    Lampiran 1 goes; those pages carry the running head, the page numbers and the bookmarks,
    and Lampiran 1's pages are laid over them. The peak is the larger of the two.
    """
    import gc

    context = _context(data)
    sheets = _layout(_html(data, "sheets", context=context))
    marks = [[(level, label) for level, label, *_ in page.bookmarks] for page in sheets.pages]
    sheets_pdf = sheets.write_pdf()
    del sheets
    gc.collect()
    main = _layout(_html(data, "main", marks, context))
    start = next(i for i, page in enumerate(main.pages) if "lampiran-1" in page.anchors)
    main_pdf = main.write_pdf()
    del main
    gc.collect()
    return _lay_over(main_pdf, sheets_pdf, start)


def _lay_over(main_pdf: bytes, sheets_pdf: bytes, start: int) -> bytes:
    """``main_pdf`` with each page of ``sheets_pdf`` drawn on its pages from ``start`` on.

    Each sheet page becomes a form XObject with its own resources, drawn first on the empty
    page (which keeps its running head and page number, and stays the page that the outline
    and the table of contents point to). Nothing is parsed or renamed, so it takes a
    fraction of a second where pypdf's ``merge_page`` would parse every content stream.
    """
    import io

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    final = PdfWriter(clone_from=PdfReader(io.BytesIO(main_pdf)))
    for i, sheet in enumerate(PdfReader(io.BytesIO(sheets_pdf)).pages):
        form = DecodedStreamObject()
        form.set_data(sheet.get_contents().get_data())  # type: ignore[union-attr]
        form.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
                NameObject("/BBox"): sheet.mediabox,
                NameObject("/Resources"): sheet["/Resources"],
            }
        )
        ref = final._add_object(form.flate_encode().clone(final))
        target = final.pages[start + i]
        resources = cast(DictionaryObject, target["/Resources"].get_object())
        if "/XObject" not in resources:
            resources[NameObject("/XObject")] = DictionaryObject()
        xobjects = cast(DictionaryObject, resources["/XObject"].get_object())
        name = f"/KbLampiran{i}"  # pages may share one resource dictionary
        xobjects[NameObject(name)] = ref
        content = DecodedStreamObject()
        content.set_data(f"q {name} Do Q\n".encode() + target.get_contents().get_data())  # type: ignore[union-attr]
        target[NameObject("/Contents")] = final._add_object(content.flate_encode())
    final.compress_identical_objects()  # drops the empty pages' old content streams
    out = io.BytesIO()
    final.write(out)
    return out.getvalue()


def _layout(html: str) -> Any:
    """A laid-out WeasyPrint document of ``html``: data: URIs only, no network, no files."""
    from weasyprint import HTML  # heavy import, kept out of module import time
    from weasyprint.urls import URLFetcher

    return HTML(
        string=html,
        base_url=str(TEMPLATES / "laporan") + "/",
        url_fetcher=URLFetcher(allowed_protocols={"data"}),
    ).render()


def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: ask Linux to kill this worker when the bot dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def make_render_executor(max_workers: int = 1) -> ProcessPoolExecutor:
    """A process pool for PDF rendering (spawn: safe with threads and event loops).

    Workers die with the process that started them (``die_with_parent``), so a crashed bot
    leaves no orphan renderer behind, and each renders one laporan only: WeasyPrint's peak
    (hundreds of MiB for a large office) is never kept by a long-lived process.
    """
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
        max_tasks_per_child=1,  # a fresh worker per laporan: its memory goes back to the system
    )


async def render_laporan_pdf_async(data: ReportData, executor: Executor | None = None) -> bytes:
    """Render the PDF in a worker process so the event loop is never blocked.

    Pass a long-lived executor (see ``make_render_executor``) to reuse a warm worker; without
    one, a one-off process is started and shut down afterwards.
    """
    loop = asyncio.get_running_loop()
    if executor is not None:
        return await loop.run_in_executor(executor, render_laporan_pdf, data)
    pool = make_render_executor()
    try:
        return await loop.run_in_executor(pool, render_laporan_pdf, data)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
