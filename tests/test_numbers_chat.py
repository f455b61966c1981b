"""Issue 12's rules through the chat (no Telegram): kumulatif entry, changed values, verifier."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, update

from storage.models import Cycle, Entry, Indicator, Office, Worksheet
from tests.flowkit import Chat, FakeClock, open_quarter, play, seed_small_office

CAMAT, PLANNER, KASI = "101", "102", "103"
MONDAY = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 09.00 WIB

#: TW I of the small office: PEM-1 rasio, PEM-2 kumulatif 3 desa, PEM-4 negatif (PEM-3 unasked).
TW1 = ["/isi", "48", "50", "tap:Lewati", "tap:Lewati", "3", "tap:Lewati", "tap:Lewati"]
TW1 += ["2,5", "tap:Lewati", "tap:Lewati", "tap:Kirim"]


def joined(out) -> str:  # noqa: ANN001
    return "\n---\n".join(m.text for m in out)


async def entry_of(db, kode: str, key: str) -> Entry:  # noqa: ANN001
    async with db.transaction() as s:
        return (
            await s.scalars(
                select(Entry)
                .join(Indicator, Indicator.id == Entry.indicator_id)
                .join(Worksheet, Worksheet.id == Entry.worksheet_id)
                .join(Cycle, Cycle.id == Worksheet.cycle_id)
                .where(Indicator.kode == kode, Cycle.period_key == key)
            )
        ).one()


async def finish_cycles(db) -> None:  # noqa: ANN001
    async with db.transaction() as s:
        await s.execute(update(Cycle).values(status="selesai", finished_at=MONDAY))


async def tw2_at_pem2(db, settings: dict | None = None) -> tuple[Chat, list]:  # noqa: ANN001
    await seed_small_office(db)
    if settings:
        async with db.transaction() as s:
            await s.execute(update(Office).values(settings=settings))
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW1")
    await play(chat, KASI, TW1)
    await finish_cycles(db)
    await open_quarter(chat, "uji", "2026-TW2")
    await chat.new_messages()
    out = await play(chat, KASI, ["/isi", "48", "50", "tap:Lewati", "tap:Lewati"])
    return chat, out


async def test_kumulatif_is_asked_as_the_quarters_new_amount_and_shows_the_sum(db):
    chat, out = await tw2_at_pem2(db)
    text = joined(out[-2:])
    assert "Realisasi s.d. TW I: 3" in text  # the card
    assert "Berapa realisasi pada TW II (April–Juni)?" in out[-1].text
    out = await chat.say(KASI, "2")
    assert "Tersimpan: 2 Desa pada TW II (April–Juni)." in out[0].text
    assert "Realisasi s.d. TW II: 5 Desa" in out[0].text
    assert "Capaian s.d. TW II: 83,33% (Tinggi)" in out[0].text  # 5 / 6
    assert (await entry_of(db, "PEM-2", "2026-TW2")).realisasi == 2  # the amount is stored


async def test_sd_entry_refuses_a_total_below_last_quarter_and_stores_nothing(db):
    chat, out = await tw2_at_pem2(db, {"isian_kumulatif": "sd"})
    assert "Berapa realisasi s.d. TW II (Januari–Juni, jumlah sejak awal tahun" in out[-1].text
    out = await chat.say(KASI, "2")
    assert "lebih kecil dari realisasi s.d. TW I (3)" in out[0].text
    assert "tidak disimpan" in out[0].text and "Silakan coba lagi" in out[1].text
    entry = await entry_of(db, "PEM-2", "2026-TW2")
    assert entry.filled is False and entry.realisasi is None
    out = await chat.say(KASI, "5")
    assert "Realisasi s.d. TW II: 5 Desa" in out[0].text and "83,33%" in out[0].text
    assert (await entry_of(db, "PEM-2", "2026-TW2")).realisasi == 2


async def return_pem4(chat: Chat) -> list:
    _, out = await chat.tap(PLANNER, "Kembalikan")
    return await chat.say(PLANNER, "PEM-4: mohon sesuaikan dengan register")


async def test_a_changed_value_shows_what_it_corrects_and_what_depended_on_it(db):
    await seed_small_office(db)
    async with db.transaction() as s:
        await s.execute(update(Office).values(preset="setwan-jambi"))
    chat = Chat(db, FakeClock(MONDAY))
    await chat.say(CAMAT, "/mulai TW III 2026")
    await chat.tap(PLANNER, "Bagikan")
    first = ["/isi", "48", "50", "tap:Lewati", "tap:Lewati", "7", "tap:Lewati", "tap:Lewati"]
    await play(chat, KASI, [*first, "2,5", "Petugas loket cuti", "tap:Lewati", "tap:Kirim"])
    await return_pem4(chat)
    async with db.transaction() as s:  # the returner is not the sheet's verifier
        ws = (await s.scalars(select(Worksheet).where(Worksheet.status == "returned"))).one()
        assert ws.reviewed_by is not None

    out = await play(chat, KASI, ["tap:Perbaiki sekarang"])
    assert "Isian yang diperbaiki: 2,5 · capaian 116,67% (Sangat Tinggi)" in joined(out)
    out = await chat.say(KASI, "4,2")  # (6 − 4,2) / 3 = 60 %: Rendah
    assert "60,00% (Rendah)" in out[0].text and "Predikat berubah" in out[0].text
    assert "“Petugas loket cuti”" in out[1].text and out[1].labels() == ["Pertahankan", "Hapus"]
    _, out = await chat.tap(KASI, "Pertahankan")
    assert "upaya" in out[-1].text.lower() and out[-1].labels() == ["Lewati"]
    out = await play(chat, KASI, ["Tambah petugas cadangan", "tap:Lewati", "tap:Kirim"])
    entry = await entry_of(db, "PEM-4", "2026-TW3")
    assert (entry.realisasi, entry.keterangan, entry.upaya) == (
        Decimal("4.2"),
        "Petugas loket cuti",
        "Tambah petugas cadangan",
    )
    async with db.transaction() as s:
        ws = (await s.scalars(select(Worksheet).where(Worksheet.status == "submitted"))).one()
        assert ws.reviewed_by is None and ws.reviewed_at is None  # resent: not verified yet

    await return_pem4(chat)
    out = await play(chat, KASI, ["tap:Perbaiki sekarang", "2,5"])
    assert "116,67% (Sangat Tinggi)" in out[-2].text and "Predikat berubah" in out[-2].text
    _, out = await chat.tap(KASI, "Hapus")  # the kendala no longer holds
    assert "bukti" in out[-1].text  # no upaya asked: the new capaian needs none
    await play(chat, KASI, ["tap:Lewati", "tap:Kirim"])
    entry = await entry_of(db, "PEM-4", "2026-TW3")
    assert (entry.realisasi, entry.keterangan, entry.upaya) == (Decimal("2.5"), "", "")

    from flows.sop.report_data import report_data

    async with db.transaction() as s:
        cycle = (await s.scalars(select(Cycle))).one()
        before = (await report_data(s, cycle.id, now=MONDAY)).sections[0]
    assert before.verified_by is None and before.verified_at is None  # sent, not yet accepted
    chat.clock.advance(minutes=30)
    await chat.tap(PLANNER, "Terima")
    async with db.transaction() as s:
        pem = (await report_data(s, cycle.id, now=MONDAY)).sections[0]
    assert pem.verified_by == "Maya" and pem.verified_at == chat.clock.now()
    assert pem.submitted_at is not None and pem.verified_at > pem.submitted_at


async def test_the_chat_uses_the_offices_predikat_scale(db):
    await seed_small_office(db)
    scale = [
        {"di_atas": 95, "predikat": "Sangat Baik"},
        {"di_atas": 80, "predikat": "Baik"},
        {"predikat": "Kurang"},
    ]
    async with db.transaction() as s:
        await s.execute(update(Office).values(settings={"skala_predikat": scale}))
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    out = await play(chat, KASI, ["/isi", "48", "50", "tap:Lewati", "tap:Lewati", "7"])
    assert "77,78% (Kurang)" in out[-2].text  # 7 / 9 desa, on the office's scale
    assert "kendala" in out[-1].text.lower()
    out = await play(chat, KASI, ["tap:Lewati"])
    assert "upaya" in out[-1].text.lower()  # Kurang is the lowest level: upaya is asked
