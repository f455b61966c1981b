"""Operational admin commands (issue 6) and Plt / Plh (issue 3), run in-process on SQLite and,
with TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import zipfile
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import main
from bot.workers.delivery import Delivery, DeliveryFailed, DeliveryJob, DeliveryRetry
from flows.core.messages import Reply
from flows.domain.fmt import fmt_date
from flows.sop.preset import load_preset
from handlers import telegram as tg
from storage.db import Database
from storage.models import (
    Acting,
    Cycle,
    Event,
    Identity,
    Office,
    Outbox,
    Person,
    StepDeadline,
    Worksheet,
)
from tests.conftest import SAMPLE_OFFICE

OFFICE = "kecamatan-sukamaju"
BUDI = "19830507 200604 1 011"  # Kasi Pemerintahan in examples/sukamaju.yaml
AHMAD = "19720315 199303 1 004"  # the Camat
FORMULA = '=HYPERLINK("http://contoh.invalid/x","klik")'
TOKEN = "123456:RAHASIA-token-uji"


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI pointed at the test database (a fresh SQLite file or PostgreSQL schema)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return db_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run one CLI command; its exit code and what it printed."""
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def in_db(url: str, work: Callable[[AsyncSession], Awaitable[object]]) -> object:
    """Run ``work`` in one committed transaction, outside the CLI."""

    async def go() -> object:
        db = Database(url)
        try:
            async with db.transaction() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(go())


def person_id(url: str, nip: str) -> int:
    async def work(session: AsyncSession) -> int:
        return await session.scalar(select(Person.id).where(Person.nip == nip.replace(" ", "")))

    return in_db(url, work)  # type: ignore[return-value]


def setup_office(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "impor-kantor", str(SAMPLE_OFFICE))[0] == 0


def block_of(out: str, nip: str) -> str:
    """The lines daftar-orang prints for one person."""
    blocks = [b for b in out.split("\n\n") if nip in b]
    assert len(blocks) == 1, out
    return blocks[0]


# --- daftar-kantor ---------------------------------------------------------------------------


def test_list_offices(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "daftar-kantor")
    assert code == 0 and "Belum ada kantor" in out
    setup_office(capsys)
    code, out = run(capsys, "daftar-kantor")
    assert code == 0
    assert (
        "kecamatan-sukamaju: Kecamatan Sukamaju, SOP kebasen-pengumpulan, tahun 2026, "
        "9 pegawai aktif, tidak ada siklus berjalan"
    ) in out

    async def deactivate(session: AsyncSession) -> None:
        await session.execute(update(Person).where(Person.role == "staf").values(active=False))
        await session.execute(
            update(Person).where(Person.nip == AHMAD.replace(" ", "")).values(active=False)
        )

    in_db(env, deactivate)
    assert run(capsys, "buka-siklus", OFFICE, "TW III 2026")[0] == 0
    _, out = run(capsys, "daftar-kantor")
    assert "8 pegawai aktif, siklus berjalan: TW III 2026" in out


# --- daftar-orang ----------------------------------------------------------------------------


def test_list_people_with_channels_and_acting(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    setup_office(capsys)
    budi = person_id(env, BUDI)
    today = date.today()

    async def add(session: AsyncSession) -> tuple[int, int, int]:
        office_id = await session.scalar(select(Office.id))
        session.add(Identity(person_id=budi, channel="telegram", external_id="555001"))
        rows = [
            Acting(
                office_id=office_id,
                person_id=budi,
                role="camat",
                kind="Plt",
                starts=today - timedelta(days=3),
                ends=today + timedelta(days=30),
                created_at=datetime.now(UTC),
            ),
            Acting(
                office_id=office_id,
                person_id=budi,
                role="sekcam",
                kind="Plh",
                starts=today + timedelta(days=40),
                ends=today + timedelta(days=45),
                created_at=datetime.now(UTC),
            ),
            Acting(
                office_id=office_id,
                person_id=budi,
                role="sekcam",
                kind="Plt",
                starts=date(2020, 1, 1),
                ends=date(2020, 1, 31),
                created_at=datetime.now(UTC),
            ),
        ]
        session.add_all(rows)
        await session.flush()
        return rows[0].id, rows[1].id, rows[2].id

    current, coming, expired = in_db(env, add)  # type: ignore[misc]
    code, out = run(capsys, "daftar-orang", OFFICE)
    assert code == 0
    assert "9 orang" in out
    budi_block = block_of(out, BUDI)
    assert "Budi Santoso, S.IP" in budi_block
    assert "Kasi Pemerintahan · Kepala Seksi · Seksi Pemerintahan" in budi_block
    assert "Terdaftar: Telegram" in budi_block
    start, end = fmt_date(today - timedelta(days=3)), fmt_date(today + timedelta(days=30))
    assert f"Plt Camat: {start} s.d. {end} · ID {current}" in budi_block
    assert "(belum mulai) · ID " + str(coming) in budi_block
    assert f"ID {expired}" not in out  # an appointment that ended is not shown
    assert "Terdaftar: belum terdaftar" in block_of(out, AHMAD)
    assert "555001" not in out  # no channel account ids

    assert run(capsys, "daftar-orang", "tidak-ada") == (
        1,
        'Kantor dengan kode "tidak-ada" tidak ditemukan. '
        "Impor berkas kantornya dahulu (impor-kantor).\n",
    )


# --- siklus and ekspor-log -------------------------------------------------------------------

STEP = load_preset("kebasen-pengumpulan").langkah[4]


def add_history(url: str) -> None:
    """A deadline, a submitted sheet and events with an actor acting as Plt."""
    budi = person_id(url, BUDI)

    async def work(session: AsyncSession) -> None:
        cycle = await session.scalar(select(Cycle).where(Cycle.period_key == "2026-TW3"))
        assert cycle is not None
        cycle.step = STEP.id
        session.add(
            StepDeadline(
                cycle_id=cycle.id,
                step=STEP.id,
                started_at=datetime(2026, 10, 5, 1, 0, tzinfo=UTC),
                due_at=datetime(2026, 10, 8, 9, 0, tzinfo=UTC),
                extended_reason="menunggu data desa",
            )
        )
        await session.execute(
            update(Worksheet)
            .where(Worksheet.cycle_id == cycle.id, Worksheet.person_id == budi)
            .values(status="submitted", submitted_at=datetime(2026, 10, 6, 3, 15, tzinfo=UTC))
        )
        session.add(
            Event(
                office_id=cycle.office_id,
                cycle_id=cycle.id,
                actor_id=budi,
                acting_as="Plt Camat",
                action="lembar.kembalikan",
                subject="worksheet:1",
                channel="telegram",
                reason=FORMULA,
                data={"catatan": "isi ulang", "n": 2},
                at=datetime(2026, 10, 5, 1, 30, tzinfo=UTC),
            )
        )

    in_db(url, work)


def test_cycle_view(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    setup_office(capsys)
    assert run(capsys, "siklus", OFFICE)[0] == 1  # no cycle yet
    assert run(capsys, "buka-siklus", OFFICE, "TW III 2026")[0] == 0
    assert run(capsys, "buka-siklus", OFFICE, "TW II 2026")[0] == 0
    add_history(env)

    async def unknown_step(session: AsyncSession) -> None:
        await session.execute(
            update(Cycle).where(Cycle.period_key == "2026-TW2").values(step="langkah_lama")
        )

    in_db(env, unknown_step)

    code, out = run(capsys, "siklus", OFFICE)  # default: the latest period, not the newest row
    assert code == 0
    assert out.startswith("Triwulan III 2026 · Kecamatan Sukamaju\nStatus: berjalan\n")
    assert f"Langkah: {STEP.id} · {STEP.nama}" in out
    assert "Kertas kerja (7):" in out
    assert (
        "- Budi Santoso, S.IP (Seksi Pemerintahan): dikirim, "
        "dikirim Selasa, 6 Oktober 2026 pukul 10.15 WIB"
    ) in out
    assert "- Agus Riyanto, S.H. (Seksi Ketenteraman dan Ketertiban Umum): belum dikirim" in out
    assert (
        "mulai Senin, 5 Oktober 2026 pukul 08.00 WIB, "
        "tenggat Kamis, 8 Oktober 2026 pukul 16.00 WIB, belum selesai; "
        "diperpanjang: menunggu data desa"
    ) in out
    assert (
        "- Senin, 5 Oktober 2026 pukul 08.30 WIB · Budi Santoso, S.IP (sebagai Plt Camat) · "
        f"lembar.kembalikan · worksheet:1 · alasan: {FORMULA}"
    ) in out
    assert "Sistem · siklus.buka · 2026-TW3" in out

    code, out = run(capsys, "siklus", OFFICE, "tw 2")
    assert code == 0 and out.startswith("Triwulan II 2026")
    assert "Langkah: langkah_lama (tidak ada di SOP kebasen-pengumpulan)" in out
    code, out = run(capsys, "siklus", OFFICE, "TW IV 2026")
    assert code == 1 and 'Siklus "TW IV 2026" untuk Kecamatan Sukamaju tidak ditemukan' in out
    code, out = run(capsys, "siklus", OFFICE, "kemarin")
    assert code == 1 and 'Periode "kemarin" tidak dapat dibaca' in out


def test_export_log_to_xlsx(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup_office(capsys)
    assert run(capsys, "buka-siklus", OFFICE, "TW III 2026")[0] == 0
    add_history(env)
    target = tmp_path / "audit" / "log.xlsx"
    code, out = run(capsys, "ekspor-log", OFFICE, "TW III 2026", str(target))
    assert code == 0
    assert out.strip() == f"Log kejadian Triwulan III 2026 (3 kejadian) ditulis ke {target}."

    ws = openpyxl.load_workbook(target).active
    assert ws["A1"].value == "Log Kejadian Pengumpulan Data Kinerja"
    assert ws["A2"].value == "Kantor: Kecamatan Sukamaju (kecamatan-sukamaju)"
    assert ws["A3"].value == "Periode: Triwulan III 2026"
    header = [c.value for c in ws[5]]
    assert header == [
        "Waktu (WIB)",
        "Pelaku",
        "NIP",
        "Bertindak sebagai",
        "Kanal",
        "Aksi",
        "Subjek",
        "Alasan",
        "Data",
    ]
    assert ws.freeze_panes == "A6"
    rows = {row[5].value: row for row in ws.iter_rows(min_row=6)}
    assert set(rows) == {"siklus.buka", "siklus.bagikan", "lembar.kembalikan"}
    back = rows["lembar.kembalikan"]
    assert back[0].value == datetime(2026, 10, 5, 8, 30)  # local time, WIB
    assert [c.value for c in back[1:7]] == [
        "Budi Santoso, S.IP",
        BUDI,
        "Plt Camat",
        "Telegram",
        "lembar.kembalikan",
        "worksheet:1",
    ]
    assert back[7].value == FORMULA and back[7].data_type == "s"
    assert json.loads(back[8].value) == {"catatan": "isi ulang", "n": 2}
    assert rows["siklus.buka"][1].value == "Sistem"
    # The reason is stored as text: the sheet holds no formula element at all.
    with zipfile.ZipFile(target) as xlsx:
        sheet = xlsx.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "HYPERLINK" in sheet

    missing = tmp_path / "tidak.xlsx"
    code, out = run(capsys, "ekspor-log", OFFICE, "TW I 2026", str(missing))
    assert code == 1 and "tidak ditemukan" in out and not missing.exists()


# --- cadangkan -------------------------------------------------------------------------------


def test_backup_while_a_write_transaction_is_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "data" / "kinerja.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{source}")
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    setup_office(capsys)

    writer = sqlite3.connect(source, isolation_level=None, timeout=1)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE office SET nama = 'BELUM DISIMPAN'")
        writer.execute("DELETE FROM invite_code")
        backup = tmp_path / "cadangan" / "kinerja-1.db"
        code, out = run(capsys, "cadangkan", str(backup))
        assert code == 0, out
        assert f"ditulis ke {backup}" in out and "integritas: baik" in out
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert copy.execute("SELECT nama FROM office").fetchall() == [("Kecamatan Sukamaju",)]
        assert copy.execute("SELECT count(*) FROM person").fetchone()[0] == 9
        assert copy.execute("SELECT count(*) FROM invite_code").fetchone()[0] == 9
    finally:
        copy.close()
    assert not list(backup.parent.glob("*.sebagian"))

    # The backup opens as the bot's database: the CLI reads it.
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{backup}")
    assert "9 pegawai aktif" in run(capsys, "daftar-kantor")[1]


def test_backup_refuses_what_it_cannot_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://kinerja:sandi@db.lokal:5433/kinerja")
    code, out = run(capsys, "cadangkan", "cadangan.dump")
    assert code == 2
    assert "pg_dump -h db.lokal -p 5433 -U kinerja --format=custom --file=cadangan.dump" in out
    assert "sandi" not in out

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'tidak-ada.db'}")
    code, out = run(capsys, "cadangkan", "x.db")
    assert code == 1 and "tidak ditemukan" in out and not (tmp_path / "x.db").exists()

    source = tmp_path / "k.db"
    sqlite3.connect(source).close()
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{source}")
    code, out = run(capsys, "cadangkan", str(source))
    assert code == 1 and "sama dengan basis data" in out


# --- plt / plt-hapus -------------------------------------------------------------------------


async def actings(session: AsyncSession) -> list[Acting]:
    return list(await session.scalars(select(Acting).order_by(Acting.id)))


async def plt_events(session: AsyncSession) -> list[Event]:
    return list(
        await session.scalars(select(Event).where(Event.action.like("plt.%")).order_by(Event.id))
    )


def test_acting_appointed_listed_and_removed(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    setup_office(capsys)
    year = date.today().year + 1
    code, out = run(
        capsys,
        "plt",
        OFFICE,
        BUDI.replace(" ", ""),
        "Camat",
        f"01-08-{year}",
        f"{year}-08-31",
        "--jenis",
        "plh",
        "--alasan",
        "Camat cuti tahunan",
    )
    assert code == 0, out
    [acting] = in_db(env, actings)  # type: ignore[misc]
    assert (acting.role, acting.kind, acting.starts, acting.ends, acting.reason) == (
        "camat",
        "Plh",
        date(year, 8, 1),
        date(year, 8, 31),
        "Camat cuti tahunan",
    )
    assert acting.person_id == person_id(env, BUDI)
    assert out.startswith(
        f"Plh Camat Kecamatan Sukamaju ditetapkan: Budi Santoso, S.IP (NIP {BUDI}), "
        f"1 Agustus {year} s.d. 31 Agustus {year}."
    )
    assert f"kinerja-bot plt-hapus {OFFICE} {acting.id}" in out
    [event] = in_db(env, plt_events)  # type: ignore[misc]
    assert (event.action, event.subject, event.reason) == (
        "plt.tetapkan",
        f"acting:{acting.id}",
        "Camat cuti tahunan",
    )
    assert event.data["mulai"] == f"{year}-08-01" and event.data["peran"] == "camat"

    budi_block = block_of(run(capsys, "daftar-orang", OFFICE)[1], BUDI)
    assert f"Plh Camat: 1 Agustus {year} s.d. 31 Agustus {year} (belum mulai) · ID {acting.id}" in (
        budi_block
    )

    code, out = run(capsys, "plt-hapus", OFFICE, "999")
    assert code == 1 and 'ID "999" tidak ada' in out
    code, out = run(capsys, "plt-hapus", OFFICE, str(acting.id), "--alasan", "batal cuti")
    assert code == 0 and "dihapus" in out
    assert in_db(env, actings) == []
    events = in_db(env, plt_events)
    assert [e.action for e in events] == ["plt.tetapkan", "plt.hapus"]  # type: ignore[union-attr]
    assert events[1].reason == "batal cuti" and events[1].data["id"] == acting.id  # type: ignore[index]


def test_acting_rejects_bad_input_and_changes_nothing(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_office(capsys)
    other_nip = "19900101 201501 1 001"
    other = tmp_path / "lain.yaml"
    other.write_text(
        SAMPLE_OFFICE.read_text()
        .replace("nama: Kecamatan Sukamaju", "nama: Kecamatan Sukamundur")
        .replace(BUDI, other_nip)
    )
    logo = SAMPLE_OFFICE.parent / "lambang-contoh.svg"  # the sample's lambang travels with it
    (tmp_path / logo.name).write_bytes(logo.read_bytes())
    assert run(capsys, "impor-kantor", str(other))[0] == 0

    code, out = run(capsys, "plt", OFFICE, other_nip, "bupati", "31-02-2026", "2026-13-01")
    assert code == 1
    assert out.startswith("Plt/Plh tidak ditetapkan; tidak ada yang diubah.")
    assert f"Pegawai dengan NIP {other_nip} tidak ada di Kecamatan Sukamaju" in out
    assert 'Peran "bupati" tidak dikenal' in out
    assert 'Tanggal "31-02-2026" tidak dapat dibaca' in out
    assert 'Tanggal "2026-13-01" tidak dapat dibaca' in out

    code, out = run(capsys, "plt", OFFICE, BUDI, "staf", "10-08-2026", "01-08-2026", "--jenis", "X")
    assert code == 1
    assert 'Peran "staf" tidak dikenal untuk Plt/Plh' in out
    assert 'Jenis "X" tidak dikenal' in out
    assert "Tanggal mulai 10 Agustus 2026 jatuh sesudah tanggal selesai 1 Agustus 2026" in out

    code, out = run(capsys, "plt", "tidak-ada", BUDI, "camat", "01-08-2026", "31-08-2026")
    assert code == 1 and "tidak ditemukan" in out
    assert in_db(env, actings) == [] and in_db(env, plt_events) == []

    # An appointment in the other office cannot be removed through this one.
    assert (
        run(capsys, "plt", "kecamatan-sukamundur", other_nip, "sekcam", "1-8-2026", "1-8-2026")[0]
        == 0
    )
    [acting] = in_db(env, actings)  # type: ignore[misc]
    code, out = run(capsys, "plt-hapus", OFFICE, str(acting.id))
    assert code == 1 and "tidak ada di Kecamatan Sukamaju" in out
    assert len(in_db(env, actings)) == 1  # type: ignore[arg-type]


# --- logs an operator reads ------------------------------------------------------------------


def test_token_never_reaches_the_log(
    env: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    caplog.set_level(logging.INFO)
    assert main(["daftar-kantor"]) == 0
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    logging.getLogger("telegram.ext").info("POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
    try:
        raise RuntimeError(f"https://api.telegram.org/bot{TOKEN}/getMe unreachable")
    except RuntimeError:
        logging.getLogger("telegram.ext").exception("network trouble")
    text = caplog.text
    assert "getUpdates" in text and "unreachable" in text
    assert TOKEN not in text and "bot***/getUpdates" in text


class FakeSender:
    """Answers each job from a script: a message id, a retry or a refusal."""

    def __init__(self, outcomes: dict[str, Exception | str]) -> None:
        self.outcomes = outcomes

    async def send(self, job: DeliveryJob) -> str:
        outcome = self.outcomes[job.address]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 10, 5, 1, 0, tzinfo=UTC)


async def test_delivery_logs_one_line_per_attempt(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    now = FixedClock().now()
    async with db.transaction() as session:
        for address in ("111", "222", "333"):
            session.add(
                Outbox(
                    dedupe_key=f"uji:{address}",
                    channel="telegram",
                    address=address,
                    payload={"text": "Pesan rahasia untuk Budi"},
                    created_at=now,
                )
            )
    sender = FakeSender(
        {"111": "77", "222": DeliveryRetry(None), "333": DeliveryFailed("Forbidden: blocked")}
    )
    caplog.set_level(logging.INFO, logger="bot.workers.delivery")
    assert await Delivery(db, {"telegram": sender}, FixedClock()).drain() == 2
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.workers.delivery"]
    assert lines == [
        "outbox 1 channel=telegram result=sent attempt=1",
        "outbox 2 channel=telegram result=retry attempt=1",
        "outbox 3 channel=telegram result=failed attempt=1 error=Forbidden: blocked",
    ]
    assert "rahasia" not in caplog.text and "111" not in caplog.text


async def test_handler_logs_ids_and_kind_only(caplog: pytest.LogCaptureFixture) -> None:
    class Core:
        async def handle(self, inbound: object) -> Reply:
            return Reply(handled=False)

    message = SimpleNamespace(
        text="Realisasi saya 87,5 persen", caption=None, photo=None, document=None
    )
    update = SimpleNamespace(
        update_id=4242,
        edited_message=None,
        effective_message=message,
        effective_chat=SimpleNamespace(id=98765, type="private"),
    )
    caplog.set_level(logging.INFO, logger="handlers.telegram")
    await tg.on_message(update, Core())  # type: ignore[arg-type]
    message.text = "/isi"
    await tg.on_message(update, Core())  # type: ignore[arg-type]
    lines = [r.getMessage() for r in caplog.records if r.name == "handlers.telegram"]
    assert lines == [
        "update 4242 kind=text chat=98765 result=duplicate",
        "update 4242 kind=command chat=98765 result=duplicate",
    ]
    assert "87,5" not in caplog.text
