"""SOP presets: the six built-in seeds load, look right, and bad files are refused clearly."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from flows.domain.calendar import OfficeCalendar, SopDuration
from flows.domain.periods import Period
from flows.sop.preset import (
    DEFAULT_TITLES,
    JENIS,
    PRESET_DIR,
    ROLES,
    Preset,
    PresetError,
    load_preset,
    load_preset_file,
    parse_preset,
    preset_from_snapshot,
    preset_ids,
    preset_snapshot,
)

WIB = ZoneInfo("Asia/Jakarta")

# id -> (number of steps, first kind, last kind)
EXPECTED = {
    "kertosono": (10, "perintah", "laporkan"),
    "setwan-jambi": (5, "perintah", "rekap"),
    "dawarblandong": (11, "perintah", "arsip"),
    "kebasen-pengukuran": (9, "perintah", "arsip"),
    "kebasen-pengumpulan": (8, "perintah", "arsip"),
    "batang-kapas": (10, "perintah", "gabung"),
}


def test_builtin_ids() -> None:
    assert preset_ids() == sorted(EXPECTED)


def test_roles_match_storage() -> None:
    from flows.domain.roles import Role

    assert ROLES == ("camat", "sekcam", "perencana", "kasi", "staf", "admin") == tuple(Role)
    assert set(DEFAULT_TITLES) == set(ROLES)


@pytest.mark.parametrize("preset_id", sorted(EXPECTED))
def test_builtin_shape(preset_id: str) -> None:
    p = load_preset(preset_id)
    count, first, last = EXPECTED[preset_id]
    assert p.id == preset_id
    assert len(p.langkah) == count
    assert (p.langkah[0].jenis, p.langkah[-1].jenis) == (first, last)
    assert p.first_of("isi") is not None
    assert p.first_of("isi").pelaku in p.pengisi
    assert all(s.jenis in JENIS and s.pelaku in ROLES for s in p.langkah)
    nos = [s.no for s in p.langkah]
    assert nos == sorted(nos) and nos[0] == 1
    assert p.nama and p.sumber and p.waktu_bawaan == SopDuration(1, "hari")


@pytest.mark.parametrize("preset_id", sorted(EXPECTED))
def test_returns_point_back(preset_id: str) -> None:
    p = load_preset(preset_id)
    for s in p.langkah:
        if s.jenis in ("telaah", "sahkan", "verifikasi"):
            assert s.kembali_ke, s.id
        if s.kembali_ke:
            assert p.index(s.kembali_ke) < p.index(s.id)
            assert p.return_target(s.id) == p.step(s.kembali_ke)


@pytest.mark.parametrize("preset_id", sorted(EXPECTED))
def test_waktu_as_written(preset_id: str) -> None:
    p = load_preset(preset_id)
    for s in p.langkah:
        assert (s.waktu is None) == (s.waktu_teks == "")
        assert p.duration(s.id) == (s.waktu or p.waktu_bawaan)


def test_seeds_with_returns() -> None:
    with_return = {i for i in EXPECTED if any(s.kembali_ke for s in load_preset(i).langkah)}
    assert with_return == set(EXPECTED) - {"batang-kapas"}  # seed 004 shows no correction


def test_titles() -> None:
    assert load_preset("setwan-jambi").title("perencana") == "Kasubbag PEP"
    assert load_preset("setwan-jambi").title("camat") == "Sekretaris DPRD"
    assert load_preset("setwan-jambi").title("staf") == "Staf"  # not named: default
    assert load_preset("dawarblandong").title("perencana") == "Tim SAKIP"
    assert load_preset("kebasen-pengukuran").title("perencana") == "Pengelola"
    assert load_preset("kebasen-pengumpulan").title("perencana") == "Kasubag Perencanaan"
    assert load_preset("kertosono").title("perencana") == "Kasubag PE dan Keu"
    assert load_preset("batang-kapas").title("sekcam") == "Sekretaris"
    with pytest.raises(KeyError):
        load_preset("kertosono").title("bupati")


def test_actor_title_and_jabatan() -> None:
    p = load_preset("batang-kapas")
    start = p.first
    assert (start.jenis, start.pelaku) == ("perintah", "kasi")
    assert p.actor_title(start.id) == "Kasubag Umum dan Kepegawaian"
    assert start.jabatan_cocok("Kasubbag Umum dan Kepegawaian")
    assert start.jabatan_cocok("Kepala Subbagian Umum & Kepegawaian")
    assert not start.jabatan_cocok("Kasi Pemerintahan")
    assert p.actor_title("rekap_triwulan") == "Kasubag Perencanaan Keuangan dan Pelaporan"
    assert p.step("rekap_triwulan").jabatan_cocok("siapa saja")
    kp = load_preset("kebasen-pengukuran")
    assert kp.step("analisa_surat").jabatan_cocok("Kasubbag Perencanaan dan Keuangan")


def test_durations_parse() -> None:
    p = load_preset("kebasen-pengumpulan")
    isi = p.first_of("isi")
    assert isi is not None and isi.waktu == SopDuration(3, "hari") and isi.waktu_teks == "3 hari"
    cal = OfficeCalendar("Asia/Jakarta")
    due = cal.add(datetime(2026, 10, 5, 10, 0, tzinfo=WIB), isi.waktu)  # Monday
    assert due == datetime(2026, 10, 8, 16, 0, tzinfo=WIB)  # three working days: Thursday
    assert load_preset("setwan-jambi").first.waktu == SopDuration(15, "menit")
    assert load_preset("dawarblandong").step("rekap_pengukuran").waktu == SopDuration(120, "menit")
    assert load_preset("batang-kapas").step("olah_data").waktu_teks == "2 Menit"
    kertosono = load_preset("kertosono")
    assert all(s.waktu is None for s in kertosono.langkah)  # "Waktu (menit)" column is empty
    assert kertosono.duration("rapat_laksana") == SopDuration(1, "hari")


def test_navigation() -> None:
    p = load_preset("kebasen-pengumpulan")
    assert p.index("disposisi_camat") == 0
    assert p.next_step("disposisi_camat") == p.step("disposisi_sekcam")
    assert p.next_step("input_arsip") is None
    assert p.first_of("sahkan") == p.step("setujui_camat")
    assert p.first_of("gabung") is None
    assert [s.id for s in p.of_kind("telaah")] == ["telaah_sekcam"]
    with pytest.raises(KeyError):
        p.step("tidak_ada")


def test_meeting_and_report_defaults() -> None:
    k = load_preset("kertosono")
    assert k.step("undang_rapat").peserta == ("kasi", "perencana", "staf")
    assert k.step("sampaikan_laporan").kepada == ("camat",)
    d = load_preset("dawarblandong")
    assert d.step("arahan_sekcam").peserta == ("perencana",)
    assert d.step("lapor_ke_camat").kepada == ("camat",)
    assert d.pengisi == ("kasi", "perencana", "staf")


def test_periods_batang_kapas() -> None:
    p = load_preset("batang-kapas")
    tw = [s.id for s in p.steps_for_period("triwulan")]
    assert tw[-1] == "sosialisasi_triwulan" and len(tw) == 6
    sem = p.steps_for_period("semester")
    assert [s.id for s in sem[6:]] == [
        "rekap_dua_triwulan",
        "susun_semester",
        "sosialisasi_semester",
    ]
    assert p.steps_for_period("TAHUN") == p.langkah
    assert p.steps_for_quarter(1) == p.steps_for_quarter(3) == p.steps_for_period("TW")
    assert p.steps_for_quarter(2) == sem
    assert p.steps_for_period(Period.quarter(2026, 4)) == p.langkah
    assert p.steps_for_period(Period.semester(2026, 1)) == sem
    assert p.next_step("sosialisasi_triwulan", "triwulan") is None
    assert p.next_step("sosialisasi_triwulan", "semester").id == "rekap_dua_triwulan"
    assert p.next_step("sosialisasi_semester", "semester") is None
    assert p.next_step("sosialisasi_semester", "tahunan").id == "susun_tahunan"
    assert {s.periode for s in p.of_kind("gabung")} == {"semester", "tahunan"}
    with pytest.raises(ValueError):
        p.steps_for_period("bulanan")
    plain = load_preset("kertosono")
    assert plain.steps_for_period("triwulan") == plain.langkah


def test_builtins_are_cached_and_read_only() -> None:
    p = load_preset("kertosono")
    assert load_preset("kertosono") is p
    with pytest.raises(TypeError):
        p.peran["camat"] = "Bupati"  # type: ignore[index]


def test_unknown_builtin() -> None:
    with pytest.raises(PresetError, match="tidak ada"):
        load_preset("tidak-ada")


# --------------------------------------------------------------------------- office files

BASE: dict[str, Any] = {
    "id": "contoh",
    "nama": "SOP Contoh",
    "sumber": "Kantor Contoh",
    "peran": {"camat": "Camat"},
    "pengisi": ["kasi"],
    "langkah": [
        {
            "id": "mulai",
            "no": 1,
            "nama": "Mulai",
            "pelaku": "camat",
            "jenis": "perintah",
            "waktu": "5 menit",
        },
        {"id": "isi", "no": 2, "nama": "Isi", "pelaku": "kasi", "jenis": "isi", "waktu": "3 hari"},
        {"id": "periksa", "no": 3, "nama": "Periksa", "pelaku": "perencana", "jenis": "verifikasi"},
        {"id": "rekap", "no": 4, "nama": "Rekap", "pelaku": "perencana", "jenis": "rekap"},
        {
            "id": "telaah",
            "no": 5,
            "nama": "Telaah",
            "pelaku": "sekcam",
            "jenis": "telaah",
            "kembali_ke": "rekap",
        },
    ],
}


def write(tmp_path: Path, data: Any, name: str = "sop.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def variant(**changes: Any) -> dict[str, Any]:
    """BASE with top-level keys replaced; ``langkah_<i>`` updates step i (None removes a key)."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if key.startswith("langkah_"):
            step = data["langkah"][int(key.removeprefix("langkah_"))]
            for k, v in value.items():
                if v is None:
                    step.pop(k, None)
                else:
                    step[k] = v
        else:
            data[key] = value
    return data


def errors_of(tmp_path: Path, data: Any) -> list[str]:
    with pytest.raises(PresetError) as info:
        load_preset_file(write(tmp_path, data))
    return info.value.errors


def test_office_file_loads(tmp_path: Path) -> None:
    p = load_preset(write(tmp_path, BASE))
    assert isinstance(p, Preset) and p.id == "contoh"
    assert load_preset(str(tmp_path / "sop.yaml")).langkah == p.langkah
    assert p.step("periksa").kembali_ke == "isi"  # verifikasi defaults to the isi step
    assert p.title("perencana") == "Kasubag Perencanaan"
    assert p.waktu_bawaan == SopDuration(1, "hari")


def test_plain_yaml_keys(tmp_path: Path) -> None:
    path = tmp_path / "sop.yaml"
    text = write(tmp_path, BASE).read_text(encoding="utf-8").replace("'no':", "no:")
    path.write_text(text.replace("nama: Isi", "nama: no"), encoding="utf-8")
    p = load_preset_file(path)
    assert p.step("isi").no == 2 and p.step("isi").nama == "no"


def test_parse_preset_accepts_plain_safe_load(tmp_path: Path) -> None:
    data = yaml.safe_load(write(tmp_path, BASE).read_text(encoding="utf-8").replace("'no':", "no:"))
    assert False in data["langkah"][0]  # PyYAML's YAML 1.1 reading of `no:`
    assert parse_preset(data).step("rekap").no == 4


def test_copy_of_builtin_with_own_id(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parent.parent / "flows" / "sop" / "presets" / "kertosono.yaml"
    text = src.read_text(encoding="utf-8").replace("id: kertosono", "id: kertosono-kantor-saya")
    (tmp_path / "saya.yaml").write_text(text, encoding="utf-8")
    p = load_preset(tmp_path / "saya.yaml")
    assert p.id == "kertosono-kantor-saya" and len(p.langkah) == 10


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (variant(langkah_3={"jenis": "hitung"}), "Langkah 'rekap': jenis 'hitung' tidak dikenal"),
        (variant(langkah_1={"pelaku": "bupati"}), "Langkah 'isi': pelaku 'bupati' tidak dikenal"),
        (variant(langkah_1={"waktu": "sebentar"}), "Langkah 'isi': waktu 'sebentar' tidak terbaca"),
        (variant(langkah_1={"waktu": 3}), "Langkah 'isi': waktu '3' tidak terbaca"),
        (variant(langkah_4={"kembali_ke": "entah"}), "kembali_ke 'entah' bukan id langkah"),
        (variant(langkah_2={"kembali_ke": "telaah"}), "harus menunjuk langkah sebelumnya"),
        (variant(langkah_4={"kembali_ke": "telaah"}), "harus menunjuk langkah sebelumnya"),
        (variant(langkah_3={"kembali_ke": "isi"}), "kembali_ke hanya untuk langkah verifikasi"),
        (variant(langkah_2={"kembali_ke": "mulai"}), "verifikasi harus menunjuk langkah isi"),
        (variant(langkah_4={"kembali_ke": None}), "Langkah 'telaah': langkah telaah wajib punya"),
        (variant(langkah_3={"id": "isi"}), "Langkah 'isi': id dipakai dua kali"),
        (variant(langkah_3={"id": "Rekap Data"}), "id hanya boleh huruf kecil"),
        (variant(langkah_1={"jenis": "analisis"}), "SOP harus punya satu langkah berjenis isi"),
        (variant(langkah_0={"jenis": "disposisi"}), "langkah pertama harus berjenis perintah"),
        (variant(langkah_3={"jenis": "perintah"}), "perintah hanya untuk langkah pertama"),
        (variant(langkah_3={"no": 2}), "Langkah 'rekap': 'no' 2 lebih kecil"),
        (variant(langkah_3={"no": "empat"}), "Langkah 'rekap': 'no' harus bilangan bulat"),
        (variant(langkah_3={"nama": None}), "Langkah 'rekap': 'nama' wajib diisi"),
        (variant(langkah_3={"pelakuu": "kasi"}), "Langkah 'rekap': kunci 'pelakuu' tidak dikenal"),
        (variant(langkah_3={"jenis": "gabung"}), "langkah gabung wajib menyebut periode"),
        (variant(langkah_3={"periode": "bulanan"}), "periode 'bulanan' tidak dikenal"),
        (variant(langkah_3={"periode": "semester"}), "harus di akhir"),
        (variant(langkah_1={"periode": "semester"}), "isi tidak boleh punya periode"),
        (
            variant(langkah_1={"jenis": "rekap"}, langkah_2={"jenis": "isi", "pelaku": "kasi"}),
            "Langkah 'isi': langkah rekap harus sesudah langkah isi",
        ),
        (variant(langkah_1={"pelaku": "staf"}), "pelaku langkah isi ('staf') harus termasuk"),
        (variant(langkah_3={"peserta": ["kasi"]}), "'peserta' hanya untuk langkah rapat"),
        (variant(langkah_3={"kepada": ["camat"]}), "'kepada' hanya untuk langkah laporkan"),
        (variant(langkah_3={"jenis": "rapat", "peserta": ["warga"]}), "peran 'warga' tidak"),
        (variant(langkah_3={"jenis": "bagikan"}), "bagikan harus sesudah langkah siapkan"),
        (variant(peran={"bupati": "Bupati"}), "peran 'bupati' tidak dikenal"),
        (variant(pengisi=["kasi", "lurah"]), "pengisi: peran 'lurah' tidak dikenal"),
        (variant(pengisi=[]), "'pengisi' wajib diisi"),
        (variant(waktu_bawaan="lama"), "waktu_bawaan 'lama' tidak terbaca"),
        (variant(langkah=[]), "'langkah' wajib berisi daftar langkah"),
        (variant(id="Contoh SOP"), "id 'Contoh SOP' hanya boleh"),
        (variant(judul="x"), "kunci 'judul' tidak dikenal"),
        (variant(nama=""), "'nama' wajib diisi"),
        (["bukan", "pemetaan"], "harus berupa pemetaan"),
    ],
)
def test_validation_errors(tmp_path: Path, data: Any, expected: str) -> None:
    errors = errors_of(tmp_path, data)
    assert any(expected in e for e in errors), errors


def test_all_errors_reported_at_once(tmp_path: Path) -> None:
    data = variant(langkah_1={"jenis": "hitung"}, langkah_3={"waktu": "lama", "pelaku": "lurah"})
    errors = errors_of(tmp_path, data)
    assert len(errors) >= 4  # unknown jenis, no isi, bad waktu, unknown pelaku
    with pytest.raises(PresetError) as info:
        load_preset_file(write(tmp_path, data))
    assert str(info.value) == "\n".join(errors)


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "rusak.yaml"
    bad.write_text("id: [tidak ditutup\n", encoding="utf-8")
    with pytest.raises(PresetError, match="bukan YAML yang sah"):
        load_preset_file(bad)
    with pytest.raises(PresetError, match="tidak dapat dibaca"):
        load_preset_file(tmp_path / "tidak-ada.yaml")


def test_preset_reminder_plan_is_read_and_checked(tmp_path):
    from flows.sop.preset import PresetError, load_preset_file

    src = (PRESET_DIR / "setwan-jambi.yaml").read_text(encoding="utf-8")
    good = tmp_path / "setwan-jambi.yaml"
    good.write_text(src + "\npengingat: {sebelum_hari: 2, ringkasan_camat: false}\n", "utf-8")
    preset = load_preset_file(good)
    assert dict(preset.pengingat) == {"sebelum_hari": 2, "ringkasan_camat": False}
    from flows.sop.reminders import ReminderPlan

    plan = ReminderPlan.of(preset.pengingat, {"sebelum_hari": 3})
    assert plan.sebelum_hari == 3 and plan.ringkasan_camat is False
    good.write_text(src + "\npengingat: {setiap_jam: true}\n", "utf-8")
    with pytest.raises(PresetError) as err:
        load_preset_file(good)
    assert "pengingat" in str(err.value)


def test_yaml_error_points_at_the_open_quote(tmp_path: Path) -> None:
    bad = tmp_path / "kutip.yaml"
    bad.write_text('id: contoh\nnama: "SOP tanpa tutup\nsumber: x\npengisi: [kasi]\n')
    with pytest.raises(PresetError) as info:
        load_preset_file(bad)
    assert "baris 2, kolom 7" in info.value.errors[0], info.value.errors


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d / "tidak-ada.yaml", "tidak ada; periksa nama dan foldernya"),
        (lambda d: d, "adalah folder, bukan berkas"),
        (lambda d: _bytes(d / "sop.pdf", b"%PDF-1.7\n%\xe2\xe3"), "bukan teks YAML (isinya PDF)"),
        (lambda d: _bytes(d / "sop.yaml", b"id: x\nnama: \xe9\n"), "bukan teks UTF-8"),
    ],
)
def test_unreadable_files_are_named(tmp_path: Path, make: Any, expected: str) -> None:
    with pytest.raises(PresetError) as info:
        load_preset_file(make(tmp_path))
    (error,) = info.value.errors
    assert expected in error


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_reminder_plan_types_are_checked(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, variant(pengingat={"sebelum_hari": "dua", "hari_h": "mungkin"}))
    assert "sop.yaml: pengingat.sebelum_hari 'dua' harus bilangan bulat." in errors
    assert "sop.yaml: pengingat.hari_h 'mungkin' harus true atau false." in errors


@pytest.mark.parametrize("preset_id", sorted(EXPECTED))
def test_snapshot_round_trip(preset_id: str) -> None:
    p = load_preset(preset_id)
    snap = preset_snapshot(p)
    assert json.loads(json.dumps(snap)) == snap  # JSON-safe
    again = preset_from_snapshot(snap)
    assert again == p and dict(again.pengingat) == dict(p.pengingat)
    assert [s.kembali_ke for s in again.langkah] == [s.kembali_ke for s in p.langkah]
