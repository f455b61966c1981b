"""The office setup file (YAML): pydantic models that validate it into frozen specs.

One file holds one office: ``kantor`` (the office and its settings), ``pegawai`` (people and
roles), ``seksi`` (sections) and, optionally, ``indikator`` (the Perjanjian Kinerja; it may
come from a PK workbook instead, see :mod:`flows.setup.pk_workbook`).
See ``examples/sukamaju.yaml``.

The models (one per part of the file) are both the validator and the source of the JSON
Schema (``kinerja-bot skema``). Every field check raises its Indonesian message code (see
``templates/chat/impor/kesalahan.txt``); :func:`parse_office` turns all of pydantic's errors
at once into one line per problem, naming the item and the field, e.g.
``indikator ke-4 (PEM-4): seksi "XYZ" tidak dikenal`` (items counted from 1, named by their
key: the NIP, the kode). Checks across items (a NIP twice, two Kasi on one section, an
unknown section) are a second pass over the same file.

The indicator rules (:func:`parse_indicators`) are shared with the PK workbook path, which
names rows and columns instead (``baris 7, kolom "Polaritas": ...``).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

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
    "IndikatorFile",
    "KantorFile",
    "Locate",
    "NumberError",
    "OfficeFileError",
    "OfficeFileModel",
    "OfficeSpec",
    "PegawaiFile",
    "PengingatKantorFile",
    "PersonSpec",
    "Problems",
    "SectionSpec",
    "SeksiFile",
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
#: Fields an indicator row may leave out to keep the stored value (PK workbook columns).
KEEPABLE: tuple[str, ...] = (
    "rentang", "sub_kegiatan", "invers", "pembilang", "penyebut", "rentang_tw", "wajib_bukti",
)  # fmt: skip

_SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
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


def _fail(code: str, **ctx: Any) -> PydanticCustomError:
    """A field's problem: ``code`` is the message in ``impor/kesalahan``; ``ctx`` its values.

    ``_at`` (``"target_tw.3"``) puts a model-level problem on a field; ``_semua`` (a list of
    values) reports one line per value.
    """
    return PydanticCustomError(code, code, ctx)


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
    #: Kirim is refused while a measured entry has no bukti dukung.
    wajib_bukti: bool = False
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


def _show(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


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


def _to_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None


# --- field checks: each returns the clean value or raises its message code --------------------


def _text(value: Any) -> str:
    if _blank(value):
        raise _fail("wajib")
    if isinstance(value, bool | Mapping | list):
        raise _fail("bukan_teks")
    return " ".join(str(value).split())


def _opt_text(value: Any) -> str | None:
    return None if _blank(value) else _text(value)


def _number(value: Any) -> Decimal:
    if _blank(value):
        raise _fail("wajib")
    try:
        return to_decimal(value)
    except NumberError as exc:
        raise _fail(exc.code, nilai=_show(value)) from None


def _opt_number(value: Any) -> Decimal | None:
    return None if _blank(value) else _number(value)


def _choice(options: Sequence[str]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = _text(value)
        if _norm_word(text) not in options:
            raise _fail("tak_dikenal", nilai=text, pilihan=list(options))
        return _norm_word(text)

    return check


def _flag(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    word = _norm_word(str(value))
    if word in ("ya", "y", "true", "benar", "1", "tidak", "t", "false", "salah", "0", ""):
        return word in ("ya", "y", "true", "benar", "1")
    raise _fail("bukan_ya_tidak", nilai=_show(value))


def _four(value: Any) -> Any:
    """``target_tw`` / ``rentang_tw``: exactly four entries (TW I..IV)."""
    if value is None:
        raise _fail("wajib")
    if not isinstance(value, list | tuple):
        raise _fail("target_tw_jumlah", jumlah=1)
    if len(value) != 4:
        raise _fail("target_tw_jumlah", jumlah=len(value))
    return list(value)


def _year(value: Any) -> int:
    if value is None:
        raise _fail("wajib")
    if isinstance(value, bool) or not re.fullmatch(r"\d+", str(value).strip()):
        raise _fail("bukan_bulat", nilai=_show(value))
    if not 2000 <= int(str(value).strip()) <= 2100:
        raise _fail("tahun_tidak_wajar", nilai=value)
    return int(str(value).strip())


def _office_code(value: Any) -> str | None:
    code = _opt_text(value)
    if code is not None and not re.fullmatch(_SLUG, code.lower()):
        raise _fail("kode_kantor", nilai=code)
    return None if code is None else code.lower()


def _time_zone(value: Any) -> str:
    tz = _text(value)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail("zona_waktu", nilai=tz) from None
    return tz


def _sop(value: Any, info: ValidationInfo) -> str:
    """A built-in preset id, or the path of the office's own preset file (checked)."""
    sop = _text(value)
    ctx = info.context or {}
    if not is_preset_path(sop):
        known = ctx.get("known_presets", DEFAULT_PRESETS)
        if sop not in known:
            raise _fail("preset", nilai=sop, pilihan=sorted(known))
        return sop
    path = Path(sop).expanduser()
    if not path.is_absolute():
        path = (ctx.get("base_dir") or Path.cwd()) / path
    try:
        load_preset_file(path.resolve())
    except PresetError as exc:
        raise _fail("preset_berkas", nilai=sop, galat="; ".join(exc.errors)) from None
    return str(path.resolve())


def _nip(value: Any) -> str:
    nip = normalize_nip(str(value)) if value is not None else ""
    if not nip:
        raise _fail("wajib")
    if not is_valid_nip(nip):
        raise _fail("nip_tidak_sah", nilai=_show(value), panjang=len(nip))
    return nip


def _telegram_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not re.fullmatch(r"[1-9]\d{0,19}", str(value).strip()):
        raise _fail("telegram_id_tidak_sah", nilai=_show(value))
    return int(str(value).strip())


def _phone(value: Any) -> str | None:
    phone = None if value is None else _normalize_phone(str(value))
    if value is not None and (phone is None or isinstance(value, bool)):
        raise _fail("telepon_tidak_sah", nilai=_show(value))
    return phone


def _sub_kegiatan(value: Any) -> str:
    text = _opt_text(value)
    normalized = "" if text is None else normalize_sub_kegiatan(text)
    if normalized is None:
        raise _fail("sub_kegiatan", nilai=text)
    return normalized


def _int_0_10(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise _fail("bukan_bulat", nilai=_show(value))
    return value


def _strict_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail("bukan_ya_tidak", nilai=_show(value))
    return value


def _office_hours(value: Any) -> dict[str, str | None] | None:
    if value is None:
        return None
    try:
        if not isinstance(value, Mapping):
            raise ValueError
        config = {str(k): (None if v is None else str(v)) for k, v in value.items()}
        OfficeHours.from_config(config)
    except (ValueError, TypeError):
        raise _fail("jam_kerja") from None
    return config


def _extra_days_off(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = [
            (e.get("tanggal"), e.get("nama")) if isinstance(e, Mapping) else (e, None)
            for e in value
        ]
    else:
        raise _fail("bukan_daftar")
    bad = [_show(day) for day, _ in pairs if _to_date(day) is None]
    if bad:
        raise _fail("tanggal", nilai=bad[0], _semua=bad)
    return {
        _to_date(day).isoformat(): str(name).strip() if name else DEFAULT_EXTRA_DAY_OFF_LABEL  # type: ignore[union-attr]
        for day, name in pairs
    }


def _cancelled_days_off(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _fail("bukan_daftar")
    bad = [_show(day) for day in value if _to_date(day) is None]
    if bad:
        raise _fail("tanggal", nilai=bad[0], _semua=bad)
    return [_to_date(day).isoformat() for day in value]  # type: ignore[union-attr]


def _predikat_scale(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    try:
        if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
            raise ValueError
        rows = [
            {
                "di_atas": None
                if r.get("di_atas") is None
                else format(to_decimal(r["di_atas"]), "f"),
                "predikat": str(r["predikat"]).strip(),
            }
            for r in value
        ]
        PredikatScale.from_config(rows)
    except (ValueError, KeyError, TypeError, InvalidOperation):
        raise _fail("skala_predikat") from None
    return rows


def _logo(value: Any) -> str | None:
    if value is None:
        return None
    if not (isinstance(value, str) and value.strip().lower().endswith((".png", ".svg"))):
        raise _fail("logo", nilai=_show(value))
    return value.strip()


def _check(fn: Callable[..., Any], schema_type: Any) -> PlainValidator:
    """Validate with ``fn``; describe the field in the JSON Schema as ``schema_type``."""
    return PlainValidator(fn, json_schema_input_type=schema_type)


# --- the models (validator and JSON Schema) ----------------------------------------------------

_Text = Annotated[str, _check(_text, str)]
_OptText = Annotated[str | None, _check(_opt_text, str | None)]
#: A number as YAML writes it, or Indonesian text (``"87,5"``, ``"1.234"``, ``"75%"``).
_Angka = Annotated[
    Decimal,
    _check(_number, float | str),
    Field(description='angka, atau teks gaya Indonesia: "87,5"'),
]
_OptAngka = Annotated[Decimal | None, _check(_opt_number, float | str | None)]
#: Blank text counts as not given (a PK cell, an empty YAML value).
_BLANK_IS_NONE = BeforeValidator(lambda v: None if _blank(v) else v)
_Date = dt.date


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PengingatKantorFile(_FileModel):
    """The office's reminder plan; overrides the SOP preset's key by key."""

    sebelum_hari: Annotated[int | None, _check(_int_0_10, int), Field(ge=0, le=10)] = None
    hari_h: Annotated[bool | None, _check(_strict_bool, bool)] = None
    terlambat_harian: Annotated[bool | None, _check(_strict_bool, bool)] = None
    eskalasi: Annotated[bool | None, _check(_strict_bool, bool)] = None
    ringkasan_camat: Annotated[bool | None, _check(_strict_bool, bool)] = None


class LiburFile(_FileModel):
    """An extra day off, in the list form of ``libur_tambahan`` (schema only)."""

    tanggal: _Date
    nama: str | None = None


class PredikatFile(_FileModel):
    """One level of ``skala_predikat`` (schema only; checked as a whole scale)."""

    di_atas: float | str | None = Field(None, description="batas bawah; kosong = tingkat terendah")
    predikat: str


def _working_day_1_10(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise _fail("bukan_bulat", nilai=_show(value))
    return value


class BukaSiklusFile(_FileModel):
    """When a quarter's cycle is offered to the Camat (or opens by itself)."""

    hari_kerja_ke: Annotated[
        int | None,
        _check(_working_day_1_10, int),
        Field(ge=1, le=10, description="hari kerja ke-n setelah triwulan berakhir (bawaan 1)"),
    ] = None
    otomatis: Annotated[
        bool | None,
        _check(_strict_bool, bool),
        Field(description="siklus dibuka sendiri, tanpa menunggu Camat"),
    ] = None


class KantorFile(_FileModel):
    """The office and its settings."""

    nama: Annotated[_Text, Field(max_length=200)]
    kabupaten: Annotated[_Text, Field(max_length=200)]
    alamat: Annotated[_Text, Field(max_length=300)]
    kota_ttd: Annotated[_Text, Field(max_length=100, description="kota di atas tanda tangan")]
    sop: Annotated[
        str,
        _check(_sop, str),
        Field(
            max_length=500,
            description="id preset SOP bawaan (mis. kebasen-pengumpulan) atau jalur berkas "
            "SOP .yaml milik kantor, relatif terhadap berkas kantor",
        ),
    ]
    tahun: Annotated[int, _check(_year, int), Field(ge=2000, le=2100)]
    kode: Annotated[
        Annotated[str, _check(_office_code, str), Field(max_length=80, pattern=_SLUG)] | None,
        _BLANK_IS_NONE,
    ] = None
    zona_waktu: Annotated[
        str | None,
        _check(_time_zone, Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"] | str),
    ] = None
    jam_kerja: Annotated[
        dict[str, str | None] | None,
        _check(_office_hours, dict[str, str | None] | None),
        Field(description='mis. senin-kamis: "07:30-16:00", jumat: "07:30-16:30", sabtu: libur'),
    ] = None
    libur_tambahan: Annotated[
        dict[str, str] | None,
        _check(_extra_days_off, dict[_Date, str | None] | list[_Date | LiburFile] | None),
    ] = None
    libur_batal: Annotated[list[str] | None, _check(_cancelled_days_off, list[_Date] | None)] = None
    skala_predikat: Annotated[
        list[dict[str, Any]] | None, _check(_predikat_scale, list[PredikatFile] | None)
    ] = None
    pengingat: PengingatKantorFile | None = None
    isian_kumulatif: Annotated[
        Annotated[str, _check(_choice(KUMULATIF_ENTRY), Literal["triwulan", "sd"])] | None,
        _BLANK_IS_NONE,
        Field(description="kumulatif diisi angka triwulan itu (triwulan) atau total s.d. (sd)"),
    ] = None
    logo: Annotated[
        str | None,
        _check(_logo, str | None),
        Field(description="berkas PNG/SVG lambang daerah di samping berkas kantor"),
    ] = None
    admin_perencana: Annotated[
        bool | None,
        _check(_strict_bool, bool),
        Field(description="perencana boleh mengelola pegawai dan Plt/Plh dari chat"),
    ] = None
    buka_siklus: BukaSiklusFile | None = None

    @model_validator(mode="after")
    def _defaults(self, info: ValidationInfo) -> KantorFile:
        """``zona_waktu`` defaults to the bot's; ``kode`` to the slug of ``nama``."""
        if self.zona_waktu is None:
            self.zona_waktu = (info.context or {}).get("default_tz", "Asia/Jakarta")
        if self.kode is None:
            self.kode = slugify(self.nama)[:80]
            if not self.kode:
                raise _fail("wajib", _at="kode")
        return self

    def settings(self) -> dict[str, Any]:
        """The optional keys given, JSON-safe, for ``Office.settings``."""
        out = {k: getattr(self, k) for k in SETTINGS_KEYS if getattr(self, k) is not None}
        if self.pengingat is not None:
            out["pengingat"] = self.pengingat.model_dump(exclude_unset=True)
        if self.buka_siklus is not None:
            out["buka_siklus"] = self.buka_siklus.model_dump(exclude_unset=True)
        return out


class SeksiFile(_FileModel):
    kode: Annotated[_Text, Field(max_length=20)]
    nama: Annotated[_Text, Field(max_length=200)]


class PegawaiFile(_FileModel):
    nip: Annotated[str, _check(_nip, str | int), Field(description="18 angka; spasi boleh")]
    nama: Annotated[_Text, Field(max_length=200)]
    jabatan: Annotated[_Text, Field(max_length=200)]
    pangkat: Annotated[_Text, Field(max_length=100)]
    peran: Annotated[str, _check(_choice(ROLES), Literal[tuple(ROLES)])]  # type: ignore[misc]
    seksi: Annotated[_OptText, Field(description="kode atau nama seksi; wajib untuk kasi")] = None
    telegram_id: Annotated[int | None, _check(_telegram_id, int | str | None)] = None
    telepon: Annotated[
        str | None,
        _check(_phone, str | None),
        Field(description="nomor WhatsApp, mis. +6281234567890"),
    ] = None


class RentangFile(_FileModel):
    """A range (``bawah`` ≤ ``atas``); both empty = none (a PK row without one)."""

    bawah: _OptAngka = None
    atas: _OptAngka = None

    @model_validator(mode="after")
    def _whole(self) -> RentangFile:
        if (self.bawah is None) != (self.atas is None):
            raise _fail("rentang_separuh")
        if self.bawah is not None and self.atas is not None and self.bawah > self.atas:
            raise _fail("rentang_terbalik", bawah=self.bawah, atas=self.atas)
        return self

    def pair(self) -> tuple[Decimal, Decimal] | None:
        return None if self.bawah is None or self.atas is None else (self.bawah, self.atas)


class IndikatorFile(_FileModel):
    """One Perjanjian Kinerja indicator."""

    kode: Annotated[_Text, Field(max_length=40)]
    seksi: _Text
    sasaran: Annotated[_Text, Field(max_length=2000)]
    nama: Annotated[_Text, Field(max_length=2000)]
    satuan: Annotated[_Text, Field(max_length=60)]
    polaritas: Annotated[str, _check(_choice(POLARITIES), Literal[tuple(POLARITIES)])]  # type: ignore[misc]
    agregasi: Annotated[str, _check(_choice(AGGREGATIONS), Literal[tuple(AGGREGATIONS)])]  # type: ignore[misc]
    target_tahunan: _Angka
    target_tw: Annotated[
        list[_OptAngka],
        BeforeValidator(_four),
        Field(min_length=4, max_length=4, description="s.d. TW I..IV; null = tidak diukur"),
    ]
    rentang: RentangFile | None = None
    sub_kegiatan: Annotated[
        str, _check(_sub_kegiatan, str | None), Field(description="mis. 7.01.02.2.02.0003")
    ] = ""
    invers: Annotated[bool, _check(_flag, bool | Literal["ya", "tidak"] | None)] = False
    wajib_bukti: Annotated[
        bool,
        _check(_flag, bool | Literal["ya", "tidak"] | None),
        Field(description="bukti dukung wajib dilampirkan sebelum Kirim"),
    ] = False
    pembilang: Annotated[Annotated[_Text, Field(max_length=200)] | None, _BLANK_IS_NONE] = None
    penyebut: Annotated[Annotated[_Text, Field(max_length=200)] | None, _BLANK_IS_NONE] = None
    rentang_tw: Annotated[
        Annotated[list[RentangFile | None], Field(min_length=4, max_length=4)] | None,
        BeforeValidator(lambda v: None if v is None else _four(v)),
        Field(description="rentang per triwulan (s.d. TW I..IV); null = pakai rentang"),
    ] = None

    @model_validator(mode="after")
    def _cumulative(self, info: ValidationInfo) -> IndikatorFile:
        """s.d. TW targets of a kumulatif indicator never fall and end at the annual target."""
        if self.agregasi != "kumulatif":
            return self
        given = [(i, v) for i, v in enumerate(self.target_tw) if v is not None]
        for (_, before), (i, after) in zip(given, given[1:], strict=False):
            if after < before:
                raise _fail(
                    "kumulatif_menurun",
                    _at=f"target_tw.{i}",
                    tw=i + 1,
                    sesudah=after,
                    sebelum=before,
                )
        tw4 = self.target_tw[3]
        if tw4 is not None and tw4 != self.target_tahunan:
            sheet = bool((info.context or {}).get("sheet"))
            raise _fail(
                "kumulatif_tw4",
                _at="target_tw.3",
                tw4=tw4,
                tahunan=self.target_tahunan,
                lembar=sheet,
            )
        return self

    def spec(self, seksi: str, keep: Collection[str] = ()) -> IndicatorSpec:
        ranges = tuple(r.pair() if r else None for r in self.rentang_tw or ())
        changed = {
            "seksi": seksi,
            "target_tw": tuple(self.target_tw),
            "rentang": self.rentang.pair() if self.rentang else None,
            "pembilang": self.pembilang or "",
            "penyebut": self.penyebut or "",
            "rentang_tw": ranges if any(ranges) else None,
        }
        return IndicatorSpec(**{**dict(self), **changed}, keep=frozenset(keep))


class OfficeFileModel(_FileModel):
    """A Kinerja Bot office file: the office, its people, sections and (optionally) its PK."""

    model_config = ConfigDict(title="Berkas kantor Kinerja Bot")

    kantor: KantorFile
    pegawai: Annotated[list[PegawaiFile], Field(min_length=1)]
    seksi: Annotated[list[SeksiFile], Field(min_length=1)]
    indikator: list[IndikatorFile] | None = None


_TOP_KEYS = tuple(OfficeFileModel.model_fields)
_OFFICE_KEYS = tuple(KantorFile.model_fields)
_SECTION_KEYS = tuple(SeksiFile.model_fields)
_PERSON_KEYS = tuple(PegawaiFile.model_fields)
INDICATOR_KEYS: tuple[str, ...] = tuple(IndikatorFile.model_fields)
#: Keys of ``pengingat`` (the reminder plan, see flows/sop/reminders.py).
REMINDER_KEYS: tuple[str, ...] = tuple(PengingatKantorFile.model_fields)


# --- pydantic's errors as Indonesian lines -----------------------------------------------------

_Loc = tuple[str | int, ...]
_STRUCTURE = {
    "missing": "wajib",
    "model_type": "bukan_pemetaan",
    "model_attributes_type": "bukan_pemetaan",
    "dict_type": "bukan_pemetaan",
    "list_type": "bukan_daftar",
    "too_short": "daftar_kosong",
}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for a in get_args(annotation) if (m := _model_in(a))), None)


def _keys_at(model: type[BaseModel] | None, path: _Loc) -> list[str]:
    """The keys the model at ``path`` (inside ``model``) knows."""
    for part in path:
        if model is not None and isinstance(part, str):
            model = _model_in(model.model_fields[part].annotation)
    return list(model.model_fields) if model else []


def _issues(exc: ValidationError, model: type[BaseModel]) -> Iterator[tuple[_Loc, str, dict]]:
    """Each problem as (where in the data, message code, its values)."""
    for error in exc.errors():
        loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
        ctx = dict(error.get("ctx") or {})
        if kind in ("extra_forbidden", "invalid_key"):
            ctx = {"nilai": loc[-1], "pilihan": _keys_at(model, loc[:-1])}
            loc, code = loc[:-1], "kunci_tak_dikenal"
        elif value is None and kind in _STRUCTURE and len(loc) == 1:
            code = "wajib"
        elif kind in ("too_long", "string_too_long"):
            code = "terlalu_panjang"
            ctx = {"panjang": len(" ".join(str(value).split())), "batas": ctx["max_length"]}
        else:
            code = _STRUCTURE.get(kind, kind)
        at = ctx.pop("_at", None)
        if at:
            loc += tuple(int(p) if p.isdigit() else p for p in at.split("."))
        for nilai in ctx.pop("_semua", None) or [ctx.get("nilai")]:
            yield loc, code, {**ctx, "nilai": nilai} if "nilai" in ctx else ctx


def _field(loc: _Loc) -> str | None:
    return ".".join(str(p) for p in loc) or None


def _rank(model: type[BaseModel], fld: str | None) -> int:
    """Problems of one item are listed in the order of its fields (unknown keys first)."""
    name = (fld or "").split(".")[0].lower()
    return list(model.model_fields).index(name) if name in model.model_fields else -1


# --- indicators (shared with the PK workbook) --------------------------------------------------


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
        found: list[tuple[int, str | None, str, dict[str, Any]]] = []

        def err(fld: str | None, code: str, found: list[Any] = found, **ctx: Any) -> None:
            found.append((_rank(IndikatorFile, fld), fld, code, ctx))

        row = (
            {k: v for k, v in raw.items() if k != "baris"}
            if sheet and isinstance(raw, Mapping)
            else raw
        )
        model: IndikatorFile | None = None
        try:
            model = IndikatorFile.model_validate(row, context={"sheet": sheet})
        except ValidationError as exc:
            for at, code, ctx in _issues(exc, IndikatorFile):
                err(_field(at), code, **ctx)
        seksi_ref = _safe(_text, raw, "seksi")
        seksi = seksi_ref
        if seksi_ref is not None and sections is not None:
            seksi = sections.get(_key(seksi_ref))
            if seksi is None:
                known = sorted(set(sections.values()))
                err("seksi", "tak_dikenal", nilai=seksi_ref, pilihan=known)
        kode = raw.get("kode") if isinstance(raw, Mapping) else None
        duplicate = None
        if isinstance(kode, str | int) and not isinstance(kode, bool) and str(kode).strip():
            duplicate = seen.get(_key(str(kode)))
            seen.setdefault(_key(str(kode)), label(i, raw))
        for _, fld, code, ctx in sorted(found, key=lambda f: f[0]):
            where, medan = locate(i, raw)(fld)
            problems.add(where, code, medan=medan, **ctx)
        if duplicate is not None:
            where, medan = locate(i, raw)("kode")
            problems.add(where, "ganda", medan=medan, nilai=kode, sebelumnya=duplicate)
        elif model is not None and seksi is not None and not found:
            specs.append(model.spec(seksi, {k for k in KEEPABLE if k not in raw} if sheet else ()))
    return specs


def _safe(check: Callable[[Any], Any], raw: Any, key: str) -> Any:
    """``check`` of ``raw[key]``, or ``None`` when missing or invalid (reported elsewhere)."""
    if not isinstance(raw, Mapping):
        return None
    try:
        return check(raw.get(key))
    except PydanticCustomError:
        return None


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


def kumulatif_entry(settings: Mapping[str, Any]) -> str:
    """``"triwulan"`` (the default: the quarter's new amount) or ``"sd"`` (the total s.d. TW)."""
    return str(settings.get("isian_kumulatif") or "triwulan")


# --- the office file ---------------------------------------------------------------------------


def _section_label(i: int, raw: Any) -> str:
    kode = raw.get("kode") if isinstance(raw, Mapping) else None
    return f"seksi ke-{i + 1}" + (f" ({kode})" if kode not in (None, "") else "")


def _person_label(i: int, raw: Any) -> str:
    nip = _safe(_nip, raw, "nip")
    return f"pegawai ke-{i + 1}" + (f" (NIP {fmt_nip(nip)})" if nip else "")


_LABELS = {"seksi": _section_label, "pegawai": _person_label}
_MODELS: dict[str, type[BaseModel]] = {
    "kantor": KantorFile,
    "seksi": SeksiFile,
    "pegawai": PegawaiFile,
}
_ORDER = ("berkas", "kantor", "seksi", "pegawai", "indikator")


class _Report:
    """Problems of the office file, listed in file order whatever order they were found in."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.found: list[tuple[tuple[int, int, int], str, str, str | None, dict[str, Any]]] = []

    def add(self, loc: _Loc, code: str, **ctx: Any) -> None:
        part = str(loc[0]) if loc else "berkas"
        order = _ORDER.index(part)
        if part == "kantor" or len(loc) < 2:
            where = ".".join(str(p) for p in loc) or "berkas"
            rank = _rank(KantorFile, _field(loc[1:]))
            self.found.append(((order, -1, rank), where, code, None, ctx))
            return
        i, medan = int(loc[1]), _field(loc[2:])
        where = _LABELS[part](i, self.data[part][i])
        self.found.append(((order, i, _rank(_MODELS[part], medan)), where, code, medan, ctx))

    def into(self, problems: Problems) -> None:
        for _, where, code, medan, ctx in sorted(self.found, key=lambda f: f[0]):
            problems.add(where, code, medan=medan, **ctx)


def _cross_check(data: Mapping[str, Any], report: _Report) -> dict[str, str]:
    """Checks across items (duplicates, section references, one Kasi a section); returns
    the section lookup."""
    seksi, pegawai = (v if isinstance(v := data.get(k), list) else [] for k in ("seksi", "pegawai"))
    seen: dict[str, str] = {}
    valid: list[SectionSpec] = []
    for i, raw in enumerate(seksi):
        kode, nama = _safe(_text, raw, "kode"), _safe(_text, raw, "nama")
        if kode is not None and _key(kode) in seen:
            report.add(("seksi", i, "kode"), "ganda", nilai=kode, sebelumnya=seen[_key(kode)])
        elif kode is not None:
            seen[_key(kode)] = _section_label(i, raw)
            if nama is not None:
                valid.append(SectionSpec(kode, nama))
    lookup = section_lookup(valid)
    firsts: dict[str, dict[Any, str]] = {"nip": {}, "telegram_id": {}, "telepon": {}}
    kasi_of: dict[str, str] = {}
    for i, raw in enumerate(pegawai):
        label = _person_label(i, raw)
        checks = {"nip": _nip, "telegram_id": _telegram_id, "telepon": _phone}
        for key, check in checks.items():
            value = _safe(check, raw, key)
            if value is not None and value in firsts[key]:
                nilai = "" if key == "nip" else raw[key]
                where = ("pegawai", i, "NIP" if key == "nip" else key)
                report.add(where, "ganda", nilai=nilai, sebelumnya=firsts[key][value])
            elif value is not None:
                firsts[key][value] = label
        peran, ref = _safe(_choice(ROLES), raw, "peran"), _safe(_opt_text, raw, "seksi")
        kode = lookup.get(_key(ref)) if ref is not None else None
        if ref is not None and kode is None:
            pilihan = sorted(set(lookup.values()))
            report.add(("pegawai", i, "seksi"), "tak_dikenal", nilai=ref, pilihan=pilihan)
        elif ref is None and peran == "kasi" and isinstance(raw, Mapping):
            report.add(("pegawai", i, "seksi"), "seksi_wajib", peran=peran)
        elif peran == "kasi" and kode is not None and kode in kasi_of:
            where = ("pegawai", i, "seksi")
            report.add(where, "seksi_sudah_dipegang", nilai=kode, sebelumnya=kasi_of[kode])
        elif peran == "kasi" and kode is not None:
            kasi_of[kode] = label
    return lookup


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
    raw_indicators = data.get("indikator")
    # Indicator rows are checked by parse_indicators (shared with the PK workbook).
    rest = {k: v for k, v in data.items() if not (k == "indikator" and isinstance(v, list))}
    context = {"known_presets": known_presets, "default_tz": default_tz, "base_dir": base_dir}
    report = _Report(data)
    model: OfficeFileModel | None = None
    try:
        model = OfficeFileModel.model_validate(rest, context=context)
    except ValidationError as exc:
        for loc, code, ctx in _issues(exc, OfficeFileModel):
            report.add(loc, code, **ctx)
    lookup = _cross_check(data, report)
    report.into(problems)
    indicators: list[IndicatorSpec] | None = None
    if isinstance(raw_indicators, list):
        indicators = parse_indicators(
            raw_indicators,
            problems,
            locate=_yaml_indicator_locate,
            label=_indicator_label,
            sections=lookup,
        )
    problems.raise_if_any()
    assert model is not None
    kantor = model.kantor
    return OfficeSpec(
        kode=kantor.kode or "",
        nama=kantor.nama,
        kabupaten=kantor.kabupaten,
        alamat=kantor.alamat,
        kota_ttd=kantor.kota_ttd,
        zona_waktu=kantor.zona_waktu or default_tz,
        sop=kantor.sop,
        tahun=kantor.tahun,
        settings=kantor.settings(),
        sections=tuple(SectionSpec(s.kode, s.nama) for s in model.seksi),
        people=tuple(
            PersonSpec(**{**dict(p), "seksi": lookup[_key(p.seksi)] if p.seksi else None})
            for p in model.pegawai
        ),
        indicators=None if indicators is None else tuple(indicators),
    )


def _yaml_error(exc: YamlFileError) -> OfficeFileError:
    problems = Problems()
    problems.add("berkas", exc.code, **exc.ctx)
    return OfficeFileError(problems.errors)


def parse_office_yaml(
    text: str | bytes,
    *,
    known_presets: Collection[str] = DEFAULT_PRESETS,
    default_tz: str = "Asia/Jakarta",
    base_dir: Path | None = None,
) -> OfficeSpec:
    """Parse and validate the YAML text of an office file (size and depth bounded first)."""
    bound = check_yaml_text(text)
    if bound is not None:
        problems = Problems()
        problems.add("berkas", bound)
        raise OfficeFileError(problems.errors)
    try:
        data = load_yaml_text(text)
    except YamlFileError as exc:
        raise _yaml_error(exc) from None
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
        raise _yaml_error(exc) from None
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
