"""The office file: validation (every problem, named by item and field) and the import."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from flows.domain.office_settings import calendar_for, predikat_scale_for
from flows.setup.office_file import (
    OfficeFileError,
    load_office_file,
    normalize_sub_kegiatan,
    parse_office,
    parse_office_yaml,
    slugify,
)
from flows.setup.office_import import (
    INVITE_ALPHABET,
    INVITE_LENGTH,
    ImportReport,
    import_office,
    invite_message,
    new_invite_code,
    reissue_invite,
)
from storage.db import Database
from storage.models import (
    Cycle,
    Entry,
    Event,
    Identity,
    Indicator,
    InviteCode,
    Office,
    Person,
    Section,
    Worksheet,
)
from tests.conftest import SAMPLE_OFFICE

NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
CODE = "kecamatan-sukamaju"


def sample() -> dict[str, Any]:
    return yaml.safe_load(SAMPLE_OFFICE.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict[str, Any], name: str = "kantor.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    logo = (data.get("kantor") or {}).get("logo") if isinstance(data, dict) else None
    if isinstance(logo, str) and (SAMPLE_OFFICE.parent / logo).is_file():  # the sample's lambang
        (tmp_path / logo).write_bytes((SAMPLE_OFFICE.parent / logo).read_bytes())
    return path


def errors_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(OfficeFileError) as info:
        parse_office(data)
    return info.value.errors


async def run_import(db: Database, source: Path | dict[str, Any]) -> ImportReport:
    spec = load_office_file(source) if isinstance(source, Path) else parse_office(source)
    async with db.transaction() as s:
        return await import_office(s, spec, now=NOW)


async def count(db: Database, model: Any) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def counts(db: Database) -> dict[str, int]:
    models = (Office, Section, Person, Indicator, Identity, InviteCode)
    return {m.__name__: await count(db, m) for m in models}


# --- parsing -----------------------------------------------------------------------------------


def test_sample_file_parses() -> None:
    spec = load_office_file(SAMPLE_OFFICE)
    assert spec.kode == CODE
    assert (spec.nama, spec.sop, spec.tahun, spec.zona_waktu) == (
        "Kecamatan Sukamaju",
        "kebasen-pengumpulan",
        2026,
        "Asia/Jakarta",
    )
    assert len(spec.sections) == 7 and len(spec.people) == 9
    assert spec.indicators is not None and len(spec.indicators) == 26
    camat = spec.people[0]
    assert camat.nip == "197203151993031004" and camat.peran == "camat" and camat.seksi is None
    pk2 = next(i for i in spec.indicators if i.kode == "PK-2")
    assert pk2.rentang == (Decimal(90), Decimal(100))
    assert pk2.target_tw == (Decimal(20), Decimal(45), Decimal(70), Decimal(95))
    ekb2 = next(i for i in spec.indicators if i.kode == "EKB-2")
    assert ekb2.target_tw[0] is None and ekb2.agregasi == "terakhir"
    assert all(not i.keep for i in spec.indicators)


def test_numbers_are_decimals_from_str_of_floats() -> None:
    data = sample()
    data["indikator"][0]["target_tahunan"] = 0.1
    data["indikator"][0]["target_tw"] = [0.1, "0,1", None, "1.234,5"]
    spec = parse_office(data)
    assert spec.indicators is not None
    first = spec.indicators[0]
    assert first.target_tahunan == Decimal("0.1") and str(first.target_tahunan) == "0.1"
    assert first.target_tw == (Decimal("0.1"), Decimal("0.1"), None, Decimal("1234.5"))


def test_kode_defaults_to_slug_and_extras_go_to_settings() -> None:
    assert slugify("Kecamatan Sukamaju") == "kecamatan-sukamaju"
    assert slugify("Sekretariat DPRD Kota Jambi") == "sekretariat-dprd-kota-jambi"
    data = sample()
    data["kantor"].update(
        kode="Kec-Sukamaju",
        jam_kerja={"senin-kamis": "07:30-16:00", "jumat": "07:30-16:30", "sabtu": "libur"},
        libur_tambahan=["2026-03-20", {"tanggal": "2026-04-01", "nama": "Hari jadi"}],
        libur_batal=["2026-12-24"],
        skala_predikat=[
            {"di_atas": 90, "predikat": "Sangat Baik"},
            {"di_atas": 75, "predikat": "Baik"},
            {"predikat": "Kurang"},
        ],
    )
    spec = parse_office(data)
    assert spec.kode == "kec-sukamaju"
    assert spec.settings["libur_tambahan"] == {
        "2026-03-20": "Libur kantor",
        "2026-04-01": "Hari jadi",
    }
    assert spec.settings["libur_batal"] == ["2026-12-24"]
    assert predikat_scale_for(spec.settings).labels == ("Sangat Baik", "Baik", "Kurang")
    cal = calendar_for(spec.zona_waktu, spec.settings)
    assert cal.holiday_name(datetime(2026, 4, 1).date()) == "Hari jadi"


def test_sub_kegiatan_forms() -> None:
    assert normalize_sub_kegiatan("7.01.02.2.02.0003") == "7.01.02.2.02.0003"
    assert normalize_sub_kegiatan("7.01.02.2.02.03") == "7.01.02.2.02.0003"
    assert normalize_sub_kegiatan("7.01.04.2.02") == "7.01.04.2.02"
    assert normalize_sub_kegiatan("7.01.02.2.02.003") is None
    assert normalize_sub_kegiatan("abc") is None
    data = sample()
    data["indikator"][0]["sub_kegiatan"] = "7.01.02.2.02.03"
    spec = parse_office(data)
    assert spec.indicators is not None
    assert spec.indicators[0].sub_kegiatan == "7.01.02.2.02.0003"


def test_phone_is_normalized_to_e164() -> None:
    data = sample()
    data["pegawai"][0]["telepon"] = "0812-3456-7890"
    data["pegawai"][1]["telepon"] = "+62 813 1111 2222"
    data["pegawai"][2]["telepon"] = "62 857 0000 1111"
    spec = parse_office(data)
    assert spec.people[0].telepon == "+6281234567890"
    assert spec.people[0].whatsapp_id == "6281234567890"
    assert spec.people[1].telepon == "+6281311112222"
    assert spec.people[2].telepon == "+6285700001111"


def test_file_without_indikator_leaves_indicators_alone() -> None:
    data = sample()
    del data["indikator"]
    assert parse_office(data).indicators is None


# --- every error, named by item and field ------------------------------------------------------

# (what to break, the text the message must contain)
CASES: list[tuple[str, Any, str]] = [
    ("unknown seksi", lambda d: d["indikator"][3].update(seksi="XYZ"),
     'indikator ke-4 (PEM-4): seksi "XYZ" tidak dikenal'),
    ("duplicate NIP", lambda d: d["pegawai"][2].update(nip=d["pegawai"][0]["nip"]),
     "pegawai ke-3 (NIP 19720315 199303 1 004): NIP ganda"),
    ("unknown polaritas", lambda d: d["indikator"][4].update(polaritas="naik"),
     'indikator ke-5 (TRA-1): polaritas "naik" tidak dikenal (pilih: positif, negatif, stabil)'),
    ("unknown agregasi", lambda d: d["indikator"][4].update(agregasi="jumlah"),
     'indikator ke-5 (TRA-1): agregasi "jumlah" tidak dikenal (pilih: kumulatif, terakhir, '
     "rata-rata, rasio)"),
    ("target_tw length", lambda d: d["indikator"][0].update(target_tw=[95, 95, 95]),
     "indikator ke-1 (PEM-1): target_tw harus berisi 4 nilai"),
    ("target_tw not a number", lambda d: d["indikator"][0].update(target_tw=[95, "x", 95, 95]),
     'indikator ke-1 (PEM-1): target_tw TW II "x" bukan angka'),
    ("bad NIP", lambda d: d["pegawai"][4].update(nip="1234"),
     'pegawai ke-5: NIP "1234" tidak sah (harus 18 angka)'),
    ("NIP with impossible date", lambda d: d["pegawai"][4].update(nip="198513120090310031"),
     'pegawai ke-5: NIP "198513120090310031" tidak sah'),
    ("unknown preset", lambda d: d["kantor"].update(sop="xyz"),
     'kantor.sop: preset "xyz" tidak dikenal'),
    ("duplicate indicator kode", lambda d: d["indikator"][5].update(kode="PEM-1"),
     'indikator ke-6 (PEM-1): kode "PEM-1" ganda (sama dengan indikator ke-1 (PEM-1))'),
    ("duplicate section kode", lambda d: d["seksi"][6].update(kode="PEM"),
     'seksi ke-7 (PEM): kode "PEM" ganda (sama dengan seksi ke-1 (PEM))'),
    ("kasi with unknown seksi", lambda d: d["pegawai"][3].update(seksi="ABC"),
     'pegawai ke-4 (NIP 19830507 200604 1 011): seksi "ABC" tidak dikenal'),
    ("kasi without seksi", lambda d: d["pegawai"][3].pop("seksi"),
     "pegawai ke-4 (NIP 19830507 200604 1 011): seksi wajib diisi untuk peran kasi"),
    ("two kasi for one seksi", lambda d: d["pegawai"][4].update(seksi="PEM"),
     'pegawai ke-5 (NIP 19850812 200903 1 003): seksi "PEM" sudah dipegang kasi lain'),
    ("range upside down", lambda d: d["indikator"][23].update(rentang={"bawah": 100, "atas": 90}),
     "indikator ke-24 (PK-2): rentang: bawah (100) lebih besar dari atas (90)"),
    ("bad telepon", lambda d: d["pegawai"][1].update(telepon="12345"),
     'pegawai ke-2 (NIP 19800921 200112 2 002): telepon "12345" tidak sah'),
    ("bad telegram_id", lambda d: d["pegawai"][1].update(telegram_id="abc"),
     'pegawai ke-2 (NIP 19800921 200112 2 002): telegram_id "abc" tidak sah'),
    ("missing indicator key", lambda d: d["indikator"][2].pop("satuan"),
     "indikator ke-3 (PEM-3): satuan wajib diisi"),
    ("missing office key", lambda d: d["kantor"].pop("kota_ttd"),
     "kantor.kota_ttd: wajib diisi"),
    ("missing person key", lambda d: d["pegawai"][0].pop("jabatan"),
     "pegawai ke-1 (NIP 19720315 199303 1 004): jabatan wajib diisi"),
    ("missing section list", lambda d: d.pop("seksi"), "seksi: wajib diisi"),
    ("unknown role", lambda d: d["pegawai"][0].update(peran="bupati"),
     'pegawai ke-1 (NIP 19720315 199303 1 004): peran "bupati" tidak dikenal (pilih: camat, '
     "sekcam, perencana, kasi, staf, admin)"),
    ("unknown key (typo)", lambda d: d["indikator"][1].update(polarity="positif"),
     'indikator ke-2 (PEM-2): kunci "polarity" tidak dikenal'),
    ("bad time zone", lambda d: d["kantor"].update(zona_waktu="WIB"),
     'kantor.zona_waktu: zona waktu "WIB" tidak dikenal'),
    ("bad year", lambda d: d["kantor"].update(tahun="dua ribu"),
     'kantor.tahun: "dua ribu" harus bilangan bulat'),
    ("negative target", lambda d: d["indikator"][1].update(target_tahunan=-1),
     "indikator ke-2 (PEM-2): target_tahunan tidak boleh negatif"),
    ("bad sub kegiatan", lambda d: d["indikator"][1].update(sub_kegiatan="7.1.2"),
     'indikator ke-2 (PEM-2): sub_kegiatan "7.1.2" tidak sah'),
    ("cumulative targets per quarter", lambda d: d["indikator"][1].update(target_tw=[3, 3, 3, 3]),
     "indikator ke-2 (PEM-2): target s.d. TW IV (3) harus sama dengan target tahunan (12)"),
    ("cumulative targets falling", lambda d: d["indikator"][1].update(target_tw=[3, 6, 5, 12]),
     "indikator ke-2 (PEM-2): target s.d. TW III (5) lebih kecil dari target s.d. TW II (6)"),
    ("half a range", lambda d: d["indikator"][1].update(rentang={"bawah": 1}),
     "indikator ke-2 (PEM-2): rentang harus berisi bawah dan atas sekaligus"),
    ("bad invers", lambda d: d["indikator"][1].update(invers="mungkin"),
     'indikator ke-2 (PEM-2): invers "mungkin" harus true (ya) atau false (tidak)'),
    ("bad libur date", lambda d: d["kantor"].update(libur_tambahan=["besok"]),
     'kantor.libur_tambahan: "besok" bukan tanggal'),
    ("bad jam_kerja", lambda d: d["kantor"].update(jam_kerja={"senin": "16:00-07:30"}),
     "kantor.jam_kerja: jam_kerja tidak sah"),
    ("bad skala", lambda d: d["kantor"].update(skala_predikat=[{"di_atas": 90, "predikat": "A"}]),
     "kantor.skala_predikat: skala_predikat tidak sah"),
    ("duplicate telegram_id",
     lambda d: (d["pegawai"][0].update(telegram_id=5), d["pegawai"][1].update(telegram_id=5)),
     'pegawai ke-2 (NIP 19800921 200112 2 002): telegram_id "5" ganda'),
    ("boolean where text is needed", lambda d: d["seksi"][0].update(kode=False),
     "seksi ke-1 (False): kode harus berupa teks"),
    ("item not a mapping", lambda d: d["pegawai"].append("Budi"),
     "pegawai ke-10: harus berisi pasangan kunci: nilai"),
    ("list not a list", lambda d: d.update(indikator="PEM-1"), "indikator: harus berupa daftar"),
    ("empty list", lambda d: d.update(pegawai=[]), "pegawai: tidak boleh kosong"),
    ("text too long", lambda d: d["seksi"][0].update(nama="x" * 201),
     "seksi ke-1 (PEM): nama terlalu panjang (201 karakter, paling banyak 200)"),
    ("odd year", lambda d: d["kantor"].update(tahun=1990),
     "kantor.tahun: 1990 tidak wajar"),
    ("bad office code", lambda d: d["kantor"].update(kode="Kec Suka!"),
     'kantor.kode: kode "Kec Suka!" tidak sah'),
    ("unknown top-level key", lambda d: d.update(pengguna=[]),
     'berkas: kunci "pengguna" tidak dikenal (yang dikenal: kantor, pegawai, seksi, indikator)'),
]  # fmt: skip


@pytest.mark.parametrize(("breaker", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_error_names_item_and_field(breaker: Any, expected: str) -> None:
    data = sample()
    breaker(data)
    errors = errors_of(data)
    assert any(expected in e for e in errors), errors


def test_all_errors_are_collected_at_once() -> None:
    chosen = [c for c in CASES if c[0] in {
        "unknown seksi", "duplicate NIP", "unknown agregasi", "target_tw length", "bad NIP",
        "unknown preset", "duplicate indicator kode", "bad telepon", "missing office key",
        "range upside down",
    }]  # fmt: skip
    data = sample()
    for _, breaker, _ in chosen:
        breaker(data)
    errors = errors_of(data)
    for _, _, expected in chosen:
        assert any(expected in e for e in errors), (expected, errors)
    message = OfficeFileError(errors).message()
    assert message.startswith("Berkas tidak diimpor: ada")
    assert "Belum ada data yang diubah" in message


@pytest.mark.parametrize("opening", ["[", '"'])
def test_yaml_syntax_error_names_the_line_and_column_where_it_starts(opening: str) -> None:
    text = SAMPLE_OFFICE.read_text(encoding="utf-8").replace(
        "  kota_ttd: Sukamaju", f"  kota_ttd: {opening}Sukamaju"
    )
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "kota_ttd:" in t)
    with pytest.raises(OfficeFileError) as info:
        parse_office_yaml(text)
    (error,) = info.value.errors
    assert error.startswith(f"berkas: susunan YAML salah di baris {line}, kolom 13;"), error


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d / "tidak-ada.yaml", "berkas: berkas {d}/tidak-ada.yaml tidak ada; periksa"),
        (lambda d: d, "berkas: {d} adalah folder, bukan berkas"),
        (
            lambda d: _write_bytes(d / "kantor.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf"),
            "berkas: berkas {d}/kantor.pdf bukan teks YAML (isinya PDF)",
        ),
        (
            lambda d: _write_bytes(d / "kantor.yaml", b"kantor:\n  nama: Kec. \xc7ibodas\n"),
            "berkas: berkas {d}/kantor.yaml bukan teks UTF-8 (huruf tak terbaca di baris 2)",
        ),
    ],
)
def test_each_unreadable_file_gets_its_own_line(tmp_path: Path, make: Any, expected: str) -> None:
    with pytest.raises(OfficeFileError) as info:
        load_office_file(make(tmp_path))
    (error,) = info.value.errors
    assert error.startswith(expected.format(d=tmp_path)), error


def test_empty_file() -> None:
    with pytest.raises(OfficeFileError) as info:
        parse_office_yaml("")
    assert info.value.errors == ["berkas: berkas kosong"]


def test_known_presets_come_from_the_caller() -> None:
    data = sample()
    data["kantor"]["sop"] = "kustom"
    assert parse_office(data, known_presets=("kustom",)).sop == "kustom"
    assert any("kantor.sop" in e for e in errors_of(data))


@pytest.mark.parametrize("case", [c[0] for c in CASES[:6]] + ["syntax"])
async def test_nothing_is_imported_when_anything_is_wrong(
    db: Database, tmp_path: Path, case: str
) -> None:
    if case == "syntax":
        path = tmp_path / "rusak.yaml"
        path.write_text("kantor:\n  nama: [x\n", encoding="utf-8")
    else:
        data = sample()
        dict((c[0], c[1]) for c in CASES)[case](data)
        path = write(tmp_path, data)
    with pytest.raises(OfficeFileError):
        await run_import(db, path)
    assert set((await counts(db)).values()) == {0}


# --- importing ---------------------------------------------------------------------------------


async def test_sample_import_creates_everything(db: Database) -> None:
    report = await run_import(db, SAMPLE_OFFICE)
    assert report.office_created
    assert (report.sections.created, report.people.created, report.indicators.created) == (
        7,
        9,
        26,
    )
    assert await counts(db) == {
        "Office": 1,
        "Section": 7,
        "Person": 9,
        "Indicator": 26,
        "Identity": 0,
        "InviteCode": 9,
    }
    assert len(report.invites) == 9
    assert {i.nama for i in report.invites} == {p["nama"] for p in sample()["pegawai"]}
    assert report.invites[0].peran == "camat"
    async with db.transaction() as s:
        office = await s.scalar(select(Office))
        assert office is not None
        assert (office.code, office.preset, office.tz, office.tahun) == (
            CODE,
            "kebasen-pengumpulan",
            "Asia/Jakarta",
            2026,
        )
        indicators = list(await s.scalars(select(Indicator).order_by(Indicator.position)))
        assert [i.kode for i in indicators][:3] == ["PEM-1", "PEM-2", "PEM-3"]
        assert [i.position for i in indicators] == list(range(26))
        pk2 = next(i for i in indicators if i.kode == "PK-2")
        assert (pk2.range_lo, pk2.range_hi, pk2.target_tw1) == (
            Decimal(90),
            Decimal(100),
            Decimal(20),
        )
        ekb2 = next(i for i in indicators if i.kode == "EKB-2")
        assert ekb2.target_tw1 is None and ekb2.target_tw2 == Decimal(40)
        section = await s.get(Section, pk2.section_id)
        assert section is not None and section.kode == "PK"
        perencana = await s.scalar(select(Person).where(Person.role == "perencana"))
        assert perencana is not None and perencana.section_id == section.id
        event = await s.scalar(select(Event).where(Event.action == "kantor.impor"))
        assert event is not None and event.data["indikator"]["created"] == 26


async def test_report_summary_and_links(db: Database) -> None:
    report = await run_import(db, SAMPLE_OFFICE)
    code = report.invites[0].kode
    assert report.invite_link("KinerjaBot", code) == f"https://t.me/KinerjaBot?start={code}"
    assert report.invite_link("@KinerjaBot", code) == f"https://t.me/KinerjaBot?start={code}"
    text = report.summary("KinerjaBot")
    assert "Kecamatan Sukamaju (kecamatan-sukamaju) berhasil dibuat." in text
    assert "Indikator: 26 baru, 0 diubah, 0 tetap." in text
    assert f"Drs. H. Ahmad Fauzi, M.Si (Camat): {code} · https://t.me/KinerjaBot?start={code}" in (
        text
    )


async def test_reimport_updates_in_place(db: Database, tmp_path: Path) -> None:
    first = await run_import(db, SAMPLE_OFFICE)
    before = await counts(db)
    data = sample()
    data["pegawai"][3]["nama"] = "Budi Santoso, S.IP, M.Si"
    data["indikator"][1]["target_tahunan"] = 14
    data["indikator"][1]["target_tw"] = [3, 7, 10, 14]
    data["seksi"][0]["nama"] = "Seksi Tata Pemerintahan"
    data["kantor"]["alamat"] = "Jl. Baru No. 2"
    report = await run_import(db, write(tmp_path, data))
    assert not report.office_created
    assert await counts(db) == before
    assert (report.people.updated, report.people.unchanged) == (1, 8)
    assert (report.indicators.updated, report.indicators.unchanged) == (1, 25)
    assert (report.sections.updated, report.sections.unchanged) == (1, 6)
    # unused invites are reused, not replaced
    assert [i.kode for i in report.invites] == [i.kode for i in first.invites]
    async with db.transaction() as s:
        budi = await s.scalar(select(Person).where(Person.nip == "198305072006041011"))
        assert budi is not None and budi.nama == "Budi Santoso, S.IP, M.Si"
        pem2 = await s.scalar(select(Indicator).where(Indicator.kode == "PEM-2"))
        assert pem2 is not None
        assert (pem2.target_tahunan, pem2.target_tw2, pem2.target_tw4) == (
            Decimal(14),
            Decimal(7),
            Decimal(14),
        )
        office = await s.scalar(select(Office))
        assert office is not None and office.alamat == "Jl. Baru No. 2"


async def _give_entry(db: Database, kode: str) -> None:
    """A cycle, the Kasi's worksheet and one Entry for indicator ``kode``."""
    async with db.transaction() as s:
        office = await s.scalar(select(Office))
        indicator = await s.scalar(select(Indicator).where(Indicator.kode == kode))
        assert office is not None and indicator is not None
        kasi = await s.scalar(select(Person).where(Person.section_id == indicator.section_id))
        assert kasi is not None
        cycle = Cycle(
            office_id=office.id, period_key="2026-TW1", preset=office.preset, step="isi",
            created_at=NOW,
        )  # fmt: skip
        s.add(cycle)
        await s.flush()
        sheet = Worksheet(cycle_id=cycle.id, person_id=kasi.id, section_id=indicator.section_id)
        s.add(sheet)
        await s.flush()
        s.add(Entry(worksheet_id=sheet.id, indicator_id=indicator.id, realisasi=Decimal(1)))


async def test_removed_indicator_with_data_is_kept_inactive(db: Database, tmp_path: Path) -> None:
    await run_import(db, SAMPLE_OFFICE)
    await _give_entry(db, "TRA-4")
    data = sample()
    data["indikator"] = [i for i in data["indikator"] if i["kode"] not in ("TRA-4", "KES-3")]
    report = await run_import(db, write(tmp_path, data))
    assert report.indicators.deactivated == 2
    assert await count(db, Indicator) == 26
    kept = {r.kunci: r for r in report.removals}
    assert kept["TRA-4"].punya_data and not kept["KES-3"].punya_data
    assert [r.kunci for r in report.kept] == ["TRA-4"]
    assert "dinonaktifkan, tidak dihapus karena sudah punya data" in kept["TRA-4"].message()
    assert kept["KES-3"].message().endswith(": dinonaktifkan")
    text = report.summary()
    assert "indikator TRA-4 (" in text and "tidak dihapus karena sudah punya data" in text
    async with db.transaction() as s:
        rows = {i.kode: i for i in await s.scalars(select(Indicator))}
        assert not rows["TRA-4"].active and not rows["KES-3"].active
        assert rows["TRA-1"].active
        assert [i.kode for i in sorted(rows.values(), key=lambda i: i.position)][:6] == [
            "PEM-1", "PEM-2", "PEM-3", "PEM-4", "TRA-1", "TRA-2",
        ]  # fmt: skip
    # putting it back reactivates the same row
    report = await run_import(db, SAMPLE_OFFICE)
    assert report.indicators.created == 0 and report.indicators.deactivated == 0
    async with db.transaction() as s:
        assert all(i.active for i in await s.scalars(select(Indicator)))


async def test_removed_person_is_deactivated_and_loses_invite(db: Database, tmp_path: Path) -> None:
    await run_import(db, SAMPLE_OFFICE)
    await _give_entry(db, "PEM-1")  # Budi (PEM) now has a worksheet
    data = sample()
    data["pegawai"] = [p for p in data["pegawai"] if p.get("seksi") not in ("PEM", "KES")]
    report = await run_import(db, write(tmp_path, data))
    assert report.people.deactivated == 2
    removals = {r.nama: r for r in report.removals if r.jenis == "pegawai"}
    assert removals["Budi Santoso, S.IP"].punya_data
    assert not removals["Siti Nurhaliza, S.Sos"].punya_data
    assert len(report.invites) == 7
    assert await count(db, Person) == 9
    assert await count(db, InviteCode) == 7
    async with db.transaction() as s:
        budi = await s.scalar(select(Person).where(Person.nip == "198305072006041011"))
        assert budi is not None and not budi.active


async def test_removed_section_is_deleted_only_when_unused(db: Database, tmp_path: Path) -> None:
    data = sample()
    data["seksi"].append({"kode": "TMP", "nama": "Seksi Sementara"})
    await run_import(db, write(tmp_path, data))
    assert await count(db, Section) == 8
    report = await run_import(db, SAMPLE_OFFICE)
    assert report.sections.deleted == 1
    assert [r.kunci for r in report.removals] == ["TMP"]
    assert await count(db, Section) == 7


async def test_telegram_id_binds_at_once_phone_gets_a_wa_invite(
    db: Database, tmp_path: Path
) -> None:
    data = sample()
    data["pegawai"][0]["telegram_id"] = 111222333
    data["pegawai"][1]["telepon"] = "+6281234567890"
    report = await run_import(db, write(tmp_path, data))
    assert report.identities_created == 1
    assert len(report.invites) == 8  # the one with only telepon gets a code too
    assert data["pegawai"][0]["nama"] not in {i.nama for i in report.invites}
    invite = next(i for i in report.invites if i.nama == data["pegawai"][1]["nama"])
    text = report.summary("KinerjaBot", "+62 811-0000-0000")
    assert f"https://wa.me/6281100000000?text=start%20{invite.kode}" in text
    assert f"https://t.me/KinerjaBot?start={report.invites[1].kode}" in text
    async with db.transaction() as s:
        idents = {(i.channel, i.external_id) for i in await s.scalars(select(Identity))}
        assert idents == {("telegram", "111222333")}  # WhatsApp binds at the first message
        sekcam = await s.scalar(select(Person).where(Person.role == "sekcam"))
        assert sekcam is not None and sekcam.telepon == "+6281234567890"
    report = await run_import(db, write(tmp_path, data))
    assert report.identities_created == 0
    assert await count(db, Identity) == 1


async def test_person_who_registered_gets_no_new_invite(db: Database) -> None:
    first = await run_import(db, SAMPLE_OFFICE)
    async with db.transaction() as s:  # what /start KODE does
        invite = await s.get(InviteCode, first.invites[0].kode)
        assert invite is not None
        invite.used_at = NOW
        s.add(Identity(person_id=invite.person_id, channel="telegram", external_id="42"))
    report = await run_import(db, SAMPLE_OFFICE)
    assert len(report.invites) == 8
    assert first.invites[0].nama not in {i.nama for i in report.invites}


async def test_telegram_id_of_another_office_is_refused(db: Database, tmp_path: Path) -> None:
    data = sample()
    data["pegawai"][0]["telegram_id"] = 777
    await run_import(db, write(tmp_path, data))
    other = sample()
    other["kantor"]["nama"] = "Kecamatan Lain"
    del other["indikator"]
    other["pegawai"][5]["telegram_id"] = 777
    with pytest.raises(OfficeFileError) as info:
        await run_import(db, write(tmp_path, other, "lain.yaml"))
    assert info.value.errors == [
        "pegawai ke-6 (NIP 19870224 201001 2 005): telegram_id 777 sudah terdaftar untuk "
        "Drs. H. Ahmad Fauzi, M.Si (Kecamatan Sukamaju)"
    ]
    assert await count(db, Office) == 1


async def test_file_without_indicators_keeps_stored_ones(db: Database, tmp_path: Path) -> None:
    await run_import(db, SAMPLE_OFFICE)
    data = sample()
    del data["indikator"]
    report = await run_import(db, write(tmp_path, data))
    assert not report.indicators_included
    assert "Indikator: tidak ada di berkas" in report.summary()
    async with db.transaction() as s:
        assert all(i.active for i in await s.scalars(select(Indicator)))


async def test_settings_are_stored_and_other_keys_kept(db: Database, tmp_path: Path) -> None:
    data = sample()
    data["kantor"]["libur_batal"] = ["2026-12-24"]
    await run_import(db, write(tmp_path, data))
    async with db.transaction() as s:
        office = await s.scalar(select(Office))
        assert office is not None
        logo = office.settings.pop("logo")  # the sample's lambang, read in as a data: URI
        assert logo.startswith("data:image/svg+xml;base64,")
        assert office.settings == {"libur_batal": ["2026-12-24"]}
        office.settings = {**office.settings, "milik_mesin_sop": 1}
    await run_import(db, SAMPLE_OFFICE)
    async with db.transaction() as s:
        office = await s.scalar(select(Office))
        assert office is not None
        assert office.settings == {"milik_mesin_sop": 1, "logo": logo}


# --- invites -----------------------------------------------------------------------------------


def test_invite_codes_use_the_unambiguous_alphabet() -> None:
    assert not set("0O1I") & set(INVITE_ALPHABET)
    codes = {new_invite_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == INVITE_LENGTH and set(c) <= set(INVITE_ALPHABET) for c in codes)


async def test_reissue_invite_replaces_unused_codes(db: Database) -> None:
    first = await run_import(db, SAMPLE_OFFICE)
    old = first.invites[3].kode  # Budi
    async with db.transaction() as s:
        code = await reissue_invite(s, CODE, "19830507 200604 1 011", now=NOW)
        text = await invite_message(s, code, bot_username="KinerjaBot")
    assert code != old and len(code) == INVITE_LENGTH and set(code) <= set(INVITE_ALPHABET)
    assert f"https://t.me/KinerjaBot?start={code}" in text and "Budi Santoso" in text
    async with db.transaction() as s:
        assert await s.get(InviteCode, old) is None
        assert await s.get(InviteCode, code) is not None
    report = await run_import(db, SAMPLE_OFFICE)
    assert report.invites[3].kode == code  # the re-issued unused code is reused
    assert await count(db, InviteCode) == 9


async def test_reissue_invite_errors_in_indonesian(db: Database) -> None:
    await run_import(db, SAMPLE_OFFICE)
    async with db.transaction() as s:
        with pytest.raises(OfficeFileError) as info:
            await reissue_invite(s, "kecamatan-lain", "19830507 200604 1 011", now=NOW)
        assert info.value.errors == [
            'kantor "kecamatan-lain" tidak ditemukan; impor berkas kantornya dulu'
        ]
        with pytest.raises(OfficeFileError) as info:
            await reissue_invite(s, CODE, "199001012015011001", now=NOW)
        assert "pegawai dengan NIP 19900101 201501 1 001 tidak ditemukan" in info.value.errors[0]
        budi = await s.scalar(select(Person).where(Person.nip == "198305072006041011"))
        assert budi is not None
        budi.active = False
        with pytest.raises(OfficeFileError) as info:
            await reissue_invite(s, CODE, "198305072006041011", now=NOW)
        assert info.value.errors == ["pegawai dengan NIP 19830507 200604 1 011 sudah tidak aktif"]


def test_time_zone_defaults_to_the_setting_when_the_file_names_none():
    import yaml

    from flows.setup.office_file import parse_office

    data = yaml.safe_load(SAMPLE_OFFICE.read_text(encoding="utf-8"))
    del data["kantor"]["zona_waktu"]
    assert parse_office(data, default_tz="Asia/Makassar").zona_waktu == "Asia/Makassar"


def test_reminder_plan_in_the_office_file() -> None:
    data = sample()
    data["kantor"]["pengingat"] = {"sebelum_hari": 2, "ringkasan_camat": False}
    assert parse_office(data).settings["pengingat"] == {"sebelum_hari": 2, "ringkasan_camat": False}
    data["kantor"]["pengingat"] = {"sebelum_hari": "dua", "setiap_jam": True, "hari_h": "ya"}
    text = "\n".join(errors_of(data))
    assert 'kantor.pengingat.sebelum_hari: "dua" harus bilangan bulat' in text
    assert 'kunci "setiap_jam" tidak dikenal' in text
    assert 'kantor.pengingat.hari_h: "ya" harus true (ya) atau false (tidak)' in text


def test_office_file_may_name_its_own_preset_file(tmp_path: Path) -> None:
    from flows.sop.preset import PRESET_DIR, load_preset

    text = (PRESET_DIR / "kertosono.yaml").read_text(encoding="utf-8")
    (tmp_path / "sop").mkdir()
    own = tmp_path / "sop" / "sop-kami.yaml"
    own.write_text(text.replace("id: kertosono", "id: sop-kami"), encoding="utf-8")
    data = sample()
    data["kantor"]["sop"] = "sop/sop-kami.yaml"
    spec = load_office_file(write(tmp_path, data))
    assert spec.sop == str(own.resolve())
    assert load_preset(spec.sop).id == "sop-kami"

    own.write_text(text.replace("jenis: isi", "jenis: isian"), encoding="utf-8")
    with pytest.raises(OfficeFileError) as info:
        load_office_file(write(tmp_path, data))
    (error,) = info.value.errors
    assert error.startswith('kantor.sop: berkas SOP "sop/sop-kami.yaml" tidak sah: ')
    assert "jenis 'isian' tidak dikenal" in error

    data["kantor"]["sop"] = "sop/tidak-ada.yaml"
    with pytest.raises(OfficeFileError) as info:
        load_office_file(write(tmp_path, data))
    assert "tidak ada; periksa nama dan foldernya" in info.value.errors[0]


def test_every_bad_value_of_one_setting_and_odd_keys_are_listed() -> None:
    data = sample()
    data["kantor"]["libur_tambahan"] = ["besok", "2026-03-20", "lusa"]
    data[2026] = "tahun"
    data["indikator"][0]["rentang_tw"] = [None, {"bawah": 5, "atas": 1}, None, {"x": 1}]
    errors = errors_of(data)
    assert errors == [
        'berkas: kunci "2026" tidak dikenal (yang dikenal: kantor, pegawai, seksi, indikator)',
        'kantor.libur_tambahan: "besok" bukan tanggal (tulis TTTT-BB-HH, misalnya 2026-03-20)',
        'kantor.libur_tambahan: "lusa" bukan tanggal (tulis TTTT-BB-HH, misalnya 2026-03-20)',
        "indikator ke-1 (PEM-1): rentang: bawah (5) lebih besar dari atas (1)",
        'indikator ke-1 (PEM-1): kunci "x" tidak dikenal (yang dikenal: bawah, atas)',
    ]
