"""The offline demo: a full cycle of the sample office through the real bot and the emulator."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from pathlib import Path

import openpyxl
import pypdf
import pytest

from bot.cli import main
from bot.offline import demo as demo_module
from bot.offline.demo import DemoResult, run_demo

pytestmark = pytest.mark.e2e  # plays a whole cycle through the emulator


def _child_pids() -> set[int]:
    """Live child processes of this process (Linux /proc; empty elsewhere)."""
    me = os.getpid()
    found: set[int] = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z":
            found.add(int(entry.name))
    return found


async def test_demo_runs_a_full_cycle_and_leaves_nothing_running(tmp_path: Path):
    children_before = _child_pids()
    mp_before = set(multiprocessing.active_children())
    tasks_before = asyncio.all_tasks()
    lines: list[str] = []
    out = tmp_path / "keluaran"
    work = tmp_path / "kerja"
    work.mkdir()

    result = await run_demo(out, echo=lines.append, work_dir=work)

    # Nothing keeps running: no new tasks on the loop, no document worker process.
    assert asyncio.all_tasks() <= tasks_before
    assert set(multiprocessing.active_children()) <= mp_before
    assert _child_pids() <= children_before
    assert isinstance(result, DemoResult)
    assert result.seconds > 0  # the demo reports its duration (speed is measured in bench/)
    assert (work / "demo.db").exists()  # the database lives where it was told, not in ./data

    # Both files, named as the bot named them.
    assert result.laporan.parent == out and result.rekap.parent == out
    assert result.laporan.name == "Laporan_Kinerja_TW_III_2026_Kecamatan_Sukamaju.pdf"
    assert result.rekap.name == "Rekap_Kinerja_TW_III_2026_Kecamatan_Sukamaju.xlsx"
    assert result.laporan.read_bytes().startswith(b"%PDF")
    assert result.people == 9 and result.sheets == 7 and result.indicators == 24

    # The rekap holds the office and the figures the scripted Kasi typed.
    book = openpyxl.load_workbook(result.rekap)
    cells = {
        str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
    }
    assert "KECAMATAN SUKAMAJU — KABUPATEN CONTOH" in cells

    def row(sheet: str, name: str) -> tuple:
        rows = book[sheet].iter_rows(values_only=True)
        return next(r for r in rows if r and isinstance(r[0], int) and str(r[1]).startswith(name))

    pem = row("PEM", "Jumlah desa")
    assert pem[0] == 3 and pem[5] == 9  # PEM-2 after the fix (was 7); numbered as printed
    assert row("TRA", "Persentase pelanggaran")[5] == 87.5  # TRA-3: 14 of 16
    assert row("UMP", "Persentase kehadiran")[5] == 96.2  # typed "96.2", confirmed as 96,2
    # the evidence photo, by the Kasi's caption
    assert any(c.startswith("Rekap register PATEN Juli–September (foto, ") for c in cells)

    # The laporan: office, period, Bab IV with the kendala and upaya, the signature block.
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(result.laporan).pages)
    assert "KECAMATAN SUKAMAJU" in text and "TRIWULAN III 2026" in text
    assert "KENDALA DAN UPAYA" in text and "Cibeureum" in text and "SIKS-NG" in text
    assert "Drs. H. Ahmad Fauzi, M.Si" in text and "NIP. 19720315 199303 1 004" in text
    assert "CAMAT SUKAMAJU" in text

    # The transcript: phases, who said what, taps, deadlines in WIB, the files.
    transcript = "\n".join(lines)
    for expected in (
        "[1/8]",
        "[4/8] Kasi (dan perencana untuk subbagiannya) mengisi kertas kerja …",
        "[8/8]",
        "👤 [TG] Ahmad Fauzi (Camat): /mulai TW III 2026",
        "👤 [TG] Budi Santoso (Kasi Pemerintahan): 412",
        "👆 [TG] Rina Kartikasari (Sekcam) menekan [Teruskan]",
        "👆 [TG] Rina Kartikasari (Sekcam) menekan [Setujui]",
        "👆 [TG] Maya Sari Dewi (Kasubag Perencanaan) menekan [Kembalikan lembar]",
        "👤 [TG] Maya Sari Dewi (Kasubag Perencanaan): PEM-2: ",
        "👆 [TG] Ahmad Fauzi (Camat) menekan [Kembalikan]",
        "👆 [TG] Maya Sari Dewi (Kasubag Perencanaan) menekan [Sudah diinput]",
        "👤 [TG] Budi Santoso (Kasi Pemerintahan): [foto bukti dukung:",
        # the mixed office: Kasi on WhatsApp register by words, answer reply buttons
        "👤 [WA] Siti Nurhaliza (Kasi Kesejahteraan Sosial): start ",
        "👆 [WA] Siti Nurhaliza (Kasi Kesejahteraan Sosial) menekan [Isi sekarang]",
        # the late Kasi: the clock jumps, the reminder comes as a template, its button starts
        "⏩ Jam demo dimajukan ke ",
        "🤖 → [WA] Hendra Wijaya: [templat kinerja_pengingat] ⏰ Pengingat",
        "👆 [WA] Hendra Wijaya (Kasubbag Umum dan Kepegawaian) menekan [Buka]",
        "👤 [WA] Hendra Wijaya (Kasubbag Umum dan Kepegawaian): 96.2",
        "Maksud Anda 96,2?",
        "⏰ Batas waktu: ",
        " WIB",
        "📎 → [TG] Ahmad Fauzi: Laporan_Kinerja_TW_III_2026_Kecamatan_Sukamaju.pdf",
        str(result.laporan),
        str(result.rekap),
        "═══ Selesai dalam ",
    ):
        assert expected in transcript, expected
    # Readable on a plain terminal: one echo per line, none much wider than the set width.
    assert all("\n" not in line for line in lines)
    narration = [line for line in lines if str(out) not in line]
    assert max(len(line) for line in narration) <= demo_module.LINE_WIDTH
    # Every line about a person names their channel.
    people = [line for line in lines if line.startswith(("👤", "👆"))]
    assert people and all(line[2:].startswith(("[TG] ", "[WA] ")) for line in people)
    # The reminder came after the template was the only way in: "Buka" follows the template.
    template = next(i for i, line in enumerate(lines) if "[templat kinerja_pengingat]" in line)
    buka = next(i for i, line in enumerate(lines) if "Hendra Wijaya" in line and "[Buka]" in line)
    assert template < buka


def test_jalan_without_token_runs_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """`kinerja-bot` with no token says how to use a real one, then runs the demo into ./out."""
    calls: list[Path] = []

    async def fake(out_dir: Path, **_kwargs: object) -> None:
        calls.append(out_dir)

    monkeypatch.setattr(demo_module, "run_demo", fake)
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("TELEGRAM_TOKEN dan WHATSAPP_TOKEN belum diisi") and "@BotFather" in out
    assert calls == [Path("out")]
    assert main(["demo", "--keluaran", str(tmp_path / "hasil")]) == 0
    assert calls[-1] == tmp_path / "hasil"


def test_demo_failure_is_reported_in_indonesian(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    async def broken(out_dir: Path, **_kwargs: object) -> None:
        raise demo_module.DemoError("tidak_menjawab", detik=30)

    monkeypatch.setattr(demo_module, "run_demo", broken)
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 1
    assert "Demo gagal: bot tidak menjawab dalam 30 detik." in capsys.readouterr().out
