"""A realistic ReportData for the sample office (shared/samples/sukamaju.yaml).

Seven sections, 26 indicators, hand-filled quarterly realisasi. Capaian, predikat and averages
are computed here with a deliberately tiny local rule set (positif / negatif, T = 0, clamp to
[0, 120] for averages) so the fixture does not depend on flows/; the report layer only renders.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal

from reports.data import (
    DEFAULT_PREDIKAT_LEVELS,
    HistoryEntry,
    IndicatorRow,
    Office,
    Official,
    ReportData,
    SectionReport,
)

WIB = timezone(timedelta(hours=7))
D = Decimal

PeriodArg = Literal["TW", "SEMESTER", "TAHUN"]

CAMAT = Official(
    name="Drs. H. Ahmad Fauzi, M.Si",
    jabatan="Camat Sukamaju",
    pangkat="Pembina Tingkat I (IV/b)",
    nip="197203151993031004",
)
OFFICE = Office(
    nama="Kecamatan Sukamaju",
    kabupaten="Kabupaten Contoh",
    alamat="Jl. Raya Sukamaju No. 1, Sukamaju 40111",
    kota_ttd="Sukamaju",
    kepala=CAMAT,
)
SEKCAM = "Rina Kartikasari, S.STP, M.Si"
PERENCANA = "Maya Sari Dewi, S.E., M.Ak"

# kode, nama, kepala
SECTIONS = [
    ("PEM", "Seksi Pemerintahan", "Budi Santoso, S.IP"),
    ("TRA", "Seksi Ketenteraman dan Ketertiban Umum", "Agus Riyanto, S.H."),
    ("KES", "Seksi Kesejahteraan Sosial", "Siti Nurhaliza, S.Sos"),
    ("EKB", "Seksi Ekonomi dan Pembangunan", "Dedi Kurniawan, S.E."),
    ("PMD", "Seksi Pemberdayaan Masyarakat dan Desa", "Yuliana Putri, S.AP"),
    ("UMP", "Subbagian Umum dan Kepegawaian", "Hendra Wijaya, S.Kom"),
    ("PK", "Subbagian Perencanaan dan Keuangan", PERENCANA),
]

S_LAYANAN = "Meningkatnya kualitas layanan publik"
S_DESA = "Meningkatnya kualitas pembinaan dan pengawasan desa"
S_AKUN = "Meningkatnya akuntabilitas kinerja perangkat daerah"
S_TRANTIB = "Terwujudnya ketenteraman dan ketertiban wilayah"

N = None
# kode, sasaran, nama, satuan, polaritas, agregasi, target tahunan, targets s.d. TW I..IV,
# realisasi reported per quarter (the amount for kumulatif, the level/rate otherwise)
INDICATORS = [
    (
        "PEM-1",
        S_LAYANAN,
        "Persentase layanan administrasi (PATEN) yang diselesaikan sesuai SOP",
        "%",
        "positif",
        "rasio",
        95,
        (95, 95, 95, 95),
        (93, 93, 93, 96),
    ),
    (
        "PEM-2",
        S_DESA,
        "Jumlah desa yang difasilitasi administrasi tata pemerintahan desa",
        "Desa",
        "positif",
        "kumulatif",
        12,
        (3, 6, 9, 12),
        (3, 3, 2, 4),
    ),
    (
        "PEM-3",
        S_AKUN,
        "Jumlah laporan koordinasi penyelenggaraan pemerintahan kecamatan",
        "Laporan",
        "positif",
        "kumulatif",
        4,
        (1, 2, 3, 4),
        (1, 1, 1, 1),
    ),
    (
        "PEM-4",
        S_LAYANAN,
        "Rata-rata waktu penyelesaian surat rekomendasi/keterangan",
        "Hari",
        "negatif",
        "rata-rata",
        3,
        (3, 3, 3, 3),
        ("2.5", "2.8", "3.4", "2.6"),
    ),
    (
        "TRA-1",
        S_TRANTIB,
        "Jumlah kejadian gangguan trantibum/konflik sosial",
        "Kejadian",
        "negatif",
        "kumulatif",
        0,
        (0, 0, 0, 0),
        (0, 0, 1, 0),
    ),
    (
        "TRA-2",
        S_TRANTIB,
        "Jumlah laporan hasil sinergitas dengan Polri, TNI dan instansi vertikal",
        "Laporan",
        "positif",
        "kumulatif",
        4,
        (1, 2, 3, 4),
        (1, 1, 1, 1),
    ),
    (
        "TRA-3",
        S_TRANTIB,
        "Persentase pelanggaran Perda/Perkada yang ditindaklanjuti",
        "%",
        "positif",
        "rasio",
        100,
        (100, 100, 100, 100),
        (100, 90, 85, 100),
    ),
    (
        "TRA-4",
        S_TRANTIB,
        "Jumlah dokumen fasilitasi penyelenggaraan trantibum di desa",
        "Dokumen",
        "positif",
        "kumulatif",
        6,
        (1, 3, 5, 6),
        (1, 1, 1, 2),
    ),
    (
        "KES-1",
        S_DESA,
        "Persentase lembaga kemasyarakatan (PKK, Karang Taruna, LPM) aktif yang dibina",
        "%",
        "positif",
        "terakhir",
        80,
        (80, 80, 80, 80),
        (75, 78, 82, 85),
    ),
    (
        "KES-2",
        S_LAYANAN,
        "Jumlah kegiatan koordinasi penanganan PMKS/bantuan sosial",
        "Kegiatan",
        "positif",
        "kumulatif",
        8,
        (2, 4, 6, 8),
        (2, 2, 2, 3),
    ),
    (
        "KES-3",
        S_LAYANAN,
        "Persentase desa yang menyelesaikan verifikasi-validasi data kesejahteraan sosial",
        "%",
        "positif",
        "terakhir",
        100,
        (25, 50, 75, 100),
        (25, 45, 55, 90),
    ),
    (
        "EKB-1",
        S_DESA,
        "Jumlah pelaku usaha mikro yang difasilitasi pengembangan usaha",
        "Unit usaha",
        "positif",
        "kumulatif",
        40,
        (10, 20, 30, 40),
        (12, 9, 11, 10),
    ),
    (
        "EKB-2",
        S_DESA,
        "Persentase usulan Musrenbang kecamatan yang diakomodasi dalam RKPD",
        "%",
        "positif",
        "terakhir",
        40,
        (N, 40, 40, 40),
        (N, "35.5", N, 42),
    ),
    (
        "EKB-3",
        S_DESA,
        "Jumlah laporan hasil koordinasi pembangunan kawasan perdesaan",
        "Laporan",
        "positif",
        "kumulatif",
        6,
        (1, 3, 5, 6),
        (1, 2, 2, 1),
    ),
    (
        "PMD-1",
        S_DESA,
        "Persentase desa yang menyampaikan laporan realisasi APBDes tepat waktu",
        "%",
        "positif",
        "rasio",
        100,
        (100, 100, 100, 100),
        (100, 100, "93.75", 100),
    ),
    (
        "PMD-2",
        S_DESA,
        "Jumlah dokumen fasilitasi pengelolaan keuangan dan aset desa",
        "Dokumen",
        "positif",
        "kumulatif",
        6,
        (1, 3, 5, 6),
        (1, 2, 2, 1),
    ),
    (
        "PMD-3",
        S_DESA,
        "Jumlah lembaga kemasyarakatan yang berpartisipasi dalam Musrenbang desa",
        "Lembaga",
        "positif",
        "terakhir",
        5,
        (5, 5, 5, 5),
        (5, 5, 4, 5),
    ),
    (
        "PMD-4",
        S_DESA,
        "Jumlah laporan peningkatan efektivitas kegiatan pemberdayaan masyarakat",
        "Laporan",
        "positif",
        "kumulatif",
        8,
        (2, 4, 6, 8),
        (2, 2, 1, 2),
    ),
    (
        "UMP-1",
        S_LAYANAN,
        "Indeks Kepuasan Masyarakat (IKM)",
        "Nilai",
        "positif",
        "terakhir",
        90,
        (N, 90, N, 90),
        (N, "86.45", N, "88.1"),
    ),
    (
        "UMP-2",
        S_AKUN,
        "Jumlah dokumen monitoring, evaluasi, dan penilaian kinerja pegawai",
        "Dokumen",
        "positif",
        "kumulatif",
        12,
        (3, 6, 9, 12),
        (3, 3, 3, 3),
    ),
    (
        "UMP-3",
        S_AKUN,
        "Persentase kehadiran pegawai",
        "%",
        "positif",
        "rata-rata",
        95,
        (95, 95, 95, 95),
        ("96.2", "94.8", "93.1", "95.6"),
    ),
    (
        "UMP-4",
        S_LAYANAN,
        "Jumlah pengaduan masyarakat yang tidak tertangani",
        "Aduan",
        "negatif",
        "kumulatif",
        0,
        (0, 0, 0, 0),
        (0, 0, 0, 0),
    ),
    (
        "PK-1",
        S_AKUN,
        "Jumlah Laporan Capaian Kinerja dan Ikhtisar Realisasi Kinerja SKPD",
        "Laporan",
        "positif",
        "kumulatif",
        4,
        (1, 2, 3, 4),
        (1, 1, 1, 1),
    ),
    (
        "PK-2",
        S_AKUN,
        "Persentase realisasi anggaran (serapan)",
        "%",
        "positif",
        "terakhir",
        95,
        (20, 45, 70, 95),
        ("18.5", "41.2", "66.3", "93.4"),
    ),
    (
        "PK-3",
        S_AKUN,
        "Jumlah laporan keuangan bulanan/triwulanan/semesteran SKPD",
        "Laporan",
        "positif",
        "kumulatif",
        12,
        (3, 6, 9, 12),
        (3, 3, 3, 3),
    ),
    (
        "PK-4",
        S_AKUN,
        "Nilai SAKIP Kecamatan",
        "Nilai",
        "positif",
        "terakhir",
        84,
        (N, N, N, 84),
        (N, N, N, "81.2"),
    ),
]

# User-typed text, including strings a spreadsheet would read as formulas.
HYPERLINK_TEXT = '=HYPERLINK("http://x","y")'
KENDALA = {
    "TRA-1": "Terjadi satu perselisihan batas lahan antarwarga di Desa Mekarsari "
    "pada bulan Agustus.",
    "TRA-4": "Keterbatasan anggaran perjalanan dinas sehingga fasilitasi ke desa tertunda.",
    "KES-3": "Tiga desa belum menyelesaikan verifikasi karena operator SIKS-NG berganti.",
    "PMD-3": HYPERLINK_TEXT,
    "PK-2": "+2 kegiatan belanja modal bergeser ke Triwulan IV",
}
UPAYA = {
    "TRA-1": "Mediasi bersama Bhabinkamtibmas dan Babinsa; pemantauan rutin di lokasi.",
    "TRA-4": "- Menjadwalkan ulang fasilitasi pada Triwulan IV dan mengusulkan pergeseran "
    "anggaran.",
    "KES-3": "Pendampingan operator baru oleh TKSK kecamatan setiap minggu.",
    "PMD-3": "@Kasi PMD mohon koordinasi ulang dengan LPM Desa Cibeureum.",
    "PK-2": "Percepatan proses pengadaan bersama PPK.",
}

_KEPALA = {kode: kepala for kode, _, kepala in SECTIONS}

PeriodSpec = tuple[str, str, str, tuple[int, ...], date]
PERIODS: dict[str, PeriodSpec] = {
    # kind: (label, slug, short, quarters included, signed_on)
    "TW": ("Triwulan III 2026", "TW_III_2026", "TW III", (0, 1, 2), date(2026, 10, 13)),
    "SEMESTER": ("Semester I 2026", "SEM_I_2026", "Semester I", (0, 1), date(2026, 7, 14)),
    "TAHUN": ("Tahun 2026", "TAHUN_2026", "Tahun 2026", (0, 1, 2, 3), date(2027, 1, 14)),
}

CUTS = (D(90), D(75), D(65), D(50))  # exclusive lower bounds of the top four predikat


def _dec(x: object) -> Decimal | None:
    return None if x is None else D(str(x))


def capaian(polaritas: str, target: Decimal | None, real: Decimal | None) -> Decimal | None:
    """Raw capaian (DOMAIN §1, subset): positif R/T, negatif (2T − R)/T floored at 0."""
    if target is None or real is None:
        return None
    if polaritas == "negatif":
        if target == 0:
            return D(100) if real == 0 else D(0)
        return max(D(0), (2 * target - real) / target * 100)
    if target == 0:
        return None
    return real / target * 100


def predikat(c: Decimal | None) -> str | None:
    if c is None:
        return None
    for cut, label in zip(CUTS, DEFAULT_PREDIKAT_LEVELS, strict=False):
        if c > cut:
            return label
    return DEFAULT_PREDIKAT_LEVELS[-1]


def average(values: list[Decimal | None]) -> Decimal | None:
    got = [min(max(v, D(0)), D(120)) for v in values if v is not None]
    return sum(got, D(0)) / len(got) if got else None


def _aggregate(agregasi: str, values: list[Decimal | None]) -> Decimal | None:
    if agregasi == "kumulatif":
        got = [v for v in values if v is not None]
        return sum(got, D(0)) if got else None
    if agregasi == "terakhir":
        return values[-1]
    got = [v for v in values if v is not None]  # rata-rata, rasio (fixture: mean of rates)
    return sum(got, D(0)) / len(got) if got else None


def _row(no: int, spec: tuple, quarters: tuple[int, ...], annual: bool) -> IndicatorRow:
    kode, sasaran, nama, satuan, pol, agg, t_year, t_tw, r_tw = spec
    targets = tuple(_dec(t) for t in t_tw)
    reals = [_dec(r) for r in r_tw]
    last = quarters[-1]
    target_sd = targets[last]
    real_sd = _aggregate(agg, reals[: last + 1])
    if len(quarters) == 1 or agg == "terakhir":
        real_period = reals[last]
    else:
        real_period = _aggregate(agg, [reals[q] for q in quarters])
    if reals[last] is None and agg in ("terakhir", "rata-rata", "rasio"):
        real_sd = None
    c_sd = capaian(pol, target_sd, real_sd)
    c_year = capaian(pol, _dec(t_year), real_sd)
    trend: tuple[Decimal | None, ...] = ()
    if annual:
        trend = tuple(
            capaian(
                pol, targets[q], _aggregate(agg, reals[: q + 1]) if reals[q] is not None else None
            )
            for q in range(4)
        )
    section = kode.split("-")[0]
    evidence = (f"{kode}_bukti_{PERIODS_SHORT[last]}.pdf",)
    if kode in ("PEM-1", "PK-2"):
        evidence += (f"https://drive.sukamaju.go.id/kinerja/2026/{kode.lower()}",)
    if kode == "KES-3":
        evidence += ("+62 812-3456-7890 (foto kegiatan via WhatsApp).jpg",)
    if r_tw[last] is None:
        evidence = ()
    return IndicatorRow(
        no=no,
        kode=kode,
        sasaran=sasaran,
        indikator=nama,
        satuan=satuan,
        target_tahunan=_dec(t_year),
        target_sd=target_sd,
        realisasi_tw=real_period,
        realisasi_sd=real_sd,
        capaian_sd=c_sd,
        capaian_tahunan=c_year,
        predikat=predikat(c_sd),
        kendala=KENDALA.get(kode, ""),
        upaya=UPAYA.get(kode, ""),
        penanggung_jawab=_KEPALA[section],
        evidence=evidence,
        trend=trend,
        targets_tw=targets,
    )


PERIODS_SHORT = ("TW1", "TW2", "TW3", "TW4")


def _history(kind: str, signed_on: date) -> tuple[HistoryEntry, ...]:
    start = datetime(signed_on.year, signed_on.month, signed_on.day, 8, 0, tzinfo=WIB)
    start -= timedelta(days=12)

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return start + timedelta(days=day, hours=hour - 8, minutes=minute)

    camat, sekcam = CAMAT.name, SEKCAM
    entries = [
        HistoryEntry(
            at(0, 8, 15),
            camat,
            "Camat",
            "Perintah pengumpulan data kinerja",
            "Mohon data kinerja dikumpulkan sesuai jadwal.",
            True,
        ),
        HistoryEntry(at(0, 9, 2), sekcam, "Sekretaris Kecamatan", "Disposisi diteruskan", "", True),
        HistoryEntry(
            at(0, 13, 40),
            PERENCANA,
            "Kasubbag Perencanaan dan Keuangan",
            "Kertas kerja dibagikan",
            "",
            True,
        ),
    ]
    late = {"TRA"}
    for i, (kode, nama, kepala) in enumerate(SECTIONS):
        day = 4 if kode in late else 1 + i % 3
        entries.append(
            HistoryEntry(
                at(day, 10 + i % 5, 5 * i),
                kepala,
                f"Kepala {nama}",
                "Lembar kerja dikirim",
                "",
                kode not in late,
            )
        )
    entries += [
        HistoryEntry(
            at(5, 10, 30),
            PERENCANA,
            "Kasubbag Perencanaan dan Keuangan",
            "Lembar kerja Seksi Kesejahteraan Sosial dikembalikan",
            "Bukti dukung KES-3 belum dilampirkan.",
            True,
        ),
        HistoryEntry(
            at(5, 15, 10),
            _KEPALA["KES"],
            "Kepala Seksi Kesejahteraan Sosial",
            "Lembar kerja dikirim ulang",
            "",
            True,
        ),
        HistoryEntry(
            at(6, 14, 0),
            PERENCANA,
            "Kasubbag Perencanaan dan Keuangan",
            "Rekap dan draf laporan disusun",
            "",
            True,
        ),
        HistoryEntry(
            at(7, 9, 45),
            sekcam,
            "Sekretaris Kecamatan",
            "Draf laporan dikembalikan",
            "Mohon analisis Sasaran trantibum dilengkapi.",
            True,
        ),
        HistoryEntry(
            at(8, 11, 20),
            PERENCANA,
            "Kasubbag Perencanaan dan Keuangan",
            "Draf laporan diperbaiki",
            "",
            True,
        ),
        HistoryEntry(at(9, 8, 50), sekcam, "Sekretaris Kecamatan", "Telaah disetujui", "", True),
        HistoryEntry(at(12, 10, 15), camat, "Camat", "Laporan disahkan", "", False),
    ]
    return tuple(sorted(entries, key=lambda e: e.at))


def sample_report_data(period: PeriodArg = "TW") -> ReportData:
    """ReportData of Kecamatan Sukamaju for TW III, Semester I or the year 2026."""
    label, slug, short, quarters, signed_on = PERIODS[period]
    annual = period == "TAHUN"
    history = _history(period, signed_on)
    submitted = {e.actor: e.at for e in history if e.action.startswith("Lembar kerja dikirim")}
    verified_at = datetime(signed_on.year, signed_on.month, signed_on.day, 15, 30, tzinfo=WIB)
    verified_at -= timedelta(days=7)
    sections = []
    all_rows: list[IndicatorRow] = []
    for kode, nama, kepala in SECTIONS:
        specs = [s for s in INDICATORS if s[0].split("-")[0] == kode]
        order = list(dict.fromkeys(s[1] for s in specs))  # number rows in sasaran groups
        specs.sort(key=lambda s: order.index(s[1]))
        rows = tuple(_row(i + 1, s, quarters, annual) for i, s in enumerate(specs))
        all_rows += rows
        avg = average([r.capaian_sd for r in rows])
        counts = {lvl: sum(r.predikat == lvl for r in rows) for lvl in DEFAULT_PREDIKAT_LEVELS}
        sections.append(
            SectionReport(
                kode=kode,
                nama=nama,
                kepala_nama=kepala,
                rows=rows,
                average_capaian=avg,
                predikat_counts=counts,
                submitted_at=submitted.get(kepala),
                submitted_by=kepala,
                verified_by=SEKCAM if kode == "PK" else PERENCANA,
                verified_at=verified_at,
                predikat=predikat(avg),
            )
        )
    sasaran_order: list[str] = []
    for r in all_rows:
        if r.sasaran not in sasaran_order:
            sasaran_order.append(r.sasaran)
    sasaran_averages = tuple(
        (s, average([r.capaian_sd for r in all_rows if r.sasaran == s])) for s in sasaran_order
    )
    office_average = average([r.capaian_sd for r in all_rows])
    return ReportData(
        office=OFFICE,
        period_label=label,
        period_kind=period,
        period_slug=slug,
        tahun=2026,
        sections=tuple(sections),
        sasaran_averages=sasaran_averages,
        office_average=office_average,
        office_predikat=predikat(office_average),
        history=history,
        signed_on=signed_on,
        period_short=short,
    )
