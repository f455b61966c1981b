"""The office file's shape as pydantic models: the JSON Schema editors check it with.

``kinerja-bot skema`` publishes :class:`OfficeFileModel` (with the preset's
:class:`flows.sop.preset.PresetFile`) as JSON Schema in ``docs/schema/``. The import itself
validates with :func:`flows.setup.office_file.parse_office`, whose precise Indonesian messages
(item counted from 1, named by NIP or kode) the PK workbook shares; a test keeps the keys of
these models and of that validator the same.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "IndikatorFile",
    "KantorFile",
    "OfficeFileModel",
    "PegawaiFile",
    "PengingatKantorFile",
    "SeksiFile",
]

_Role = Literal["camat", "sekcam", "perencana", "kasi", "staf"]
#: A number as YAML writes it, or Indonesian text (``"87,5"``, ``"1.234"``, ``"75%"``).
_Angka = Annotated[float | str, Field(description='angka, atau teks gaya Indonesia: "87,5"')]
_YaTidak = Annotated[bool | Literal["ya", "tidak"], Field(description="true/false (ya/tidak)")]


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PengingatKantorFile(_FileModel):
    """The office's reminder plan; overrides the SOP preset's key by key."""

    sebelum_hari: Annotated[int, Field(ge=0, le=10)] | None = None
    hari_h: bool | None = None
    terlambat_harian: bool | None = None
    eskalasi: bool | None = None
    ringkasan_camat: bool | None = None


class LiburFile(_FileModel):
    tanggal: dt.date
    nama: str | None = None


class PredikatFile(_FileModel):
    di_atas: _Angka | None = Field(None, description="batas bawah; kosong = tingkat terendah")
    predikat: str


class BukaSiklusFile(_FileModel):
    """When a quarter's cycle is offered to the Camat (or opens by itself)."""

    hari_kerja_ke: Annotated[int, Field(ge=1, le=10)] | None = None
    otomatis: _YaTidak | None = None


class KantorFile(_FileModel):
    """The office and its settings."""

    nama: Annotated[str, Field(max_length=200)]
    kabupaten: Annotated[str, Field(max_length=200)]
    alamat: Annotated[str, Field(max_length=300)]
    kota_ttd: Annotated[str, Field(max_length=100, description="kota di atas tanda tangan")]
    sop: Annotated[
        str,
        Field(
            max_length=500,
            description="id preset SOP bawaan (mis. kebasen-pengumpulan) atau jalur berkas "
            "SOP .yaml milik kantor, relatif terhadap berkas kantor",
        ),
    ]
    tahun: Annotated[int, Field(ge=2000, le=2100)]
    kode: Annotated[str, Field(max_length=80, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")] | None = None
    zona_waktu: Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"] | str | None = None
    jam_kerja: dict[str, str | None] | None = Field(
        None, description='mis. senin-kamis: "07:30-16:00", jumat: "07:30-16:30", sabtu: libur'
    )
    libur_tambahan: dict[dt.date, str | None] | list[dt.date | LiburFile] | None = None
    libur_batal: list[dt.date] | None = None
    skala_predikat: list[PredikatFile] | None = None
    pengingat: PengingatKantorFile | None = None
    isian_kumulatif: Literal["triwulan", "sd"] | None = Field(
        None, description="indikator kumulatif diisi angka triwulan itu (bawaan) atau s.d. TW"
    )
    logo: str | None = Field(None, description="lambang daerah: berkas .png/.svg di samping berkas")
    admin_perencana: _YaTidak | None = Field(
        None, description="perencana boleh mengelola pegawai dan Plt/Plh dari chat"
    )
    buka_siklus: BukaSiklusFile | None = None


class SeksiFile(_FileModel):
    kode: Annotated[str, Field(max_length=20)]
    nama: Annotated[str, Field(max_length=200)]


class PegawaiFile(_FileModel):
    nip: Annotated[str | int, Field(description="18 angka; spasi boleh")]
    nama: Annotated[str, Field(max_length=200)]
    jabatan: Annotated[str, Field(max_length=200)]
    pangkat: Annotated[str, Field(max_length=100)]
    peran: _Role
    seksi: str | None = Field(None, description="kode atau nama seksi; wajib untuk kasi")
    telegram_id: int | str | None = None
    telepon: str | None = Field(None, description="nomor WhatsApp, mis. +6281234567890")


class RentangFile(_FileModel):
    bawah: _Angka
    atas: _Angka


class IndikatorFile(_FileModel):
    """One Perjanjian Kinerja indicator."""

    kode: Annotated[str, Field(max_length=40)]
    seksi: str
    sasaran: Annotated[str, Field(max_length=2000)]
    nama: Annotated[str, Field(max_length=2000)]
    satuan: Annotated[str, Field(max_length=60)]
    polaritas: Literal["positif", "negatif", "stabil"]
    agregasi: Literal["kumulatif", "terakhir", "rata-rata", "rasio"]
    target_tahunan: _Angka
    target_tw: Annotated[
        list[_Angka | None],
        Field(min_length=4, max_length=4, description="s.d. TW I..IV; null = tidak diukur"),
    ]
    rentang: RentangFile | None = None
    sub_kegiatan: str | None = Field(None, description="mis. 7.01.02.2.02.0003")
    invers: _YaTidak | None = None
    pembilang: Annotated[str, Field(max_length=200)] | None = None
    penyebut: Annotated[str, Field(max_length=200)] | None = None
    rentang_tw: (
        Annotated[
            list[RentangFile | None],
            Field(min_length=4, max_length=4, description="rentang per TW I..IV; null = tidak ada"),
        ]
        | None
    ) = None


class OfficeFileModel(_FileModel):
    """A Kinerja Bot office file: the office, its people, sections and (optionally) its PK."""

    model_config = ConfigDict(title="Berkas kantor Kinerja Bot")

    kantor: KantorFile
    pegawai: Annotated[list[PegawaiFile], Field(min_length=1)]
    seksi: Annotated[list[SeksiFile], Field(min_length=1)]
    indikator: list[IndikatorFile] | None = None
