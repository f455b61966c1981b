"""SOP presets: the SOP *Pengumpulan / Pengukuran Data Kinerja* as data (DESIGN.md §1–2).

A preset is a YAML file: the built-in ones live in ``flows/sop/presets/`` (one per seed SOP), an
office may bring its own. One engine runs them all; this module only loads, validates and looks
things up. Nothing is read at import time (built-ins are cached on first use).

Schema (Indonesian keys, as the office planner reads them)::

    id: kebasen-pengumpulan           # slug [a-z0-9-]; a built-in's id equals its file name
    nama: "SOP Pelaksanaan Pengumpulan Data Kinerja"
    sumber: "Kecamatan Kebasen, Kabupaten Banyumas · Nomor SOP ..."
    waktu_bawaan: "1 hari"            # optional (default "1 hari"): time of a step without waktu
    peran:                            # canonical role -> the title THIS SOP uses
      camat: "Camat"                  # roles left out fall back to DEFAULT_TITLES
    pengisi: [kasi, perencana]        # roles whose holders fill worksheets
    pengingat:                        # optional reminder plan (flows/sop/reminders.py); an office's
      sebelum_hari: 1                 #   own `pengingat` overrides it key by key
    langkah:                          # the steps, in the SOP's order
      - id: disposisi_camat           # snake_case, unique in the preset
        no: 1                         # the SOP's own row number (rows split in two share it)
        nama: "Menelaah Surat Bupati ..."   # the activity as the SOP writes it
        pelaku: camat                 # canonical role of the actor
        jenis: perintah               # kind of step (JENIS, below)
        waktu: "5 menit"              # optional; the SOP's time as written (parse_duration)
        masuk: "Surat Bupati"         # optional; kelengkapan / persyaratan
        keluar: "Disposisi Camat"     # optional; output
        kembali_ke: olah_data         # verifikasi/telaah/sahkan: where "Kembalikan" goes back to
        jabatan: "Kasubag Umum ..."   # optional; see below
        peserta: [kasi, perencana]    # rapat/arahan only; see below
        kepada: [camat]               # laporkan only; see below
        periode: semester             # optional: semester | tahunan; see below

Roles (``ROLES``, as in ``storage.models``): ``camat`` (head), ``sekcam`` (secretary),
``perencana`` (planner: Kasubag Perencanaan, Kasubbag PEP, Tim SAKIP, Pengelola …), ``kasi``
(every section head who reports), ``staf`` (helps a Kasi).

Kinds (``JENIS``) — what the engine does at a step, the same for every preset:

* ``perintah`` — the actor orders the collection; the cycle starts with it (always step 1).
* ``disposisi`` — the actor passes the matter on with "Teruskan" (to the next step's actor).
* ``siapkan`` — the actor gets a preview of the kertas kerja built from the PK; if no
  ``bagikan`` step follows, "Bagikan" also hands it out to the ``pengisi``.
* ``bagikan`` — the actor hands the prepared kertas kerja out ("Bagikan").
  A preset without ``siapkan`` has the kertas kerja built and handed out when ``isi`` starts.
* ``rapat`` / ``arahan`` — a meeting: the actor sets date, time and place; invitations go to
  ``peserta`` (default: ``pengisi`` for rapat, ``[perencana]`` for arahan, a briefing).
* ``metode`` — the actor writes how the measurement is done; the text goes out with the sheets.
* ``isi`` — every holder of a ``pengisi`` role fills and sends ("Kirim") their worksheet;
  ``pelaku`` is one of ``pengisi`` and only names them in texts.
* ``verifikasi`` — the actor checks each sheet: "Terima" or "Kembalikan"; a returned sheet goes
  back to its filler (``kembali_ke`` defaults to the nearest earlier ``isi`` step).
* ``analisis`` — the actor analyses the collected data (notes that go into the laporan).
* ``rekap`` — the rekap file and the draft laporan are (re)built from the accepted sheets and
  given to the actor to confirm; an SOP that splits "merekap" and "menyusun konsep" has two.
* ``telaah`` / ``sahkan`` — an approver (telaah) or the head (sahkan) reviews the draft:
  "Setujui" moves on, "Kembalikan" (with a reason) reopens ``kembali_ke`` (required).
* ``laporkan`` — the actor delivers the laporan to the holders of ``kepada`` (default: camat).
* ``arsip`` — the actor confirms archiving / input into the e-SAKIP application.
* ``gabung`` — roll-up (seed 004): ``periode: semester`` joins two quarters into a semester
  report, ``periode: tahunan`` two semesters into the annual one (``periode`` required).

Other rules the engine keeps for every preset:

* A step's deadline is its ``waktu`` counted on the office calendar (``"3 hari"`` = three working
  days); a step without ``waktu`` uses ``waktu_bawaan``.
* ``jabatan`` names the step's actor when the SOP gives the step to one particular holder of the
  role (e.g. the Kasubag Umum dan Kepegawaian among the ``kasi``). The engine gives the step to
  the holders of ``pelaku`` whose jabatan matches (:meth:`Step.jabatan_cocok`), or to all of them
  if none does; texts use :meth:`Preset.actor_title`.
* ``periode``: a cycle is one quarter. Steps without ``periode`` run in every cycle; steps with
  ``periode: semester`` also run when the quarter closes a semester (TW II, TW IV); ``tahunan``
  when it closes the year (TW IV). Such steps come last (:meth:`Preset.steps_for_period`).
* After the last step the cycle is closed and its final documents go to the head (``camat``).

Validation collects every problem and raises :class:`PresetError` with Indonesian messages.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from flows.core import texts
from flows.core.yaml_file import YamlFileError, YamlLoader, read_yaml_file
from flows.domain.calendar import SopDuration, parse_duration
from flows.domain.periods import Period
from flows.domain.roles import Role
from flows.domain.states import StepKind

__all__ = [
    "DEFAULT_TITLES",
    "DEFAULT_WAKTU_BAWAAN",
    "JENIS",
    "PERIODE",
    "PRESET_DIR",
    "ROLES",
    "LangkahFile",
    "Preset",
    "PresetError",
    "PresetFile",
    "Step",
    "is_preset_path",
    "load_cycle_preset",
    "load_preset",
    "load_preset_file",
    "parse_preset",
    "preset_from_snapshot",
    "preset_ids",
    "preset_snapshot",
    "validate_preset",
]

PRESET_DIR = Path(str(resources.files("flows.sop") / "presets"))

ROLES: tuple[str, ...] = tuple(Role)

#: Title of a role when a preset's ``peran`` does not name it.
DEFAULT_TITLES: Mapping[str, str] = MappingProxyType(
    {
        "camat": "Camat",
        "sekcam": "Sekcam",
        "perencana": "Kasubag Perencanaan",
        "kasi": "Kepala Seksi",
        "staf": "Staf",
        "admin": "Admin",
    }
)

JENIS: tuple[str, ...] = tuple(StepKind)

#: Values of ``periode``, in the order their steps must come.
PERIODE: tuple[str, ...] = ("semester", "tahunan")

DEFAULT_WAKTU_BAWAAN = "1 hari"

_RETURN_KINDS = ("verifikasi", "telaah", "sahkan")
_RETURN_REQUIRED = ("telaah", "sahkan")
_NEEDS_DATA = ("verifikasi", "analisis", "rekap", "gabung")
_PERIOD_RANK = {"triwulan": 0, "tw": 0, "semester": 1, "tahunan": 2, "tahun": 2}

_PENGINGAT_KEYS = ("sebelum_hari", "hari_h", "terlambat_harian", "eskalasi", "ringkasan_camat")
_PRESET_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_STEP_ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


class PresetError(ValueError):
    """A preset file is invalid; ``errors`` holds one Indonesian message per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


# --------------------------------------------------------------------------- data


_JABATAN_WORDS = (
    (re.compile(r"\bkepala sub ?bagian\b"), "kasubag"),
    (re.compile(r"\bkasubbag\b"), "kasubag"),
    (re.compile(r"\bkepala seksi\b"), "kasi"),
    (re.compile(r"\bkasie\b"), "kasi"),
    (re.compile(r"\bsubbag\b"), "subag"),
    (re.compile(r"\bsub bagian\b"), "subag"),
)


def _norm_jabatan(text: str) -> str:
    """Lower-case words only, with the usual spellings unified (Kasubbag = Kasubag …)."""
    out = " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", " dan ")).split())
    for pattern, word in _JABATAN_WORDS:
        out = pattern.sub(word, out)
    return out


@dataclass(frozen=True)
class Step:
    """One step (row) of an SOP. ``waktu`` is ``None`` when the SOP gives no time."""

    id: str
    no: int
    nama: str
    pelaku: str
    jenis: str
    waktu: SopDuration | None
    waktu_teks: str
    masuk: str
    keluar: str
    kembali_ke: str | None
    periode: str | None
    jabatan: str | None = None
    peserta: tuple[str, ...] = ()
    kepada: tuple[str, ...] = ()

    def jabatan_cocok(self, jabatan: str) -> bool:
        """True when a person with this jabatan may act (always, if the step names none)."""
        if not self.jabatan:
            return True
        return _norm_jabatan(self.jabatan) in _norm_jabatan(jabatan)


@dataclass(frozen=True)
class Preset:
    """A validated SOP preset; ``langkah`` is in the SOP's order."""

    id: str
    nama: str
    sumber: str
    peran: Mapping[str, str] = field(hash=False)
    pengisi: tuple[str, ...]
    langkah: tuple[Step, ...]
    waktu_bawaan: SopDuration
    #: The reminder plan (flows/sop/reminders.py); an office's ``pengingat`` overrides it.
    pengingat: Mapping[str, Any] = field(default_factory=dict, hash=False)
    #: The validated file this preset was built from (its snapshot form).
    file: PresetFile | None = field(default=None, hash=False, compare=False, repr=False)

    def index(self, step_id: str) -> int:
        """Position of a step in ``langkah``; ``KeyError`` for an unknown id."""
        for i, s in enumerate(self.langkah):
            if s.id == step_id:
                return i
        raise KeyError(f"langkah '{step_id}' tidak ada di SOP '{self.id}'")

    def step(self, step_id: str) -> Step:
        """The step with this id; ``KeyError`` for an unknown id."""
        return self.langkah[self.index(step_id)]

    @property
    def first(self) -> Step:
        """The first step (always ``perintah``)."""
        return self.langkah[0]

    def next_step(self, step_id: str, period: str | Period | None = None) -> Step | None:
        """The step after ``step_id`` (``None`` at the end).

        With ``period`` (see :meth:`steps_for_period`) steps that do not run in that cycle are
        skipped.
        """
        i = self.index(step_id)
        allowed = None if period is None else {s.id for s in self.steps_for_period(period)}
        for s in self.langkah[i + 1 :]:
            if allowed is None or s.id in allowed:
                return s
        return None

    def first_of(self, jenis: str) -> Step | None:
        """The first step of this kind, or ``None``."""
        return next((s for s in self.langkah if s.jenis == jenis), None)

    def of_kind(self, jenis: str) -> tuple[Step, ...]:
        """Every step of this kind, in order."""
        return tuple(s for s in self.langkah if s.jenis == jenis)

    def return_target(self, step_id: str) -> Step | None:
        """The step a "Kembalikan" at ``step_id`` reopens, or ``None`` when it has no return."""
        target = self.step(step_id).kembali_ke
        return self.step(target) if target else None

    def duration(self, step_id: str) -> SopDuration:
        """The step's SOP time, or ``waktu_bawaan`` when the SOP gives none."""
        return self.step(step_id).waktu or self.waktu_bawaan

    def title(self, role: str) -> str:
        """The title this SOP uses for a canonical role (else the default Indonesian title)."""
        if role not in DEFAULT_TITLES:
            raise KeyError(f"peran '{role}' tidak dikenal")
        return self.peran.get(role) or DEFAULT_TITLES[role]

    def actor_title(self, step_id: str) -> str:
        """Who acts at a step, as the SOP names them (``jabatan`` or the role's title)."""
        s = self.step(step_id)
        return s.jabatan or self.title(s.pelaku)

    def steps_for_period(self, kind: str | Period) -> tuple[Step, ...]:
        """Steps of a cycle, by the widest period the cycle's quarter closes.

        ``kind`` is ``"triwulan"`` (TW I, TW III), ``"semester"`` (TW II) or ``"tahunan"``
        (TW IV) — ``"TW"``/``"SEMESTER"``/``"TAHUN"`` also work — or a :class:`Period`: a
        quarter is mapped by its number, a semester to ``semester``, a year to ``tahunan``.
        """
        rank = _period_rank(kind)
        return tuple(s for s in self.langkah if _PERIOD_RANK[s.periode or "triwulan"] <= rank)

    def steps_for_quarter(self, tw: int) -> tuple[Step, ...]:
        """Steps of the cycle for quarter ``tw`` (1–4)."""
        return self.steps_for_period(Period.quarter(2000, tw))


def _period_rank(kind: str | Period) -> int:
    if isinstance(kind, Period):
        if kind.kind == "TW":
            return {2: 1, 4: 2}.get(kind.number, 0)
        return 1 if kind.kind == "SEMESTER" else 2
    try:
        return _PERIOD_RANK[kind.strip().lower()]
    except KeyError:
        raise ValueError(
            f"periode '{kind}' tidak dikenal (pilihan: triwulan, semester, tahunan)"
        ) from None


# --------------------------------------------------------------------------- the file model
#
# The pydantic models below ARE the preset file's schema (``kinerja-bot skema`` publishes it as
# JSON Schema). Field checks raise :class:`PydanticCustomError` whose message is already the
# Indonesian text; :func:`_messages` adds where it is ("Langkah 'rekap': …"). Whole-preset rules
# (order, returns, periods) are checked afterwards by :func:`_check_order` on the steps that are
# valid on their own, so every problem is listed at once.


def _text(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("preset", "{pesan}", {"pesan": message})


def _required(key: str, hint: str = "") -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = _text(value)
        if not text:
            raise _fail(f"'{key}' wajib diisi{hint}.")
        return text

    return check


def _optional(value: Any) -> str | None:
    return _text(value) or None


def _choice(word: str, options: tuple[str, ...], *, required: bool = True) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        text = _text(value)
        if not text:
            if required:
                raise _fail(f"'{word}' wajib diisi.")
            return None
        if text not in options:
            raise _fail(f"{word} '{text}' tidak dikenal (pilihan: {', '.join(options)}).")
        return text

    return check


def _duration(word: str, example: str, hint: str = "") -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        text = _text(value)
        if text and parse_duration(text) is None:
            raise _fail(f"{word} '{text}' tidak terbaca (contoh: {example}{hint}).")
        return text or None

    return check


def _role_list(value: Any) -> Any:
    """A single role is a list of one; repeats are dropped (the order is kept)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _step_no(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _fail("'no' harus bilangan bulat mulai 1 (nomor langkah di SOP).")
    return value


def _preset_id(value: Any) -> str:
    text = _required("id")(value)
    if not _PRESET_ID_RE.match(text):
        raise _fail(f"id '{text}' hanya boleh huruf kecil, angka dan '-'.")
    return text


def _step_id(value: Any) -> str:
    text = _required("id")(value)
    if not _STEP_ID_RE.match(text):
        raise _fail("id hanya boleh huruf kecil, angka dan '_' (contoh: olah_data).")
    return text


_Role = Literal["camat", "sekcam", "perencana", "kasi", "staf"]
_Jenis = Literal[
    "perintah", "disposisi", "siapkan", "bagikan", "rapat", "arahan", "metode", "isi",
    "verifikasi", "analisis", "rekap", "telaah", "sahkan", "laporkan", "arsip", "gabung",
]  # fmt: skip
_RoleItem = Annotated[_Role, BeforeValidator(_choice("peran", ROLES))]
_Roles = Annotated[list[_RoleItem], BeforeValidator(_role_list)]
_WAKTU_EXAMPLE = '"5 menit", "2 jam", "3 hari"'


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LangkahFile(_FileModel):
    """One step (row) of the SOP, as the preset file writes it."""

    id: Annotated[str, BeforeValidator(_step_id), Field(pattern=_STEP_ID_RE.pattern)]
    no: Annotated[int, BeforeValidator(_step_no), Field(ge=1)]
    nama: Annotated[str, BeforeValidator(_required("nama"))]
    pelaku: Annotated[_Role, BeforeValidator(_choice("pelaku", ROLES))]
    jenis: Annotated[_Jenis, BeforeValidator(_choice("jenis", JENIS))]
    waktu: Annotated[
        str | None,
        BeforeValidator(
            _duration("waktu", _WAKTU_EXAMPLE, "; kosongkan bila SOP tidak menyebutkan")
        ),
    ] = None
    masuk: Annotated[str, BeforeValidator(_text)] = ""
    keluar: Annotated[str, BeforeValidator(_text)] = ""
    kembali_ke: Annotated[str | None, BeforeValidator(_optional)] = None
    jabatan: Annotated[str | None, BeforeValidator(_optional)] = None
    peserta: _Roles | None = None
    kepada: _Roles | None = None
    periode: Annotated[
        Literal["semester", "tahunan"] | None,
        BeforeValidator(_choice("periode", PERIODE, required=False)),
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _plain_no(cls, data: Any) -> Any:
        """Plain ``yaml.safe_load`` reads the key ``no:`` as ``False``."""
        if isinstance(data, dict) and False in data and "no" not in data:
            return {("no" if k is False else k): v for k, v in data.items()}
        return data


class PengingatFile(_FileModel):
    """The SOP's reminder plan (flows/sop/reminders.py); an office's ``pengingat`` overrides it."""

    sebelum_hari: int | None = None
    hari_h: bool | None = None
    terlambat_harian: bool | None = None
    eskalasi: bool | None = None
    ringkasan_camat: bool | None = None


def _peran(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail("'peran' harus berupa pemetaan peran: sebutan.")
    return value


def _title(value: Any) -> str:
    text = _text(value)
    if not text:
        raise _fail("sebutan kosong.")
    return text


def _pengingat(value: Any) -> Any:
    if not value:
        return None
    if not isinstance(value, dict) or any(k not in _PENGINGAT_KEYS for k in value):
        raise _fail(f"'pengingat' hanya boleh berisi {', '.join(_PENGINGAT_KEYS)}.")
    return value


def _pengisi(value: Any) -> Any:
    if value in (None, "", []):
        raise _fail("'pengisi' wajib diisi (peran yang mengisi kertas kerja).")
    return _role_list(value)


def _langkah(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise _fail("'langkah' wajib berisi daftar langkah.")
    return value


class PresetFile(_FileModel):
    """An SOP preset file (``flows/sop/presets/*.yaml`` or an office's own)."""

    model_config = ConfigDict(title="Preset SOP Kinerja Bot")

    id: Annotated[str, BeforeValidator(_preset_id), Field(pattern=_PRESET_ID_RE.pattern)]
    nama: Annotated[str, BeforeValidator(_required("nama"))]
    sumber: Annotated[str, BeforeValidator(_required("sumber"))]
    waktu_bawaan: Annotated[
        str, BeforeValidator(_duration("waktu_bawaan", '"5 menit", "2 jam", "1 hari"'))
    ] = DEFAULT_WAKTU_BAWAAN
    peran: Annotated[
        dict[_RoleItem, Annotated[str, BeforeValidator(_title)]], BeforeValidator(_peran)
    ] = {}
    pengisi: Annotated[list[_RoleItem], BeforeValidator(_pengisi)]
    pengingat: Annotated[PengingatFile | None, BeforeValidator(_pengingat)] = None
    langkah: Annotated[list[LangkahFile], BeforeValidator(_langkah)]

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise _fail("isi berkas harus berupa pemetaan (kunci: nilai).")
        if data.get("waktu_bawaan") in (None, ""):
            data = {**data, "waktu_bawaan": DEFAULT_WAKTU_BAWAAN}
        return data


# --------------------------------------------------------------------------- loading


def preset_ids() -> list[str]:
    """Ids of the built-in presets, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def is_preset_path(id_or_path: str | Path) -> bool:
    """True when ``kantor.sop`` (or a cycle's preset) names a file rather than a built-in id."""
    return (
        isinstance(id_or_path, Path)
        or id_or_path.endswith((".yaml", ".yml"))
        or ("/" in id_or_path)
    )


def load_preset(id_or_path: str | Path) -> Preset:
    """A built-in preset by id, or an office's own file by path (``.yaml``/``.yml``)."""
    if is_preset_path(id_or_path):
        return load_preset_file(Path(id_or_path))
    return _load_builtin(str(id_or_path))


@functools.cache
def _load_builtin(preset_id: str) -> Preset:
    path = PRESET_DIR / f"{preset_id}.yaml"
    if not _PRESET_ID_RE.match(preset_id) or not path.is_file():
        raise PresetError([f"SOP '{preset_id}' tidak ada. Pilihan: {', '.join(preset_ids())}."])
    preset = load_preset_file(path)
    if preset.id != preset_id:
        raise PresetError([f"{path.name}: id '{preset.id}' harus sama dengan nama berkas."])
    return preset


def load_preset_file(path: str | Path) -> Preset:
    """Load and validate one preset file; raises :class:`PresetError`."""
    path = Path(path)
    try:
        data = read_yaml_file(path, loader=YamlLoader)
    except YamlFileError as exc:
        message = texts.render("impor/kesalahan", kode=exc.code, medan=None, **exc.ctx)
        if exc.code == "yaml_rusak":
            raise PresetError(
                [f"Berkas SOP '{path.name}' bukan YAML yang sah: {message}."]
            ) from None
        raise PresetError([f"Berkas SOP tidak dapat dibaca: {message}."]) from None
    return parse_preset(data, source=path.name)


def parse_preset(data: Any, source: str = "SOP") -> Preset:
    """Validate already-parsed YAML data (a mapping) and build the :class:`Preset`.

    Data from plain ``yaml.safe_load`` works too: its ``False`` key (from ``no:``) is read as
    ``no``.
    """
    return _build(validate_preset(data, source))


def validate_preset(data: Any, source: str = "SOP") -> PresetFile:
    """The validated file model; raises :class:`PresetError` listing every problem."""
    errors: list[str] = []
    model: PresetFile | None = None
    try:
        model = PresetFile.model_validate(data)
    except ValidationError as exc:
        errors.extend(_messages(exc, data, source))
    if not isinstance(data, dict):
        raise PresetError(errors)
    steps = model.langkah if model else _valid_steps(data.get("langkah"))
    pengisi = tuple(model.pengisi) if model else _lenient_roles(data.get("pengisi"))
    raw_ids = _raw_ids(data.get("langkah"))
    errors.extend(_check_order(steps, pengisi, raw_ids))
    if errors or model is None:
        raise PresetError(errors)
    return model


def load_cycle_preset(preset: str, snapshot: Mapping[str, Any] | None) -> Preset:
    """A cycle's preset: the snapshot it started with, else (an older cycle) by id or path."""
    return preset_from_snapshot(snapshot) if snapshot else load_preset(preset)


def preset_snapshot(preset: Preset) -> dict[str, Any]:
    """The preset as JSON-safe data (the file's form), stored with a cycle when it starts."""
    assert preset.file is not None, "a preset loaded from a file keeps its model"
    return preset.file.model_dump(mode="json", exclude_none=True)


def preset_from_snapshot(snapshot: Mapping[str, Any]) -> Preset:
    """The preset a cycle started with, rebuilt from :func:`preset_snapshot`."""
    return _from_snapshot_json(json.dumps(snapshot, sort_keys=True))


@functools.lru_cache(maxsize=64)
def _from_snapshot_json(text: str) -> Preset:
    return parse_preset(json.loads(text), source="snapshot")


# --------------------------------------------------------------------------- messages


def _step_label(raw: Any, pos: int) -> str:
    step_id = _text(raw.get("id")) if isinstance(raw, dict) else ""
    return f"Langkah '{step_id}'" if step_id else f"Langkah ke-{pos}"


def _messages(exc: ValidationError, data: Any, source: str) -> list[str]:
    """One Indonesian line per pydantic error, naming the step (or the file) and the field."""
    out: list[str] = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        where = source
        if len(loc) >= 2 and loc[0] == "langkah" and isinstance(loc[1], int):
            raw = data["langkah"][loc[1]]
            where = _step_label(raw, loc[1] + 1)
            loc = loc[2:]
            if err["type"] in ("model_type", "model_attributes_type"):
                out.append(f"{where}: harus berupa pemetaan (id, no, nama, pelaku, jenis, …).")
                continue
        field_name = str(loc[0]) if loc else ""
        if loc and loc[0] in ("pengisi", "peserta", "kepada") and len(loc) > 1:
            where = f"{where}: {loc[0]}"
        elif loc and loc[0] == "peran" and len(loc) == 2:
            out.append(f"{where}: sebutan untuk peran '{loc[1]}' kosong.")
            continue
        if err["type"] == "missing":
            hint = " (peran yang mengisi kertas kerja)" if field_name == "pengisi" else ""
            if field_name == "langkah":
                out.append(f"{where}: 'langkah' wajib berisi daftar langkah.")
            else:
                out.append(f"{where}: '{field_name}' wajib diisi{hint}.")
        elif err["type"] == "extra_forbidden":
            out.append(f"{where}: kunci '{field_name}' tidak dikenal.")
        elif err["type"] == "preset":
            out.append(f"{where}: {err['msg']}")
        elif field_name == "pengingat" and len(loc) == 2:
            kind = "bilangan bulat" if loc[1] == "sebelum_hari" else "true atau false"
            out.append(f"{where}: pengingat.{loc[1]} '{err['input']}' harus {kind}.")
        else:
            out.append(f"{where}: '{field_name}' tidak sah ({err['msg']}).")
    return out


# --------------------------------------------------------------------------- whole-preset rules


def _valid_steps(raw_steps: Any) -> list[LangkahFile]:
    """The steps that are valid on their own (for the whole-preset rules when some are not)."""
    out = []
    for raw in raw_steps if isinstance(raw_steps, list) else []:
        try:
            out.append(LangkahFile.model_validate(raw))
        except ValidationError:
            continue
    return out


def _lenient_roles(value: Any) -> tuple[str, ...]:
    return tuple(r for r in _role_list(value) if r in ROLES)


def _raw_ids(raw_steps: Any) -> list[str]:
    if not isinstance(raw_steps, list):
        return []
    return [_text(r.get("id")) if isinstance(r, dict) else "" for r in raw_steps]


def _default_return(steps: list[LangkahFile], i: int) -> str | None:
    """Where a verifikasi step without ``kembali_ke`` returns: the nearest earlier isi step."""
    earlier = [s.id for s in steps[:i] if s.jenis == "isi"]
    return earlier[-1] if earlier else None


def _check_order(
    steps: list[LangkahFile], pengisi: tuple[str, ...], raw_ids: list[str]
) -> list[str]:
    """Rules across steps; returns the problems (empty when the order is right)."""
    errs: list[str] = []
    if not steps:
        return errs
    seen: dict[str, int] = {}
    for pos, step_id in enumerate(raw_ids, start=1):
        if not step_id:
            continue
        if step_id in seen:
            errs.append(
                f"Langkah '{step_id}': id dipakai dua kali (juga langkah ke-{seen[step_id]})."
            )
        else:
            seen[step_id] = pos
    last_no = 0
    for s in steps:
        if s.no < last_no:
            errs.append(
                f"Langkah '{s.id}': 'no' {s.no} lebih kecil dari langkah sebelumnya ({last_no})."
            )
        last_no = max(last_no, s.no)
        if s.peserta is not None and s.jenis not in ("rapat", "arahan"):
            errs.append(f"Langkah '{s.id}': 'peserta' hanya untuk langkah rapat atau arahan.")
        if s.kepada is not None and s.jenis != "laporkan":
            errs.append(f"Langkah '{s.id}': 'kepada' hanya untuk langkah laporkan.")
        if s.jenis == "gabung" and not s.periode:
            errs.append(
                f"Langkah '{s.id}': langkah gabung wajib menyebut periode (semester/tahunan)."
            )
        if s.jenis == "isi" and pengisi and s.pelaku not in pengisi:
            errs.append(
                f"Langkah '{s.id}': pelaku langkah isi ('{s.pelaku}') harus termasuk pengisi."
            )
    if steps[0].jenis != "perintah":
        errs.append(f"Langkah '{steps[0].id}': langkah pertama harus berjenis perintah.")
    for s in steps[1:]:
        if s.jenis == "perintah":
            errs.append(f"Langkah '{s.id}': jenis perintah hanya untuk langkah pertama.")
    isi_positions = [i for i, s in enumerate(steps) if s.jenis == "isi"]
    if not isi_positions:
        errs.append("SOP harus punya satu langkah berjenis isi (pengisian kertas kerja).")
    position = {s.id: i for i, s in enumerate(steps)}
    last_rank = 0
    for i, s in enumerate(steps):
        label = f"Langkah '{s.id}'"
        rank = _PERIOD_RANK[s.periode or "triwulan"]
        if rank < last_rank:
            errs.append(
                f"{label}: langkah khusus semester/tahunan harus di akhir "
                "(tahunan sesudah semester)."
            )
        last_rank = max(last_rank, rank)
        if s.periode and s.jenis in ("perintah", "isi"):
            errs.append(f"{label}: langkah {s.jenis} tidak boleh punya periode.")
        if s.jenis in _NEEDS_DATA and not any(p < i for p in isi_positions):
            errs.append(f"{label}: langkah {s.jenis} harus sesudah langkah isi.")
        if s.jenis == "bagikan" and not any(x.jenis == "siapkan" for x in steps[:i]):
            errs.append(f"{label}: langkah bagikan harus sesudah langkah siapkan.")
        target = s.kembali_ke
        if target is None and s.jenis == "verifikasi":
            target = _default_return(steps, i)
        if target is None:
            if s.jenis in _RETURN_REQUIRED:
                errs.append(f"{label}: langkah {s.jenis} wajib punya kembali_ke.")
        elif s.jenis not in _RETURN_KINDS:
            errs.append(f"{label}: kembali_ke hanya untuk langkah verifikasi, telaah atau sahkan.")
        elif target not in position:
            if target in raw_ids:
                continue  # the target step has its own error
            errs.append(f"{label}: kembali_ke '{target}' bukan id langkah yang ada.")
        elif position[target] >= i:
            errs.append(f"{label}: kembali_ke '{target}' harus menunjuk langkah sebelumnya.")
        elif s.jenis == "verifikasi" and steps[position[target]].jenis != "isi":
            errs.append(f"{label}: kembali_ke langkah verifikasi harus menunjuk langkah isi.")
    return errs


# --------------------------------------------------------------------------- building


def _build(model: PresetFile) -> Preset:
    """The runtime :class:`Preset` (defaults filled in) from a validated file model."""
    steps: list[Step] = []
    pengisi = tuple(model.pengisi)
    for i, s in enumerate(model.langkah):
        peserta = tuple(s.peserta or ())
        if s.jenis == "rapat" and not peserta:
            peserta = pengisi
        elif s.jenis == "arahan" and not peserta:
            peserta = ("perencana",)
        kepada = tuple(s.kepada or ())
        if s.jenis == "laporkan" and not kepada:
            kepada = ("camat",)
        kembali_ke = s.kembali_ke
        if kembali_ke is None and s.jenis == "verifikasi":
            kembali_ke = _default_return(list(model.langkah), i)
        steps.append(
            Step(
                id=s.id,
                no=s.no,
                nama=s.nama,
                pelaku=s.pelaku,
                jenis=s.jenis,
                waktu=parse_duration(s.waktu) if s.waktu else None,
                waktu_teks=s.waktu or "",
                masuk=s.masuk,
                keluar=s.keluar,
                kembali_ke=kembali_ke,
                periode=s.periode,
                jabatan=s.jabatan,
                peserta=peserta,
                kepada=kepada,
            )
        )
    bawaan = parse_duration(model.waktu_bawaan)
    assert bawaan is not None
    pengingat = model.pengingat.model_dump(exclude_none=True) if model.pengingat else {}
    return Preset(
        id=model.id,
        nama=model.nama,
        sumber=model.sumber,
        peran=MappingProxyType({str(k): v for k, v in model.peran.items()}),
        pengisi=pengisi,
        langkah=tuple(steps),
        waktu_bawaan=bawaan,
        pengingat=MappingProxyType(pengingat),
        file=model,
    )
