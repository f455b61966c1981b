"""Asking for a document: the rekap (xlsx) or the laporan (PDF) of a cycle.

A request is a DocumentJob row written in the caller's transaction (so it survives a crash);
bot/workers/documents.py renders it outside the event loop and sends the file. Channel-neutral.
"""

from __future__ import annotations

from typing import Literal

from flows.core import texts
from flows.core.context import Ctx
from flows.domain.periods import Period
from flows.sop.report_data import normalize_period_key
from reports.data import ReportData
from reports.data import file_name as _report_file_name
from reports.esakip import EsakipData
from reports.esakip import file_name as esakip_file_name
from storage.models import Cycle, DocumentJob

__all__ = ["KINDS", "MIME", "DocumentKind", "file_name", "kind_word", "request"]

DocumentKind = Literal["rekap", "laporan", "esakip"]
KINDS: tuple[str, ...] = ("rekap", "laporan", "esakip")
MIME: dict[str, str] = {
    "rekap": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "laporan": "application/pdf",
    "esakip": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def file_name(kind: str, data: ReportData | EsakipData) -> str:
    """Rekap_Kinerja_TW_III_2026_Kecamatan_Sukamaju.xlsx / Laporan_Kinerja_….pdf."""
    if isinstance(data, EsakipData):
        return esakip_file_name(data)
    return _report_file_name("Laporan" if kind == "laporan" else "Rekap", data)


def kind_word(kind: str) -> str:
    """What the document is called in a message ("Rekap kinerja")."""
    return texts.render("dokumen/jenis", kind=kind)


def period_of_key(key: str) -> Period:
    """A Period from a job's key ("2026-TW3", "2026-S1", "2026-Y" or "2026-TAHUN")."""
    return normalize_period_key(key)


async def request(
    ctx: Ctx,
    cycle: Cycle,
    kind: str,
    recipients: list[int],
    *,
    final: bool = False,
    period_key: str | None = None,
    note: str = "",
) -> DocumentJob:
    """Queue a document for ``recipients`` and tell each of them it is being made."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind: {kind!r}")
    period = period_of_key(period_key or cycle.period_key)
    people = list(dict.fromkeys(int(p) for p in recipients))
    job = DocumentJob(
        cycle_id=cycle.id,
        kind=kind,
        period_key=period.key,
        final=final,
        recipients=people,
        note=note,
        status="pending",
        attempts=0,
        error="",
        created_at=ctx.now,
    )
    ctx.session.add(job)
    await ctx.session.flush()
    text = texts.render("dokumen/sedang_dibuat", jenis=kind_word(kind), periode=period, final=final)
    for person_id in people:
        ctx.send(person_id, text, dedupe_key=f"dokumen:{job.id}:diminta:{person_id}")
    return job
