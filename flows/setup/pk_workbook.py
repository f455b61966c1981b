"""The Perjanjian Kinerja as a workbook: a blank template, reading it back, importing it.

Sheet ``PK``: one row per indicator, the columns of DOMAIN.md §4 with Indonesian headers;
sheet ``Petunjuk`` explains each column and holds an example row. Reading is tolerant
(headers in any case and spacing, a title above the header row, numbers as cells or as
Indonesian text ``1.234,5``) and strict about content: every problem is reported with its
row and column (``baris 7, kolom "Polaritas": ...``). The indicator rules and the upsert are
the ones of the YAML office file (:func:`flows.office_file.parse_indicators`,
:func:`flows.office_import.merge_indicators`).

Text cells are always read as text: a cell that starts with ``=`` is never evaluated. A
number column holding a real formula uses the value Excel saved with it, if any.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.domain.capaian import AGGREGATIONS, POLARITIES
from flows.domain.limits import check_xlsx_bytes
from flows.setup.office_file import (
    IndicatorSpec,
    Locate,
    NumberError,
    OfficeFileError,
    Problems,
    SectionSpec,
    parse_indicators,
    section_lookup,
    to_decimal,
)
from flows.setup.office_import import ImportReport, find_office, merge_indicators
from storage.models import Event, Section

__all__ = [
    "COLUMNS",
    "GUIDE_SHEET",
    "SHEET",
    "import_pk",
    "spec_to_row",
    "read_pk",
    "write_template",
]

SHEET = "PK"
GUIDE_SHEET = "Petunjuk"
TEMPLATE_ROWS = 1000  # rows with drop-down lists
_HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True)
class Column:
    """A PK column: its header, the indicator field it fills, and its guide text."""

    header: str
    field: str
    required: bool
    width: int
    guide: str
    allowed: str = ""
    numeric: bool = False
    in_template: bool = True


_TW = ("I", "II", "III", "IV")
_YES_NO = ("ya", "tidak")

COLUMNS: tuple[Column, ...] = (
    Column("Kode", "kode", True, 10, "Kode unik indikator di kantor ini, misalnya PEM-1. "
           "Kode yang sama pada impor berikutnya memperbarui indikator itu.", "teks, unik"),
    Column("Seksi", "seksi", True, 10, "Kode seksi/subbagian penanggung jawab (seperti di "
           "berkas kantor), misalnya PEM. Nama seksi lengkap juga diterima.", "kode seksi"),
    Column("Sasaran", "sasaran", True, 36, "Sasaran strategis yang didukung indikator ini.",
           "teks"),
    Column("Indikator", "nama", True, 48, "Nama indikator kinerja.", "teks"),
    Column("Satuan", "satuan", True, 12, "Satuan ukuran, misalnya %, Desa, Laporan, Hari.",
           "teks"),
    Column("Polaritas", "polaritas", True, 12, "Arah yang baik: positif = makin tinggi makin "
           "baik; negatif = makin rendah makin baik; stabil = terbaik bila berada di dalam "
           "rentang.", ", ".join(POLARITIES)),
    Column("Agregasi", "agregasi", True, 12, "Cara menggabungkan triwulan: kumulatif = "
           "jumlah tiap triwulan dijumlahkan; terakhir = nilai pada akhir triwulan; rata-rata "
           "= rata-rata triwulan yang dilaporkan; rasio = jumlah pembilang / jumlah penyebut "
           "× 100.", ", ".join(AGGREGATIONS)),
    Column("Target Tahunan", "target_tahunan", True, 10, "Target satu tahun sesuai Perjanjian "
           "Kinerja.", "angka", numeric=True),
    *(
        Column(f"Target TW {tw}", f"target_tw.{i}", True, 9,
               f"Target sampai dengan (s.d.) Triwulan {tw}. Untuk indikator kumulatif, "
               "target s.d. TW IV sama dengan target tahunan (misalnya 3, 6, 9, 12). "
               "Kosongkan bila indikator tidak diukur pada triwulan itu.",
               "angka atau kosong", numeric=True)
        for i, tw in enumerate(_TW)
    ),
    Column("Rentang Bawah", "rentang.bawah", False, 9, "Batas bawah bila target berupa "
           "rentang (misalnya 90 untuk 90–100). Isi bersama Rentang Atas, atau kosongkan "
           "keduanya.", "angka atau kosong", numeric=True),
    Column("Rentang Atas", "rentang.atas", False, 9, "Batas atas rentang target; tidak boleh "
           "lebih kecil dari Rentang Bawah.", "angka atau kosong", numeric=True),
    Column("Sub Kegiatan", "sub_kegiatan", False, 20, "Kode sub kegiatan, misalnya "
           "7.01.02.2.02.0003 (bentuk 7.01.02.2.02.03 juga diterima).", "kode atau kosong"),
    Column("Wajib Bukti", "wajib_bukti", False, 8, "Boleh dikosongkan: ya = Kasi wajib "
           "melampirkan bukti dukung (foto atau dokumen) sebelum kertas kerja dapat dikirim.",
           "ya, tidak"),
    Column("Invers", "invers", False, 8, "Kolom tambahan (boleh tidak ada): ya = capaian "
           "indikator negatif dihitung target / realisasi × 100.", "ya, tidak",
           in_template=False),
    Column("Label Pembilang", "pembilang", False, 24, "Kolom tambahan (boleh tidak ada), "
           "untuk agregasi rasio: pertanyaan pembilang, misalnya \"Jumlah layanan selesai "
           "sesuai SOP\".", "teks", in_template=False),
    Column("Label Penyebut", "penyebut", False, 24, "Kolom tambahan (boleh tidak ada), "
           "untuk agregasi rasio: pertanyaan penyebut, misalnya \"Jumlah layanan masuk\".",
           "teks", in_template=False),
)  # fmt: skip

_BY_FIELD = {c.field: c for c in COLUMNS}
_EXAMPLE = (
    "PEM-2", "PEM", "Meningkatnya kualitas pembinaan dan pengawasan desa",
    "Jumlah desa yang difasilitasi administrasi tata pemerintahan desa", "Desa", "positif",
    "kumulatif", 12, 3, 6, 9, 12, None, None, "7.01.06.2.01.0002", "ya",
)  # fmt: skip
_GUIDE_NOTES = (
    "Satu baris di lembar PK = satu indikator Perjanjian Kinerja. Baris pertama berisi judul "
    "kolom; jangan diubah atau dipindah.",
    "Target triwulan ditulis sampai dengan (s.d.) triwulan itu. Bila target Anda ditulis per "
    "triwulan (misalnya 3, 3, 3, 3), pilih impor per triwulan: target indikator kumulatif "
    "dijumlahkan menjadi 3, 6, 9, 12.",
    "Angka boleh ditulis sebagai angka biasa atau sebagai teks gaya Indonesia (1.234,5). "
    "Jangan memakai rumus; tulis angkanya langsung.",
    "Indikator yang sudah tersimpan tetapi tidak ada lagi di lembar PK akan dinonaktifkan "
    "(tidak dihapus).",
)

_HEAD_FONT = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TITLE_FONT = Font(bold=True, size=13)


# --- the template ------------------------------------------------------------------------------


def _text_cell(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write a value; strings are always string cells (never formulas)."""
    cell = ws.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def write_template(path_or_buffer: str | Path | IO[bytes]) -> None:
    """Write a blank PK workbook: sheet ``PK`` (headers, drop-down lists, frozen header) and
    sheet ``Petunjuk`` (what each column means, allowed values, an example row)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    columns = [c for c in COLUMNS if c.in_template]
    for index, column in enumerate(columns, start=1):
        cell = _text_cell(ws, 1, index, column.header)
        cell.font, cell.fill, cell.alignment = _HEAD_FONT, _HEAD_FILL, _WRAP
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = column.width + 2
        if column.field in ("kode", "sub_kegiatan", "seksi"):
            ws.column_dimensions[letter].number_format = "@"  # typed codes stay text
    ws.freeze_panes = "A2"
    choices = (("polaritas", POLARITIES), ("agregasi", AGGREGATIONS), ("wajib_bukti", _YES_NO))
    for fld, options in choices:
        letter = get_column_letter(next(i for i, c in enumerate(columns, 1) if c.field == fld))
        validation = DataValidation(
            type="list",
            formula1='"' + ",".join(options) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=f"{_BY_FIELD[fld].header} tidak dikenal",
            error="Pilih salah satu: " + ", ".join(options),
            promptTitle=_BY_FIELD[fld].header,
            prompt="Pilih: " + ", ".join(options),
            showInputMessage=True,
        )
        validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        ws.add_data_validation(validation)

    guide = wb.create_sheet(GUIDE_SHEET)
    _text_cell(guide, 1, 1, "Petunjuk pengisian lembar PK (Perjanjian Kinerja)").font = _TITLE_FONT
    row = 3
    for number, note in enumerate(_GUIDE_NOTES, start=1):
        _text_cell(guide, row, 1, f"{number}.")
        _text_cell(guide, row, 2, note).alignment = _WRAP
        guide.merge_cells(start_row=row, start_column=2, end_row=row, end_column=4)
        guide.row_dimensions[row].height = 32
        row += 1
    row += 1
    for index, head in enumerate(("Kolom", "Wajib", "Penjelasan", "Nilai yang boleh"), 1):
        cell = _text_cell(guide, row, index, head)
        cell.font, cell.fill = _HEAD_FONT, _HEAD_FILL
    for column in COLUMNS:
        row += 1
        _text_cell(guide, row, 1, column.header)
        _text_cell(guide, row, 2, "ya" if column.required else "tidak")
        _text_cell(guide, row, 3, column.guide).alignment = _WRAP
        _text_cell(guide, row, 4, column.allowed).alignment = _WRAP
    row += 2
    _text_cell(
        guide, row, 1, "Contoh baris (isi data Anda di lembar PK, bukan di sini):"
    ).font = _HEAD_FONT
    row += 1
    for index, column in enumerate(columns, start=1):
        cell = _text_cell(guide, row, index, column.header)
        cell.font, cell.fill, cell.alignment = _HEAD_FONT, _HEAD_FILL, _WRAP
        _text_cell(guide, row + 1, index, _EXAMPLE[index - 1])
    for letter, width in (("A", 16), ("B", 10), ("C", 70), ("D", 26)):
        guide.column_dimensions[letter].width = width
    wb.save(path_or_buffer)  # type: ignore[arg-type]


# --- reading -----------------------------------------------------------------------------------


def _norm_header(value: Any) -> str:
    text = " ".join(str(value).replace("*", " ").split()).casefold()
    return text.rstrip(":").strip()


_ROMAN = {"i": 0, "ii": 1, "iii": 2, "iv": 3, "1": 0, "2": 1, "3": 2, "4": 3}
_TW_HEADER_RE = re.compile(r"^target\s*(?:s\.?\s*d\.?\s*)?(?:tw|triwulan)\s*(iv|i{1,3}|[1-4])$")
_ALIASES = {
    "nama indikator": "nama",
    "indikator kinerja": "nama",
    "kode indikator": "kode",
    "target": "target_tahunan",
    "target tahun": "target_tahunan",
    "kode sub kegiatan": "sub_kegiatan",
    "subkegiatan": "sub_kegiatan",
    "sub-kegiatan": "sub_kegiatan",
    "label pembilang": "pembilang",
    "pembilang": "pembilang",
    "label penyebut": "penyebut",
    "penyebut": "penyebut",
    "bukti wajib": "wajib_bukti",
    "wajib bukti dukung": "wajib_bukti",
}


def _header_field(value: Any) -> str | None:
    if value is None:
        return None
    text = _norm_header(value)
    for column in COLUMNS:
        if text == _norm_header(column.header):
            return column.field
    m = _TW_HEADER_RE.fullmatch(text)
    if m:
        return f"target_tw.{_ROMAN[m.group(1)]}"
    return _ALIASES.get(text)


def _read_source(source: str | Path | bytes | IO[bytes]) -> bytes:
    if isinstance(source, bytes | bytearray):
        return bytes(source)
    if isinstance(source, str | Path):
        return Path(source).read_bytes()
    return source.read()


def _pick_sheet(wb: Any) -> Worksheet | None:
    for ws in wb.worksheets:
        if ws.title.strip().casefold() == SHEET.casefold():
            return ws  # type: ignore[no-any-return]
    others = [ws for ws in wb.worksheets if ws.title.strip().casefold() != GUIDE_SHEET.casefold()]
    return others[0] if len(others) == 1 else None


def _find_header(ws: Worksheet) -> tuple[int, dict[int, str], list[str]] | None:
    """(header row, column index → field, duplicated headers) or ``None``."""
    for row in ws.iter_rows(min_row=1, max_row=_HEADER_SEARCH_ROWS):
        fields: dict[int, str] = {}
        duplicated: list[str] = []
        for cell in row:
            fld = _header_field(cell.value)
            if fld is None:
                continue
            if fld in fields.values():
                duplicated.append(_BY_FIELD[fld].header)
            else:
                fields[cell.column] = fld  # type: ignore[index]
        if "kode" in fields.values() and "nama" in fields.values():
            return row[0].row, fields, duplicated  # type: ignore[return-value]
    return None


def _locate_row(i: int, raw: Any) -> Locate:
    """Where a PK row's field is: ``baris 7, kolom "Polaritas"``."""
    row = raw.get("baris") if isinstance(raw, Mapping) else None
    if row is None:  # rows that did not come from a sheet
        kode = raw.get("kode") if isinstance(raw, Mapping) else None
        label = f"indikator[{i}] ({kode})" if kode else f"indikator[{i}]"
        return lambda fld: (label, fld)

    def locate(fld: str | None) -> tuple[str, str | None]:
        if fld is None:
            return f"baris {row}", None
        column = _BY_FIELD.get(fld) or _BY_FIELD.get(f"{fld}.bawah")
        if column is None and fld == "target_tw":
            column = _BY_FIELD["target_tw.0"]
        header = column.header if column else fld
        return f'baris {row}, kolom "{header}"', None

    return locate


def _row_label(i: int, raw: Any) -> str:
    row = raw.get("baris") if isinstance(raw, Mapping) else None
    return f"baris {row}" if row is not None else f"indikator[{i}]"


def _text_value(cell: Any) -> Any:
    """A text column's value: formulas and ``=...`` strings stay literal text."""
    value = cell.value
    if value is None:
        return None
    if isinstance(value, str):
        return value
    text = getattr(value, "text", None)  # ArrayFormula
    if isinstance(text, str):
        return text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Cells:
    """Reads number cells, falling back to Excel's saved result for real formulas."""

    def __init__(self, data: bytes, sheet_title: str) -> None:
        self.data = data
        self.sheet_title = sheet_title
        self._values: Worksheet | None = None

    def cached(self, row: int, column: int) -> Any:
        if self._values is None:
            wb = load_workbook(io.BytesIO(self.data), data_only=True)
            self._values = wb[self.sheet_title]
        return self._values.cell(row=row, column=column).value

    def number(self, cell: Any) -> Any:
        """A Decimal for number cells; other values as they are (text is parsed later)."""
        value = cell.value
        if cell.data_type == "f":
            cached = self.cached(cell.row, cell.column)
            if not isinstance(cached, int | float) or isinstance(cached, bool):
                return _text_value(cell)  # reported as "bukan angka" with the formula shown
            value = cached
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = Decimal(str(value))
            if "%" in (cell.number_format or ""):
                number *= 100  # a cell formatted as 95% holds 0.95
            return number
        return value


def _cumulate(raw: dict[str, Any]) -> None:
    """Per-quarter targets → s.d. TW targets, for a kumulatif row (left as is if unreadable)."""
    word = " ".join(str(raw.get("agregasi") or "").split()).lower()
    if word != "kumulatif":
        return
    values: list[Decimal | None] = []
    for value in raw["target_tw"]:
        if value is None or (isinstance(value, str) and not value.strip()):
            values.append(None)
            continue
        try:
            values.append(to_decimal(value))
        except NumberError:
            return
    total = Decimal(0)
    out: list[Decimal | None] = []
    for value in values:
        if value is None:
            out.append(None)
        else:
            total += value
            out.append(total)
    raw["target_tw"] = out


def spec_to_row(spec: IndicatorSpec, baris: int | None = None) -> dict[str, Any]:
    """An indicator spec as a PK row mapping (the shape :func:`import_pk` takes)."""
    row: dict[str, Any] = {
        "kode": spec.kode,
        "seksi": spec.seksi,
        "sasaran": spec.sasaran,
        "nama": spec.nama,
        "satuan": spec.satuan,
        "polaritas": spec.polaritas,
        "agregasi": spec.agregasi,
        "target_tahunan": spec.target_tahunan,
        "target_tw": list(spec.target_tw),
        "rentang": {"bawah": spec.rentang[0], "atas": spec.rentang[1]} if spec.rentang else None,
        "sub_kegiatan": spec.sub_kegiatan,
        "invers": spec.invers,
        "wajib_bukti": spec.wajib_bukti,
        "pembilang": spec.pembilang,
        "penyebut": spec.penyebut,
    }
    for name in spec.keep:
        row.pop(name, None)
    if baris is not None:
        row["baris"] = baris
    return row


def read_pk(
    source: str | Path | bytes | IO[bytes], *, per_quarter: bool = False
) -> list[dict[str, Any]]:
    """Read and check the ``PK`` sheet; return one mapping per indicator row.

    Each mapping has the keys of an ``indikator`` item of the office file (``kode``,
    ``seksi``, ``sasaran``, ``nama``, ``satuan``, ``polaritas``, ``agregasi``,
    ``target_tahunan``, ``target_tw`` (4 × Decimal or ``None``), and ``rentang`` /
    ``sub_kegiatan`` / ``invers`` / ``pembilang`` / ``penyebut`` when the sheet has those
    columns) plus ``baris``, the sheet row. With ``per_quarter`` the TW cells hold each
    quarter's own target and kumulatif rows are summed to s.d. TW targets. Sections are not
    checked here (:func:`import_pk` does). Raises :class:`OfficeFileError`.
    """
    problems = Problems()
    try:
        data = _read_source(source)
    except Exception:  # any unreadable file is for the user to fix, not a crash
        problems.add("berkas", "berkas_tidak_terbaca", nama_berkas=_source_name(source))
        raise OfficeFileError(problems.errors) from None
    bound = check_xlsx_bytes(data)
    if bound is not None:
        problems.add("berkas", bound)
        raise OfficeFileError(problems.errors)
    try:
        wb = load_workbook(io.BytesIO(data))
    except Exception:  # any unreadable file is for the user to fix, not a crash
        problems.add("berkas", "berkas_tidak_terbaca", nama_berkas=_source_name(source))
        raise OfficeFileError(problems.errors) from None
    ws = _pick_sheet(wb)
    if ws is None:
        problems.add("berkas", "lembar_tidak_ada", nilai=SHEET)
        problems.raise_if_any()
    assert ws is not None
    found = _find_header(ws)
    if found is None:
        problems.add(f"lembar {ws.title}", "judul_tidak_ada")
        problems.raise_if_any()
    assert found is not None
    header_row, fields, duplicated = found
    for header in duplicated:
        problems.add(f"baris {header_row}", "kolom_ganda", nilai=header)
    present = set(fields.values())
    for column in COLUMNS:
        if column.required and column.field not in present:
            problems.add(f"baris {header_row}", "kolom_tidak_ada", nilai=column.header)
    problems.raise_if_any()

    cells = _Cells(data, ws.title)
    raws: list[dict[str, Any]] = []
    for row in ws.iter_rows(min_row=header_row + 1):
        by_field = {fields[c.column]: c for c in row if c.column in fields}  # type: ignore[index]
        if all(_blank(c.value) for c in by_field.values()):
            continue
        number = row[0].row
        raw: dict[str, Any] = {"baris": number, "target_tw": [None] * 4}
        for fld, cell in by_field.items():
            column = _BY_FIELD[fld]
            value = cells.number(cell) if column.numeric else _text_value(cell)
            if fld.startswith("target_tw."):
                raw["target_tw"][int(fld.split(".")[1])] = value
            elif fld.startswith("rentang."):
                raw.setdefault("rentang", {"bawah": None, "atas": None})[fld[8:]] = value
            else:
                raw[fld] = value
        if "rentang.bawah" in present or "rentang.atas" in present:
            raw.setdefault("rentang", {"bawah": None, "atas": None})
        if per_quarter:
            _cumulate(raw)
        raws.append(raw)
    if not raws:
        problems.add(f"lembar {ws.title}", "tidak_ada_baris")
    specs = parse_indicators(
        raws, problems, locate=_locate_row, label=_row_label, sections=None, sheet=True
    )
    problems.raise_if_any()
    rows_by_kode = {str(r.get("kode")).strip(): r["baris"] for r in raws}
    return [spec_to_row(s, rows_by_kode.get(s.kode)) for s in specs]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _source_name(source: Any) -> str:
    if isinstance(source, str | Path):
        return Path(source).name
    return getattr(source, "name", "") or "lampiran"


# --- importing ---------------------------------------------------------------------------------


async def import_pk(
    session: AsyncSession,
    office_code: str,
    rows: Sequence[Mapping[str, Any] | IndicatorSpec],
    *,
    now: datetime,
    deactivate_missing: bool = True,
) -> ImportReport:
    """Merge PK rows (from :func:`read_pk`) into the office's indicators.

    Same rules as the office file: upsert by kode, ``position`` = row order, stored
    indicators missing from ``rows`` are deactivated (never deleted; pass
    ``deactivate_missing=False`` for a partial sheet). Sections must already
    exist (by kode or name). Everything is checked before any write; the caller runs this in
    one transaction. Raises :class:`OfficeFileError`.
    """
    office = await find_office(session, office_code)
    sections = list(await session.scalars(select(Section).where(Section.office_id == office.id)))
    lookup = section_lookup([SectionSpec(s.kode, s.nama) for s in sections])
    raws = [spec_to_row(r) if isinstance(r, IndicatorSpec) else dict(r) for r in rows]
    problems = Problems()
    if not raws:
        problems.add("", "tidak_ada_baris")
    specs = parse_indicators(
        raws, problems, locate=_locate_row, label=_row_label, sections=lookup, sheet=True
    )
    problems.raise_if_any()
    report = ImportReport(office.code, office.nama, people_included=False)
    await merge_indicators(
        session,
        office,
        specs,
        {s.kode: s.id for s in sections},
        report,
        deactivate_missing=deactivate_missing,
    )
    session.add(
        Event(
            office_id=office.id,
            action="pk.impor",
            subject=f"office:{office.id}",
            data={"indikator": report.counts()["indikator"]},
            at=now,
        )
    )
    await session.flush()
    return report
