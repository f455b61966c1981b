"""Channel-neutral input of the rekap (xlsx) and the laporan (PDF).

The report layer only renders what it is given: capaian, averages and predikat are computed
elsewhere (flows/) and arrive here as plain values. Every class is a frozen, picklable
dataclass so a ReportData can be sent to a rendering worker process.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

PeriodKind = Literal["TW", "SEMESTER", "TAHUN"]

DEFAULT_PREDIKAT_LEVELS: tuple[str, ...] = (
    "Sangat Tinggi",
    "Tinggi",
    "Sedang",
    "Rendah",
    "Sangat Rendah",
)
DEFAULT_PREDIKAT_RANGES: tuple[str, ...] = (
    "C > 90",
    "75 < C ≤ 90",
    "65 < C ≤ 75",
    "50 < C ≤ 65",
    "C ≤ 50",
)
DEFAULT_LOW_PREDIKAT: frozenset[str] = frozenset({"Sedang", "Rendah", "Sangat Rendah"})
DEFAULT_QUARTER_LABELS: tuple[str, ...] = ("TW I", "TW II", "TW III", "TW IV")


@dataclass(frozen=True)
class Official:
    """A signing official (the Camat, or whoever heads the office)."""

    name: str
    jabatan: str
    pangkat: str
    nip: str

    @property
    def signature_title(self) -> str:
        """Title above the signature, e.g. "CAMAT SUKAMAJU"."""
        return self.jabatan.upper()


@dataclass(frozen=True)
class Office:
    """The office the report is about; nama like "Kecamatan Sukamaju"."""

    nama: str
    kabupaten: str
    alamat: str
    kota_ttd: str
    kepala: Official
    logo: str = ""  # the lambang daerah as a data: URI (PNG or SVG), for the kop and the cover


@dataclass(frozen=True)
class IndicatorRow:
    """One indicator of one section for the period.

    Numbers are Decimal or None (None = not reported / not measured). capaian_* are raw,
    unrounded percents. ``trend`` holds capaian s.d. TW I..IV for the annual report;
    ``targets_tw`` (optional) the Rencana Aksi targets s.d. TW I..IV for Bab II.
    """

    no: int
    kode: str
    sasaran: str
    indikator: str
    satuan: str
    target_tahunan: Decimal | None
    target_sd: Decimal | None
    realisasi_tw: Decimal | None
    realisasi_sd: Decimal | None
    capaian_sd: Decimal | None
    capaian_tahunan: Decimal | None
    predikat: str | None
    kendala: str
    upaya: str
    penanggung_jawab: str
    evidence: tuple[str, ...] = ()
    trend: tuple[Decimal | None, ...] = ()
    targets_tw: tuple[Decimal | None, ...] = ()
    #: The range that decided capaian_sd, and where realisasi s.d. fell ("bawah"/"dalam"/"atas").
    rentang: tuple[Decimal, Decimal] | None = None
    sisi_rentang: str | None = None


@dataclass(frozen=True)
class SectionReport:
    """One seksi / subbagian: its rows and the state of its worksheet."""

    kode: str
    nama: str
    kepala_nama: str
    rows: tuple[IndicatorRow, ...]
    average_capaian: Decimal | None
    predikat_counts: dict[str, int] = field(hash=False)  # predikat label → indicators
    submitted_at: datetime | None
    submitted_by: str | None
    verified_by: str | None
    verified_at: datetime | None
    predikat: str | None = None  # predikat of average_capaian (colours the chart bar)


@dataclass(frozen=True)
class HistoryEntry:
    """One step of the approval chain (disposisi, submission, verification, approval...)."""

    at: datetime
    actor: str
    role_title: str
    action: str
    note: str
    on_time: bool | None
    late_days: int | None = None  # working days late (when on_time is False)
    due_at: datetime | None = None  # the deadline it answered to, when the history shows one
    late_minutes: int | None = None  # office-hours minutes late (a sheet sent with permission)


@dataclass(frozen=True)
class ValueChange:
    """One change of one stored value (the rekap's Riwayat Nilai sheet), in readers' words."""

    kode: str
    indikator: str
    kolom: str  # "Realisasi", "Pembilang", "Kendala" ...
    lama: str  # as shown ("48,5", "-" for none)
    baru: str
    oleh: str
    at: datetime
    alasan: str
    kanal: str  # "Telegram", "WhatsApp"


@dataclass(frozen=True)
class ReportData:
    """Everything both reports need, for one office and one period."""

    office: Office
    period_label: str  # "Triwulan III 2026" / "Semester I 2026" / "Tahun 2026"
    period_kind: PeriodKind
    period_slug: str  # "TW_III_2026"
    tahun: int
    sections: tuple[SectionReport, ...]
    sasaran_averages: tuple[tuple[str, Decimal | None], ...]
    office_average: Decimal | None
    office_predikat: str | None
    history: tuple[HistoryEntry, ...]
    signed_on: date
    tz: str = "Asia/Jakarta"
    predikat_levels: tuple[str, ...] = DEFAULT_PREDIKAT_LEVELS
    low_predikat: frozenset[str] = field(default=DEFAULT_LOW_PREDIKAT)
    quarter_labels: tuple[str, ...] = DEFAULT_QUARTER_LABELS
    period_short: str = ""  # column-heading form, e.g. "TW III"; derived when empty
    predikat_ranges: tuple[str, ...] = DEFAULT_PREDIKAT_RANGES  # one text per level, for Bab III
    verification_step: bool = True  # False: the SOP has no step that verifies each sheet
    analisis: str = ""  # what the planner wrote at the SOP's analisis step (Bab III)
    value_changes: tuple[ValueChange, ...] = ()  # every value stored, oldest first

    @property
    def short(self) -> str:
        """Period as written in column headings: "TW III", "Semester I", "Tahun 2026"."""
        if self.period_short:
            return self.period_short
        label = self.period_label.strip()
        if self.period_kind == "TAHUN":
            return label
        label = re.sub(r"\s+\d{4}$", "", label)
        return re.sub(r"^Triwulan\b", "TW", label)

    @property
    def is_annual(self) -> bool:
        return self.period_kind == "TAHUN"

    @property
    def all_rows(self) -> tuple[IndicatorRow, ...]:
        return tuple(row for s in self.sections for row in s.rows)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(part: str) -> str:
    ascii_part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
    return _UNSAFE.sub("_", ascii_part).strip("._") or "x"


def file_name(kind: Literal["Rekap", "Laporan"], data: ReportData) -> str:
    """File name for the rekap or the laporan, e.g. Rekap_Kinerja_TW_III_2026_Kecamatan_X.xlsx."""
    ext = {"Rekap": "xlsx", "Laporan": "pdf"}[kind]
    return f"{kind}_Kinerja_{_safe(data.period_slug)}_{_safe(data.office.nama)}.{ext}"
