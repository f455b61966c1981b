"""The office setup file (YAML): parse and validate it into frozen specs.

One file holds one office: ``kantor`` (the office and its settings), ``pegawai`` (people and
roles), ``seksi`` (sections) and, optionally, ``indikator`` (the Perjanjian Kinerja; it may
come from a PK workbook instead, see :mod:`flows.setup.pk_workbook`).
See ``examples/sukamaju.yaml``.

Validation collects every problem, not just the first, and raises :class:`OfficeFileError`
with one Indonesian line per problem, each naming the item and the field, e.g.
``indikator ke-4 (PEM-4): seksi "XYZ" tidak dikenal`` (items counted from 1, named by their
key: the NIP, the kode). Messages come from
``templates/chat/impor/kesalahan.txt``.

The indicator rules (:func:`parse_indicators`) are shared with the PK workbook path, which
names rows and columns instead (``baris 7, kolom "Polaritas": ...``).
"""

from __future__ import annotations

import base64
import dataclasses
import math
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.core import texts
from flows.core.yaml_file import YamlFileError, load_yaml_text, read_yaml_file
from flows.domain.calendar import DEFAULT_EXTRA_DAY_OFF_LABEL, OfficeHours
from flows.domain.capaian import AGGREGATIONS, POLARITIES, PredikatScale
from flows.domain.fmt import fmt_nip, is_valid_nip, normalize_nip
from flows.domain.limits import check_yaml_text
from flows.domain.numparse import parse_number
from flows.domain.office_settings import calendar_for, predikat_scale_for
from flows.domain.periods import roman
from flows.domain.roles import Role
from flows.sop.preset import PresetError, is_preset_path, load_preset_file

__all__ = [
    "DEFAULT_PRESETS",
    "INDICATOR_KEYS",
    "ROLES",
    "SETTINGS_KEYS",
    "IndicatorSpec",
    "Locate",
    "NumberError",
    "OfficeFileError",
    "OfficeSpec",
    "PersonSpec",
    "Problems",
    "SectionSpec",
    "calendar_for",
    "load_office_file",
    "normalize_sub_kegiatan",
    "parse_indicators",
    "parse_office",
    "parse_office_yaml",
    "predikat_scale_for",
    "section_lookup",
    "slugify",
    "to_decimal",
]

#: SOP presets known until the SOP engine supplies its own list.
DEFAULT_PRESETS: tuple[str, ...] = (
    "kertosono",
    "setwan-jambi",
    "dawarblandong",
    "kebasen-pengukuran",
    "kebasen-pengumpulan",
    "batang-kapas",
)
ROLES: tuple[str, ...] = tuple(Role)
#: Optional ``kantor`` keys kept in ``Office.settings`` (JSON-safe, normalized).
SETTINGS_KEYS: tuple[str, ...] = (
    "jam_kerja",
    "libur_tambahan",
    "libur_batal",
    "skala_predikat",
    "pengingat",
    "isian_kumulatif",
    "logo",
    "admin_perencana",
    "buka_siklus",
)
#: How a Kasi answers a ``kumulatif`` indicator: the quarter's new amount, or the total s.d. TW.
KUMULATIF_ENTRY: tuple[str, ...] = ("triwulan", "sd")
#: Keys of ``pengingat`` (the reminder plan, see flows/sop/reminders.py) and their kind.
REMINDER_KEYS: dict[str, type] = {
    "sebelum_hari": int,
    "hari_h": bool,
    "terlambat_harian": bool,
    "eskalasi": bool,
    "ringkasan_camat": bool,
}

_TOP_KEYS = ("kantor", "pegawai", "seksi", "indikator")
_OFFICE_REQUIRED = ("nama", "kabupaten", "alamat", "kota_ttd", "sop", "tahun")
_OFFICE_KEYS = (*_OFFICE_REQUIRED, "kode", "zona_waktu", *SETTINGS_KEYS)
_SECTION_KEYS = ("kode", "nama")
_PERSON_KEYS = ("nip", "nama", "jabatan", "pangkat", "peran", "seksi", "telegram_id", "telepon")
INDICATOR_KEYS: tuple[str, ...] = (
    "kode", "seksi", "sasaran", "nama", "satuan", "polaritas", "agregasi", "target_tahunan",
    "target_tw", "rentang", "sub_kegiatan", "invers", "pembilang", "penyebut", "rentang_tw",
)  # fmt: skip
#: Fields an indicator row may leave out to keep the stored value (PK workbook columns).
KEEPABLE: tuple[str, ...] = (
    "rentang", "sub_kegiatan", "invers", "pembilang", "penyebut", "rentang_tw",
)  # fmt: skip

# Column widths of the database (String(n)); longer text is a file error, not a crash.
_MAX = {
    "kantor.nama": 200, "kantor.kabupaten": 200, "kantor.alamat": 300, "kantor.kota_ttd": 100,
    "kantor.kode": 80, "seksi.kode": 20, "seksi.nama": 200, "pegawai.nama": 200,
    "pegawai.jabatan": 200, "pegawai.pangkat": 100, "indikator.kode": 40,
    "indikator.satuan": 60, "indikator.pembilang": 200, "indikator.penyebut": 200,
    "indikator.nama": 2000, "indikator.sasaran": 2000,
}  # fmt: skip

_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_E164_RE = re.compile(r"^\+[1-9]\d{7,14}$")
_PHONE_STRIP_RE = re.compile(r"[\s\-.()]")
# urusan.bidang.program[.kegiatan (2 parts)[.sub kegiatan (2 or 4 digits)]]
_SUB_KEGIATAN_RE = re.compile(r"^(\d)\.(\d{2})\.(\d{2})(?:\.(\d)\.(\d{2})(?:\.(\d{2}|\d{4}))?)?$")
_NUMBER_TEXT_RE = re.compile(r"^\s*[-\u2212]?\s*\d[\d.,]*\s*%?\s*$")


# --- errors ------------------------------------------------------------------------------------


class OfficeFileError(Exception):
    """The file (or workbook) cannot be imported; ``errors`` holds one line per problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))

    def message(self) -> str:
        """The whole answer for the user (Indonesian), listing every problem."""
        return texts.render("impor/gagal", kesalahan=self.errors)


class Problems:
    """Collects problems as ``"<where>: <message>"`` lines."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, where: str, code: str, *, medan: str | None = None, **ctx: Any) -> None:
        message = texts.render("impor/kesalahan", kode=code, medan=medan, **ctx)
        self.errors.append(f"{where}: {message}" if where else message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise OfficeFileError(self.errors)


#: Maps a field name (``"polaritas"``, ``"target_tw.2"``, ``"rentang.bawah"``, ``None`` for the
#: whole item) to where it is (``"indikator ke-4 (PEM-4)"``) and how the field is named in the
#: message (``"polaritas"``, or ``None`` when ``where`` already names the column).
Locate = Callable[[str | None], tuple[str, str | None]]


# --- specs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionSpec:
    kode: str
    nama: str


@dataclass(frozen=True)
class PersonSpec:
    """A person; ``nip`` is the normalized 18 digits, ``telepon`` E.164 (``+62...``)."""

    nip: str
    nama: str
    jabatan: str
    pangkat: str
    peran: str
    seksi: str | None = None
    telegram_id: int | None = None
    telepon: str | None = None

    @property
    def whatsapp_id(self) -> str | None:
        """The WhatsApp external id: the phone number's digits without ``+``."""
        return self.telepon[1:] if self.telepon else None


@dataclass(frozen=True)
class IndicatorSpec:
    """One PK row. ``target_tw`` are the s.d. TW targets I..IV (``None`` = not measured).

    ``keep`` names optional fields the source did not carry (a PK workbook without that
    column): an existing indicator keeps its stored value for them.
    """

    kode: str
    seksi: str
    sasaran: str
    nama: str
    satuan: str
    polaritas: str
    agregasi: str
    target_tahunan: Decimal
    target_tw: tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]
    rentang: tuple[Decimal, Decimal] | None = None
    sub_kegiatan: str = ""
    invers: bool = False
    pembilang: str = ""
    penyebut: str = ""
    keep: frozenset[str] = frozenset()
    #: Per-quarter ranges (s.d. TW I..IV); ``None`` = no quarter has its own.
    rentang_tw: tuple[tuple[Decimal, Decimal] | None, ...] | None = None


@dataclass(frozen=True)
class OfficeSpec:
    """A validated office file. ``indicators`` is ``None`` when the file has no ``indikator``
    key (the PK then comes from a workbook and stored indicators are left alone)."""

    kode: str
    nama: str
    kabupaten: str
    alamat: str
    kota_ttd: str
    zona_waktu: str
    sop: str
    tahun: int
    settings: dict[str, Any] = field(default_factory=dict, hash=False)
    sections: tuple[SectionSpec, ...] = ()
    people: tuple[PersonSpec, ...] = ()
    indicators: tuple[IndicatorSpec, ...] | None = None


# --- small parsers -----------------------------------------------------------------------------


def slugify(text: str) -> str:
    """``"Kecamatan Sukamaju"`` → ``"kecamatan-sukamaju"`` (ASCII, lower case, hyphens)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _norm_word(word: str) -> str:
    return " ".join(str(word).split()).lower().replace("_", "-").replace(" ", "-")


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


class NumberError(ValueError):
    """``code`` is ``bukan_angka`` or ``negatif``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def to_decimal(value: Any) -> Decimal:
    """A non-negative number from YAML or a cell: int, float (via ``str``), Decimal, or text
    written the Indonesian way (``1.234,5``, ``87,5``, ``75%``). Raises :class:`NumberError`."""
    if isinstance(value, bool):
        raise NumberError("bukan_angka")
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise NumberError("bukan_angka")
        result = Decimal(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise NumberError("bukan_angka")
        result = value
    elif isinstance(value, str):
        if not _NUMBER_TEXT_RE.match(value):
            raise NumberError("bukan_angka")
        parsed = parse_number(value.replace("\u2212", "-"))
        if parsed.error == "negative":
            raise NumberError("negatif")
        if parsed.value is None:
            raise NumberError("bukan_angka")
        result = parsed.value
    else:
        raise NumberError("bukan_angka")
    if result < 0:
        raise NumberError("negatif")
    return result


def normalize_sub_kegiatan(text: str) -> str | None:
    """Canonical sub kegiatan code (last part 4 digits), or ``None`` when malformed.

    ``7.01.02.2.02.03`` → ``7.01.02.2.02.0003``; program and kegiatan codes
    (``7.01.04``, ``7.01.04.2.02``) are accepted as they are.
    """
    m = _SUB_KEGIATAN_RE.fullmatch("".join(str(text).split()))
    if not m:
        return None
    parts = [p for p in m.groups() if p is not None]
    if len(parts) == 6:
        parts[5] = parts[5].zfill(4)
    return ".".join(parts)


def _normalize_phone(text: str) -> str | None:
    """E.164 (``+6281234567890``) from ``+62 812-3456-7890``, ``0812 3456 7890`` or ``62812…``."""
    phone = _PHONE_STRIP_RE.sub("", text)
    if phone.startswith("08"):
        phone = "+62" + phone[1:]
    elif phone.startswith("628"):
        phone = "+" + phone
    return phone if _E164_RE.fullmatch(phone) else None


def section_lookup(sections: Collection[SectionSpec]) -> dict[str, str]:
    """Reference → section kode, matching kode or nama regardless of case and spacing."""
    lookup = {_key(s.nama): s.kode for s in sections}
    lookup.update({_key(s.kode): s.kode for s in sections})
    return lookup


_MISSING = object()


class _Item:
    """One mapping of the file being read, with a way to report its problems."""

    def __init__(self, raw: Mapping[str, Any], problems: Problems, locate: Locate) -> None:
        self.raw = raw
        self.problems = problems
        self.locate = locate
        self.start = len(problems.errors)

    @property
    def ok(self) -> bool:
        return len(self.problems.errors) == self.start

    def err(self, fld: str | None, code: str, **ctx: Any) -> None:
        where, medan = self.locate(fld)
        self.problems.add(where, code, medan=medan, **ctx)

    def unknown_keys(self, allowed: Collection[str], *, ignore: Collection[str] = ()) -> None:
        for key in self.raw:
            if key not in allowed and key not in ignore:
                self.err(None, "kunci_tak_dikenal", nilai=key, pilihan=list(allowed))

    def has(self, key: str) -> bool:
        return self.raw.get(key) is not None and not (
            isinstance(self.raw[key], str) and not self.raw[key].strip()
        )

    def text(self, key: str, *, required: bool = True, limit: str = "") -> str | None:
        value = self.raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.err(key, "wajib")
            return None
        if isinstance(value, bool | Mapping | list):
            self.err(key, "bukan_teks")
            return None
        text = " ".join(str(value).split())
        cap = _MAX.get(limit)
        if cap is not None and len(text) > cap:
            self.err(key, "terlalu_panjang", panjang=len(text), batas=cap)
            return None
        return text

    def number(self, key: str, value: Any = _MISSING, *, required: bool = True) -> Decimal | None:
        if value is _MISSING:
            value = self.raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.err(key, "wajib")
            return None
        try:
            return to_decimal(value)
        except NumberError as exc:
            self.err(key, exc.code, nilai=_show(value))
            return None

    def choice(self, key: str, options: Sequence[str]) -> str | None:
        text = self.text(key)
        if text is None:
            return None
        word = _norm_word(text)
        if word not in options:
            self.err(key, "tak_dikenal", nilai=text, pilihan=list(options))
            return None
        return word

    def flag(self, key: str) -> bool | None:
        value = self.raw.get(key)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        word = _norm_word(str(value))
        if word in ("ya", "y", "true", "benar", "1"):
            return True
        if word in ("tidak", "t", "false", "salah", "0", ""):
            return False
        self.err(key, "bukan_ya_tidak", nilai=_show(value))
        return None


def _show(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- indicators (shared with the PK workbook) --------------------------------------------------


def _parse_indicator(
    raw: Any,
    problems: Problems,
    locate: Locate,
    sections: Mapping[str, str] | None,
    *,
    sheet: bool = False,
) -> IndicatorSpec | None:
    if not isinstance(raw, Mapping):
        where, _ = locate(None)
        problems.add(where, "bukan_pemetaan")
        return None
    item = _Item(raw, problems, locate)
    item.unknown_keys(INDICATOR_KEYS, ignore=("baris",) if sheet else ())
    kode = item.text("kode", limit="indikator.kode")
    seksi_ref = item.text("seksi")
    seksi: str | None = seksi_ref
    if seksi_ref is not None and sections is not None:
        seksi = sections.get(_key(seksi_ref))
        if seksi is None:
            known = sorted(set(sections.values()))
            item.err("seksi", "tak_dikenal", nilai=seksi_ref, pilihan=known)
    sasaran = item.text("sasaran", limit="indikator.sasaran")
    nama = item.text("nama", limit="indikator.nama")
    satuan = item.text("satuan", limit="indikator.satuan")
    polaritas = item.choice("polaritas", POLARITIES)
    agregasi = item.choice("agregasi", AGGREGATIONS)
    tahunan = item.number("target_tahunan")

    targets: list[Decimal | None] = [None] * 4
    raw_tw = raw.get("target_tw")
    if raw_tw is None:
        item.err("target_tw", "wajib")
    elif not isinstance(raw_tw, list | tuple):
        item.err("target_tw", "target_tw_jumlah", jumlah=1)
    elif len(raw_tw) != 4:
        item.err("target_tw", "target_tw_jumlah", jumlah=len(raw_tw))
    else:
        for i, value in enumerate(raw_tw):
            targets[i] = item.number(f"target_tw.{i}", value, required=False)

    keep = {k for k in KEEPABLE if k not in raw} if sheet else set()
    rentang: tuple[Decimal, Decimal] | None = None
    raw_range = raw.get("rentang")
    if isinstance(raw_range, Mapping):
        sub = _Item(raw_range, problems, lambda f: locate(f"rentang.{f}" if f else "rentang"))
        sub.unknown_keys(("bawah", "atas"))
        if sub.has("bawah") != sub.has("atas"):
            item.err("rentang", "rentang_separuh")
        elif sub.has("bawah"):
            lo, hi = sub.number("bawah"), sub.number("atas")
            if lo is not None and hi is not None:
                if lo > hi:
                    item.err("rentang", "rentang_terbalik", bawah=lo, atas=hi)
                else:
                    rentang = (lo, hi)
    elif raw_range is not None:
        item.err("rentang", "bukan_pemetaan")
    rentang_tw = _parse_ranges_tw(item, raw.get("rentang_tw"), problems, locate)

    sub_kegiatan = ""
    raw_sub = item.text("sub_kegiatan", required=False)
    if raw_sub is not None:
        normalized = normalize_sub_kegiatan(raw_sub)
        if normalized is None:
            item.err("sub_kegiatan", "sub_kegiatan", nilai=raw_sub)
        else:
            sub_kegiatan = normalized
    invers = item.flag("invers")
    pembilang = item.text("pembilang", required=False, limit="indikator.pembilang") or ""
    penyebut = item.text("penyebut", required=False, limit="indikator.penyebut") or ""

    if agregasi == "kumulatif" and item.ok:
        _check_cumulative(item, tahunan, targets, sheet=sheet)
    if not item.ok:
        return None
    assert kode and seksi and sasaran and nama and satuan and polaritas and agregasi
    assert tahunan is not None and invers is not None
    return IndicatorSpec(
        kode=kode,
        seksi=seksi,
        sasaran=sasaran,
        nama=nama,
        satuan=satuan,
        polaritas=polaritas,
        agregasi=agregasi,
        target_tahunan=tahunan,
        target_tw=(targets[0], targets[1], targets[2], targets[3]),
        rentang=rentang,
        sub_kegiatan=sub_kegiatan,
        invers=invers,
        pembilang=pembilang,
        penyebut=penyebut,
        keep=frozenset(keep),
        rentang_tw=rentang_tw,
    )


def _parse_ranges_tw(
    item: _Item, raw: Any, problems: Problems, locate: Locate
) -> tuple[tuple[Decimal, Decimal] | None, ...] | None:
    """``rentang_tw``: four entries, each ``null`` or ``{bawah, atas}`` (a quarter's range)."""
    if raw is None:
        return None
    if not isinstance(raw, list | tuple) or len(raw) != 4:
        item.err("rentang_tw", "target_tw_jumlah", jumlah=len(raw) if isinstance(raw, list) else 1)
        return None
    out: list[tuple[Decimal, Decimal] | None] = []
    for i, entry in enumerate(raw):
        if entry is None:
            out.append(None)
            continue
        if not isinstance(entry, Mapping):
            item.err(f"rentang_tw.{i}", "bukan_pemetaan")
            out.append(None)
            continue
        sub = _Item(entry, problems, lambda f, i=i: locate(f"rentang_tw.{i}.{f}" if f else None))  # type: ignore[misc]
        sub.unknown_keys(("bawah", "atas"))
        lo, hi = sub.number("bawah"), sub.number("atas")
        if lo is not None and hi is not None and lo > hi:
            item.err(f"rentang_tw.{i}", "rentang_terbalik", bawah=lo, atas=hi)
        out.append((lo, hi) if lo is not None and hi is not None and lo <= hi else None)
    return tuple(out) if any(out) else None


def _check_cumulative(
    item: _Item, tahunan: Decimal | None, targets: list[Decimal | None], *, sheet: bool
) -> None:
    """s.d. TW targets of a kumulatif indicator never fall and end at the annual target."""
    previous: tuple[int, Decimal] | None = None
    for i, value in enumerate(targets):
        if value is None:
            continue
        if previous is not None and value < previous[1]:
            item.err(
                f"target_tw.{i}", "kumulatif_menurun", tw=i + 1, sesudah=value, sebelum=previous[1]
            )
            return
        previous = (i, value)
    tw4 = targets[3]
    if tw4 is not None and tahunan is not None and tw4 != tahunan:
        item.err("target_tw.3", "kumulatif_tw4", tw4=tw4, tahunan=tahunan, lembar=sheet)


def parse_indicators(
    raws: Sequence[Any],
    problems: Problems,
    *,
    locate: Callable[[int, Any], Locate],
    label: Callable[[int, Any], str],
    sections: Mapping[str, str] | None,
    sheet: bool = False,
) -> list[IndicatorSpec]:
    """Validate indicator mappings (YAML ``indikator`` items or PK rows).

    ``locate(i, raw)`` tells where item ``i``'s fields are; ``label(i, raw)`` names item ``i``
    in a duplicate message; ``sections`` maps references to section kode (``None``: not
    checked); ``sheet`` marks PK workbook rows (a ``baris`` key is allowed). Problems go to
    ``problems``; the valid specs are returned in order.
    """
    specs: list[IndicatorSpec] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(raws):
        loc = locate(i, raw)
        spec = _parse_indicator(raw, problems, loc, sections, sheet=sheet)
        kode = raw.get("kode") if isinstance(raw, Mapping) else None
        if isinstance(kode, str | int) and not isinstance(kode, bool) and str(kode).strip():
            key = _key(str(kode))
            if key in seen:
                where, medan = loc("kode")
                problems.add(where, "ganda", medan=medan, nilai=kode, sebelumnya=seen[key])
                continue
            seen[key] = label(i, raw)
        if spec is not None:
            specs.append(spec)
    return specs


def _yaml_field(fld: str | None) -> str | None:
    if fld is None:
        return None
    if fld.startswith("target_tw."):
        return f"target_tw TW {roman(int(fld.split('.')[1]) + 1)}"
    return fld


def _indicator_label(i: int, raw: Any) -> str:
    kode = raw.get("kode") if isinstance(raw, Mapping) else None
    return f"indikator ke-{i + 1}" + (f" ({kode})" if kode not in (None, "") else "")


def _yaml_indicator_locate(i: int, raw: Any) -> Locate:
    label = _indicator_label(i, raw)
    return lambda fld: (label, _yaml_field(fld))


# --- office settings ---------------------------------------------------------------------------


def _to_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def _parse_settings(kantor: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    """The optional ``kantor`` keys, checked and made JSON-safe for ``Office.settings``."""
    settings: dict[str, Any] = {}
    hours = kantor.get("jam_kerja")
    if hours is not None:
        try:
            if not isinstance(hours, Mapping):
                raise ValueError
            config = {str(k): (None if v is None else str(v)) for k, v in hours.items()}
            OfficeHours.from_config(config)
            settings["jam_kerja"] = config
        except (ValueError, TypeError):
            problems.add("kantor.jam_kerja", "jam_kerja")

    extra = kantor.get("libur_tambahan")
    if extra is not None:
        days: dict[str, str] = {}
        if isinstance(extra, Mapping):
            pairs = [(k, v) for k, v in extra.items()]
        elif isinstance(extra, list):
            pairs = []
            for entry in extra:
                if isinstance(entry, Mapping):
                    pairs.append((entry.get("tanggal"), entry.get("nama")))
                else:
                    pairs.append((entry, None))
        else:
            problems.add("kantor.libur_tambahan", "bukan_daftar")
            pairs = []
        for raw_day, name in pairs:
            day = _to_date(raw_day)
            if day is None:
                problems.add("kantor.libur_tambahan", "tanggal", nilai=_show(raw_day))
            else:
                days[day.isoformat()] = str(name).strip() if name else DEFAULT_EXTRA_DAY_OFF_LABEL
        settings["libur_tambahan"] = days

    cancelled = kantor.get("libur_batal")
    if cancelled is not None:
        if not isinstance(cancelled, list):
            problems.add("kantor.libur_batal", "bukan_daftar")
        else:
            out: list[str] = []
            for raw_day in cancelled:
                day = _to_date(raw_day)
                if day is None:
                    problems.add("kantor.libur_batal", "tanggal", nilai=_show(raw_day))
                else:
                    out.append(day.isoformat())
            settings["libur_batal"] = out

    scale = kantor.get("skala_predikat")
    if scale is not None:
        try:
            if not isinstance(scale, list) or not all(isinstance(r, Mapping) for r in scale):
                raise ValueError
            rows = [
                {
                    "di_atas": None
                    if r.get("di_atas") is None
                    else format(to_decimal(r["di_atas"]), "f"),
                    "predikat": str(r["predikat"]).strip(),
                }
                for r in scale
            ]
            PredikatScale.from_config(rows)
            settings["skala_predikat"] = rows
        except (ValueError, KeyError, TypeError, InvalidOperation):
            problems.add("kantor.skala_predikat", "skala_predikat")

    plan = kantor.get("pengingat")
    if plan is not None:
        if not isinstance(plan, Mapping):
            problems.add("kantor.pengingat", "bukan_pemetaan")
        else:
            clean: dict[str, Any] = {}
            for key, value in plan.items():
                kind = REMINDER_KEYS.get(str(key))
                if kind is None:
                    problems.add(
                        "kantor.pengingat",
                        "kunci_tak_dikenal",
                        nilai=key,
                        pilihan=list(REMINDER_KEYS),
                    )
                elif kind is bool and not isinstance(value, bool):
                    problems.add(f"kantor.pengingat.{key}", "bukan_ya_tidak", nilai=_show(value))
                elif kind is int and (
                    isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10
                ):
                    problems.add(f"kantor.pengingat.{key}", "bukan_bulat", nilai=_show(value))
                else:
                    clean[str(key)] = value
            settings["pengingat"] = clean
    entry = kantor.get("isian_kumulatif")
    if entry is not None:
        if str(entry).strip().lower() in KUMULATIF_ENTRY:
            settings["isian_kumulatif"] = str(entry).strip().lower()
        else:
            problems.add(
                "kantor.isian_kumulatif", "tak_dikenal", nilai=_show(entry), pilihan=KUMULATIF_ENTRY
            )
    logo = kantor.get("logo")
    if logo is not None:
        if isinstance(logo, str) and logo.strip().lower().endswith((".png", ".svg")):
            settings["logo"] = logo.strip()
        else:
            problems.add("kantor.logo", "logo", nilai=_show(logo))
    settings.update(_parse_year_settings(kantor, problems))
    return settings


def kumulatif_entry(settings: Mapping[str, Any]) -> str:
    """``"triwulan"`` (the default: the quarter's new amount) or ``"sd"`` (the total s.d. TW)."""
    return str(settings.get("isian_kumulatif") or "triwulan")


def _parse_year_settings(kantor: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    """Issue 17's optional keys: ``admin_perencana`` (the planner administers from the chat)
    and ``buka_siklus`` (when a quarter's cycle is offered or opened by itself)."""
    out: dict[str, Any] = {}
    admin = kantor.get("admin_perencana")
    if admin is not None:
        if isinstance(admin, bool):
            out["admin_perencana"] = admin
        else:
            problems.add("kantor.admin_perencana", "bukan_ya_tidak", nilai=_show(admin))
    opening = kantor.get("buka_siklus")
    if opening is not None:
        if not isinstance(opening, Mapping):
            problems.add("kantor.buka_siklus", "bukan_pemetaan")
            return out
        clean: dict[str, Any] = {}
        for key, value in opening.items():
            if key == "otomatis":
                if isinstance(value, bool):
                    clean[key] = value
                else:
                    problems.add(
                        "kantor.buka_siklus.otomatis", "bukan_ya_tidak", nilai=_show(value)
                    )
            elif key == "hari_kerja_ke":
                if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10:
                    clean[key] = value
                else:
                    problems.add(
                        "kantor.buka_siklus.hari_kerja_ke", "bukan_bulat", nilai=_show(value)
                    )
            else:
                problems.add(
                    "kantor.buka_siklus",
                    "kunci_tak_dikenal",
                    nilai=key,
                    pilihan=["hari_kerja_ke", "otomatis"],
                )
        out["buka_siklus"] = clean
    return out


# --- the office file ---------------------------------------------------------------------------


def _own_preset(sop: str, base_dir: Path | None) -> str | PresetError:
    """An office's own preset file (relative to the office file): its absolute path, checked."""
    path = Path(sop).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    path = path.resolve()
    try:
        load_preset_file(path)
    except PresetError as exc:
        return exc
    return str(path)


def _parse_kantor(
    raw: Any,
    problems: Problems,
    known_presets: Collection[str],
    default_tz: str,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        problems.add("kantor", "wajib" if raw is None else "bukan_pemetaan")
        return {}
    item = _Item(raw, problems, lambda f: (f"kantor.{f}" if f else "kantor", None))
    item.unknown_keys(_OFFICE_KEYS)
    out: dict[str, Any] = {}
    for key in ("nama", "kabupaten", "alamat", "kota_ttd"):
        out[key] = item.text(key, limit=f"kantor.{key}")
    tz = item.text("zona_waktu") if "zona_waktu" in raw else default_tz
    if tz is not None:
        try:
            ZoneInfo(tz)
            out["zona_waktu"] = tz
        except (ZoneInfoNotFoundError, ValueError):
            item.err("zona_waktu", "zona_waktu", nilai=tz)
    sop = item.text("sop")
    if sop is not None and is_preset_path(sop):
        own = _own_preset(sop, base_dir)
        if isinstance(own, PresetError):
            item.err("sop", "preset_berkas", nilai=sop, galat="; ".join(own.errors))
        else:
            out["sop"] = own
    elif sop is not None:
        if sop not in known_presets:
            item.err("sop", "preset", nilai=sop, pilihan=sorted(known_presets))
        else:
            out["sop"] = sop
    year = raw.get("tahun")
    if year is None:
        item.err("tahun", "wajib")
    elif isinstance(year, bool) or not re.fullmatch(r"\d+", str(year).strip()):
        item.err("tahun", "bukan_bulat", nilai=_show(year))
    elif not 2000 <= int(str(year).strip()) <= 2100:
        item.err("tahun", "tahun_tidak_wajar", nilai=year)
    else:
        out["tahun"] = int(str(year).strip())
    code = item.text("kode", required=False, limit="kantor.kode")
    if code is not None:
        if not _SLUG_RE.fullmatch(code.lower()):
            item.err("kode", "kode_kantor", nilai=code)
        out["kode"] = code.lower()
    elif out.get("nama"):
        out["kode"] = slugify(out["nama"])[:80]
        if not out["kode"]:
            item.err("kode", "wajib")
    out["settings"] = _parse_settings(raw, problems)
    return out


def _as_list(data: Mapping[str, Any], key: str, problems: Problems) -> list[Any]:
    value = data.get(key)
    if value is None:
        problems.add(key, "wajib")
        return []
    if not isinstance(value, list):
        problems.add(key, "bukan_daftar")
        return []
    if not value:
        problems.add(key, "daftar_kosong")
    return value


def _parse_sections(raws: list[Any], problems: Problems) -> list[SectionSpec]:
    sections: list[SectionSpec] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(raws):
        kode_raw = raw.get("kode") if isinstance(raw, Mapping) else None
        label = f"seksi ke-{i + 1}" + (f" ({kode_raw})" if kode_raw not in (None, "") else "")
        if not isinstance(raw, Mapping):
            problems.add(label, "bukan_pemetaan")
            continue
        item = _Item(raw, problems, lambda f, label=label: (label, f))  # type: ignore[misc]
        item.unknown_keys(_SECTION_KEYS)
        kode = item.text("kode", limit="seksi.kode")
        nama = item.text("nama", limit="seksi.nama")
        if kode is not None:
            if _key(kode) in seen:
                item.err("kode", "ganda", nilai=kode, sebelumnya=seen[_key(kode)])
            else:
                seen[_key(kode)] = label
        if item.ok and kode and nama:
            sections.append(SectionSpec(kode=kode, nama=nama))
    return sections


def _parse_people(
    raws: list[Any], problems: Problems, sections: Mapping[str, str]
) -> list[PersonSpec]:
    people: list[PersonSpec] = []
    seen_nip: dict[str, str] = {}
    seen_tg: dict[int, str] = {}
    seen_phone: dict[str, str] = {}
    kasi_of: dict[str, str] = {}
    for i, raw in enumerate(raws):
        nip_raw = raw.get("nip") if isinstance(raw, Mapping) else None
        nip = normalize_nip(str(nip_raw)) if nip_raw is not None else ""
        valid_nip = bool(nip) and is_valid_nip(nip)
        label = f"pegawai ke-{i + 1}" + (f" (NIP {fmt_nip(nip)})" if valid_nip else "")
        if not isinstance(raw, Mapping):
            problems.add(label, "bukan_pemetaan")
            continue
        item = _Item(raw, problems, lambda f, label=label: (label, f))  # type: ignore[misc]
        item.unknown_keys(_PERSON_KEYS)
        if nip_raw is None or not nip:
            item.err("nip", "wajib")
        elif not valid_nip:
            item.err(None, "nip_tidak_sah", nilai=_show(nip_raw), panjang=len(nip))
        elif nip in seen_nip:
            item.err("NIP", "ganda", nilai="", sebelumnya=seen_nip[nip])
        else:
            seen_nip[nip] = label
        nama = item.text("nama", limit="pegawai.nama")
        jabatan = item.text("jabatan", limit="pegawai.jabatan")
        pangkat = item.text("pangkat", limit="pegawai.pangkat")
        peran = item.choice("peran", ROLES)
        seksi: str | None = None
        seksi_ref = item.text("seksi", required=False)
        if seksi_ref is not None:
            seksi = sections.get(_key(seksi_ref))
            if seksi is None:
                known = sorted(set(sections.values()))
                item.err("seksi", "tak_dikenal", nilai=seksi_ref, pilihan=known)
        elif peran == "kasi":
            item.err("seksi", "seksi_wajib", peran=peran)
        if peran == "kasi" and seksi is not None:
            if seksi in kasi_of:
                item.err("seksi", "seksi_sudah_dipegang", nilai=seksi, sebelumnya=kasi_of[seksi])
            else:
                kasi_of[seksi] = label
        telegram_id: int | None = None
        tg = raw.get("telegram_id")
        if tg is not None:
            if isinstance(tg, bool) or not re.fullmatch(r"[1-9]\d{0,19}", str(tg).strip()):
                item.err(None, "telegram_id_tidak_sah", nilai=_show(tg))
            else:
                telegram_id = int(str(tg).strip())
                if telegram_id in seen_tg:
                    item.err("telegram_id", "ganda", nilai=tg, sebelumnya=seen_tg[telegram_id])
                else:
                    seen_tg[telegram_id] = label
        telepon: str | None = None
        phone_raw = raw.get("telepon")
        if phone_raw is not None:
            telepon = _normalize_phone(str(phone_raw))
            if telepon is None or isinstance(phone_raw, bool):
                item.err(None, "telepon_tidak_sah", nilai=_show(phone_raw))
            elif telepon in seen_phone:
                item.err("telepon", "ganda", nilai=phone_raw, sebelumnya=seen_phone[telepon])
            else:
                seen_phone[telepon] = label
        if item.ok:
            assert nama and jabatan and pangkat and peran
            people.append(
                PersonSpec(
                    nip=nip,
                    nama=nama,
                    jabatan=jabatan,
                    pangkat=pangkat,
                    peran=peran,
                    seksi=seksi,
                    telegram_id=telegram_id,
                    telepon=telepon,
                )
            )
    return people


def parse_office(
    data: Any,
    *,
    known_presets: Collection[str] = DEFAULT_PRESETS,
    default_tz: str = "Asia/Jakarta",
    base_dir: Path | None = None,
) -> OfficeSpec:
    """Validate a loaded office file (a mapping); raise :class:`OfficeFileError` listing
    every problem. ``kantor.sop`` is a built-in preset id (one of ``known_presets``) or the
    path of the office's own preset file, relative to ``base_dir`` (the office file's folder)."""
    problems = Problems()
    if not isinstance(data, Mapping):
        problems.add("berkas", "berkas_kosong" if data is None else "bukan_pemetaan")
        problems.raise_if_any()
    for key in data:
        if key not in _TOP_KEYS:
            problems.add("berkas", "kunci_tak_dikenal", nilai=key, pilihan=list(_TOP_KEYS))
    office = _parse_kantor(data.get("kantor"), problems, known_presets, default_tz, base_dir)
    sections = _parse_sections(_as_list(data, "seksi", problems), problems)
    lookup = section_lookup(sections)
    people = _parse_people(_as_list(data, "pegawai", problems), problems, lookup)
    indicators: list[IndicatorSpec] | None = None
    if data.get("indikator") is not None:
        raws = data["indikator"]
        if not isinstance(raws, list):
            problems.add("indikator", "bukan_daftar")
        else:
            indicators = parse_indicators(
                raws,
                problems,
                locate=_yaml_indicator_locate,
                label=_indicator_label,
                sections=lookup,
            )
    problems.raise_if_any()
    return OfficeSpec(
        kode=office["kode"],
        nama=office["nama"],
        kabupaten=office["kabupaten"],
        alamat=office["alamat"],
        kota_ttd=office["kota_ttd"],
        zona_waktu=office["zona_waktu"],
        sop=office["sop"],
        tahun=office["tahun"],
        settings=office["settings"],
        sections=tuple(sections),
        people=tuple(people),
        indicators=None if indicators is None else tuple(indicators),
    )


def parse_office_yaml(
    text: str | bytes,
    *,
    known_presets: Collection[str] = DEFAULT_PRESETS,
    default_tz: str = "Asia/Jakarta",
    base_dir: Path | None = None,
) -> OfficeSpec:
    """Parse and validate the YAML text of an office file."""
    bound = check_yaml_text(text)
    if bound is not None:
        problems = Problems()
        problems.add("berkas", bound)
        raise OfficeFileError(problems.errors)
    try:
        data = load_yaml_text(text)
    except YamlFileError as exc:
        problems = Problems()
        problems.add("berkas", exc.code, **exc.ctx)
        raise OfficeFileError(problems.errors) from None
    return parse_office(data, known_presets=known_presets, default_tz=default_tz, base_dir=base_dir)


def load_office_file(
    path: str | Path,
    *,
    known_presets: Collection[str] = DEFAULT_PRESETS,
    default_tz: str = "Asia/Jakarta",
) -> OfficeSpec:
    """Read (UTF-8), parse and validate an office file; a ``logo`` beside it is read in."""
    try:
        data = read_yaml_file(path)
    except YamlFileError as exc:
        problems = Problems()
        problems.add("berkas", exc.code, **exc.ctx)
        raise OfficeFileError(problems.errors) from None
    spec = parse_office(
        data,
        known_presets=known_presets,
        default_tz=default_tz,
        base_dir=Path(path).resolve().parent,
    )
    logo = spec.settings.get("logo")
    if isinstance(logo, str) and not logo.startswith("data:"):
        settings = {**spec.settings, "logo": logo_data_uri(Path(path).parent / logo)}
        spec = dataclasses.replace(spec, settings=settings)
    return spec


#: The largest logo (lambang daerah) an office file may name, in bytes.
MAX_LOGO_BYTES = 512 * 1024


def logo_data_uri(path: Path) -> str:
    """A PNG or SVG file as a ``data:`` URI for the kop and the cover of the laporan."""
    mime = "image/svg+xml" if path.suffix.lower() == ".svg" else "image/png"
    try:
        content = path.read_bytes()
    except OSError:
        content = b""
    png = content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = b"<svg" in content[:2048]
    if not content or len(content) > MAX_LOGO_BYTES or not (png if mime == "image/png" else svg):
        problems = Problems()
        problems.add("kantor.logo", "logo", nilai=path.name)
        raise OfficeFileError(problems.errors)
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"
