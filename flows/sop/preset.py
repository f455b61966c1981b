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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

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
    "Preset",
    "PresetError",
    "Step",
    "load_preset",
    "load_preset_file",
    "parse_preset",
    "preset_ids",
]

PRESET_DIR = Path(__file__).resolve().parent / "presets"

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

_TOP_KEYS = ("id", "nama", "sumber", "waktu_bawaan", "peran", "pengisi", "langkah", "pengingat")
_PENGINGAT_KEYS = ("sebelum_hari", "hari_h", "terlambat_harian", "eskalasi", "ringkasan_camat")
_STEP_KEYS = (
    "id",
    "no",
    "nama",
    "pelaku",
    "jenis",
    "waktu",
    "masuk",
    "keluar",
    "kembali_ke",
    "jabatan",
    "peserta",
    "kepada",
    "periode",
)
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


# --------------------------------------------------------------------------- loading


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false, so ``no: 1`` is the key "no", not ``False``."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def preset_ids() -> list[str]:
    """Ids of the built-in presets, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_preset(id_or_path: str | Path) -> Preset:
    """A built-in preset by id, or an office's own file by path (``.yaml``/``.yml``)."""
    if (
        isinstance(id_or_path, Path)
        or id_or_path.endswith((".yaml", ".yml"))
        or ("/" in id_or_path)
    ):
        return load_preset_file(Path(id_or_path))
    return _load_builtin(id_or_path)


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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PresetError([f"Berkas SOP '{path}' tidak dapat dibaca: {exc.strerror}."]) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PresetError([f"Berkas SOP '{path.name}' bukan YAML yang sah: {exc}"]) from None
    return parse_preset(data, source=path.name)


def parse_preset(data: Any, source: str = "SOP") -> Preset:
    """Validate already-parsed YAML data (a mapping) and build the :class:`Preset`.

    Data from plain ``yaml.safe_load`` works too: its ``False`` key (from ``no:``) is read as
    ``no``.
    """
    return _Validator(source).preset(data)


# --------------------------------------------------------------------------- validation


def _text(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


class _Validator:
    """Collects every problem of one preset before raising."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []

    def err(self, message: str) -> None:
        self.errors.append(message)

    def roles(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        out: list[str] = []
        for item in items:
            if item not in ROLES:
                self.err(f"{where}: peran '{item}' tidak dikenal (pilihan: {', '.join(ROLES)}).")
            elif item not in out:
                out.append(item)
        return tuple(out)

    def required_text(self, data: Mapping[str, Any], key: str, where: str) -> str:
        value = _text(data.get(key))
        if not value:
            self.err(f"{where}: '{key}' wajib diisi.")
        return value

    def preset(self, data: Any) -> Preset:
        if not isinstance(data, dict):
            raise PresetError([f"{self.source}: isi berkas harus berupa pemetaan (kunci: nilai)."])
        for key in data:
            if key not in _TOP_KEYS:
                self.err(f"{self.source}: kunci '{key}' tidak dikenal.")

        preset_id = self.required_text(data, "id", self.source)
        if preset_id and not _PRESET_ID_RE.match(preset_id):
            self.err(f"{self.source}: id '{preset_id}' hanya boleh huruf kecil, angka dan '-'.")
        nama = self.required_text(data, "nama", self.source)
        sumber = self.required_text(data, "sumber", self.source)

        bawaan_text = _text(data.get("waktu_bawaan")) or DEFAULT_WAKTU_BAWAAN
        bawaan = parse_duration(bawaan_text)
        if bawaan is None:
            self.err(
                f"{self.source}: waktu_bawaan '{bawaan_text}' tidak terbaca "
                '(contoh: "5 menit", "2 jam", "1 hari").'
            )

        peran_raw = data.get("peran") or {}
        peran: dict[str, str] = {}
        if not isinstance(peran_raw, dict):
            self.err(f"{self.source}: 'peran' harus berupa pemetaan peran: sebutan.")
        else:
            for role, title in peran_raw.items():
                if role not in ROLES:
                    self.err(
                        f"{self.source}: peran '{role}' tidak dikenal "
                        f"(pilihan: {', '.join(ROLES)})."
                    )
                elif not _text(title):
                    self.err(f"{self.source}: sebutan untuk peran '{role}' kosong.")
                else:
                    peran[role] = _text(title)

        pengisi = self.roles(data.get("pengisi"), f"{self.source}: pengisi")
        if data.get("pengisi") in (None, "", []):
            self.err(f"{self.source}: 'pengisi' wajib diisi (peran yang mengisi kertas kerja).")

        pengingat = data.get("pengingat") or {}
        if not isinstance(pengingat, dict) or any(k not in _PENGINGAT_KEYS for k in pengingat):
            self.err(f"{self.source}: 'pengingat' hanya boleh berisi {', '.join(_PENGINGAT_KEYS)}.")
            pengingat = {}

        raw_steps = data.get("langkah")
        if not isinstance(raw_steps, list) or not raw_steps:
            self.err(f"{self.source}: 'langkah' wajib berisi daftar langkah.")
            raw_steps = []
        steps = self.steps(raw_steps, pengisi)

        if self.errors:
            raise PresetError(self.errors)
        assert bawaan is not None
        return Preset(
            id=preset_id,
            nama=nama,
            sumber=sumber,
            peran=MappingProxyType(peran),
            pengisi=pengisi,
            langkah=tuple(steps),
            waktu_bawaan=bawaan,
            pengingat=MappingProxyType(dict(pengingat)),
        )

    def steps(self, raw_steps: list[Any], pengisi: tuple[str, ...]) -> list[Step]:
        steps: list[Step] = []
        seen: dict[str, int] = {}
        last_no = 0
        for pos, raw in enumerate(raw_steps, start=1):
            label = f"Langkah ke-{pos}"
            if not isinstance(raw, dict):
                self.err(f"{label}: harus berupa pemetaan (id, no, nama, pelaku, jenis, …).")
                continue
            if False in raw and "no" not in raw:  # plain yaml.safe_load reads `no:` as False
                raw = {("no" if k is False else k): v for k, v in raw.items()}
            step_id = _text(raw.get("id"))
            if step_id:
                label = f"Langkah '{step_id}'"
            for key in raw:
                if key not in _STEP_KEYS:
                    self.err(f"{label}: kunci '{key}' tidak dikenal.")

            if not step_id:
                self.err(f"{label}: 'id' wajib diisi.")
            elif not _STEP_ID_RE.match(step_id):
                self.err(f"{label}: id hanya boleh huruf kecil, angka dan '_' (contoh: olah_data).")
            elif step_id in seen:
                self.err(f"{label}: id dipakai dua kali (juga langkah ke-{seen[step_id]}).")
            else:
                seen[step_id] = pos

            no = raw.get("no")
            if not isinstance(no, int) or isinstance(no, bool) or no < 1:
                self.err(f"{label}: 'no' harus bilangan bulat mulai 1 (nomor langkah di SOP).")
                no = last_no or 1
            elif no < last_no:
                self.err(f"{label}: 'no' {no} lebih kecil dari langkah sebelumnya ({last_no}).")
            last_no = max(last_no, no)

            nama = self.required_text(raw, "nama", label)

            pelaku = _text(raw.get("pelaku"))
            if not pelaku:
                self.err(f"{label}: 'pelaku' wajib diisi.")
            elif pelaku not in ROLES:
                self.err(f"{label}: pelaku '{pelaku}' tidak dikenal (pilihan: {', '.join(ROLES)}).")

            jenis = _text(raw.get("jenis"))
            if not jenis:
                self.err(f"{label}: 'jenis' wajib diisi.")
            elif jenis not in JENIS:
                self.err(f"{label}: jenis '{jenis}' tidak dikenal (pilihan: {', '.join(JENIS)}).")

            waktu_teks = _text(raw.get("waktu"))
            waktu = parse_duration(waktu_teks) if waktu_teks else None
            if waktu_teks and waktu is None:
                self.err(
                    f"{label}: waktu '{waktu_teks}' tidak terbaca "
                    '(contoh: "5 menit", "2 jam", "3 hari"; kosongkan bila SOP tidak '
                    "menyebutkan)."
                )

            periode = _text(raw.get("periode")) or None
            if periode is not None and periode not in PERIODE:
                self.err(
                    f"{label}: periode '{periode}' tidak dikenal (pilihan: semester, tahunan)."
                )
                periode = None
            if jenis == "gabung" and not _text(raw.get("periode")):
                self.err(f"{label}: langkah gabung wajib menyebut periode (semester/tahunan).")

            peserta = self.roles(raw.get("peserta"), f"{label}: peserta")
            if "peserta" in raw and jenis not in ("rapat", "arahan"):
                self.err(f"{label}: 'peserta' hanya untuk langkah rapat atau arahan.")
            elif jenis == "rapat" and not peserta:
                peserta = pengisi
            elif jenis == "arahan" and not peserta:
                peserta = ("perencana",)

            kepada = self.roles(raw.get("kepada"), f"{label}: kepada")
            if "kepada" in raw and jenis != "laporkan":
                self.err(f"{label}: 'kepada' hanya untuk langkah laporkan.")
            elif jenis == "laporkan" and not kepada:
                kepada = ("camat",)

            if jenis == "isi" and pengisi and pelaku in ROLES and pelaku not in pengisi:
                self.err(f"{label}: pelaku langkah isi ('{pelaku}') harus termasuk pengisi.")

            kembali_ke = _text(raw.get("kembali_ke")) or None
            jabatan = _text(raw.get("jabatan")) or None
            steps.append(
                Step(
                    id=step_id,
                    no=no,
                    nama=nama,
                    pelaku=pelaku,
                    jenis=jenis,
                    waktu=waktu,
                    waktu_teks=waktu_teks,
                    masuk=_text(raw.get("masuk")),
                    keluar=_text(raw.get("keluar")),
                    kembali_ke=kembali_ke,
                    periode=periode,
                    jabatan=jabatan,
                    peserta=peserta,
                    kepada=kepada,
                )
            )
        if steps:
            steps = self.check_order(steps)
        return steps

    def check_order(self, steps: list[Step]) -> list[Step]:
        """Whole-preset rules; fills in the default ``kembali_ke`` of verifikasi steps."""
        first = steps[0]
        if first.jenis != "perintah":
            self.err(f"Langkah '{first.id}': langkah pertama harus berjenis perintah.")
        for s in steps[1:]:
            if s.jenis == "perintah":
                self.err(f"Langkah '{s.id}': jenis perintah hanya untuk langkah pertama.")
        isi_positions = [i for i, s in enumerate(steps) if s.jenis == "isi"]
        if not isi_positions:
            self.err("SOP harus punya satu langkah berjenis isi (pengisian kertas kerja).")

        position = {s.id: i for i, s in enumerate(steps) if s.id}
        out: list[Step] = []
        last_rank = 0
        for i, s in enumerate(steps):
            label = f"Langkah '{s.id or i + 1}'"
            rank = _PERIOD_RANK[s.periode or "triwulan"]
            if rank < last_rank:
                self.err(
                    f"{label}: langkah khusus semester/tahunan harus di akhir "
                    "(tahunan sesudah semester)."
                )
            last_rank = max(last_rank, rank)
            if s.periode and s.jenis in ("perintah", "isi"):
                self.err(f"{label}: langkah {s.jenis} tidak boleh punya periode.")
            if s.jenis in _NEEDS_DATA and not any(p < i for p in isi_positions):
                self.err(f"{label}: langkah {s.jenis} harus sesudah langkah isi.")
            if s.jenis == "bagikan" and not any(x.jenis == "siapkan" for x in steps[:i]):
                self.err(f"{label}: langkah bagikan harus sesudah langkah siapkan.")

            target = s.kembali_ke
            if target is None and s.jenis == "verifikasi":
                earlier = [p for p in isi_positions if p < i]
                if earlier:
                    target = steps[earlier[-1]].id
                    s = replace(s, kembali_ke=target)
            if target is None:
                if s.jenis in _RETURN_REQUIRED:
                    self.err(f"{label}: langkah {s.jenis} wajib punya kembali_ke.")
            elif s.jenis not in _RETURN_KINDS:
                self.err(f"{label}: kembali_ke hanya untuk langkah verifikasi, telaah atau sahkan.")
            elif target not in position:
                self.err(f"{label}: kembali_ke '{target}' bukan id langkah yang ada.")
            elif position[target] >= i:
                self.err(f"{label}: kembali_ke '{target}' harus menunjuk langkah sebelumnya.")
            elif s.jenis == "verifikasi" and steps[position[target]].jenis != "isi":
                self.err(f"{label}: kembali_ke langkah verifikasi harus menunjuk langkah isi.")
            out.append(s)
        return out
