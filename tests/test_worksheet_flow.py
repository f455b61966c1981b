"""The Kasi's worksheet conversation, driven directly through the core (no Telegram)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from storage.models import Conversation, Entry, Event, Indicator, StoredFile, Worksheet
from tests.flowkit import Chat, open_quarter, seed_small_office

KASI = "103"
PLANNER = "102"


def texts_of(sent) -> str:  # noqa: ANN001
    return "\n---\n".join(m.text for m in sent)


async def entries(db) -> dict[str, Entry]:  # noqa: ANN001
    async with db.transaction() as s:
        rows = await s.execute(select(Entry, Indicator.kode).join(Indicator))
        return {kode: e for e, kode in rows}


async def test_full_sheet_with_rasio_ambiguity_error_photo_and_submit(db):
    await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    handed = await chat.new_messages()
    assert {m.address for m in handed} == {KASI, PLANNER}
    assert "Isi sekarang" in handed[0].labels()

    out = await chat.say(KASI, "/isi")
    text = texts_of(out)
    assert "Kertas kerja Triwulan III 2026" in text
    assert "PEM-3" in text and "tidak diukur" in text  # TW III target is null
    assert "PEM-1" in out[-2].text and "dua angka" in out[-1].text  # rasio asks numerator first

    out = await chat.say(KASI, "abc")
    assert "tidak dapat dibaca sebagai angka" in out[0].text
    out = await chat.say(KASI, "48")
    assert "penyebut" in out[0].text
    out = await chat.say(KASI, "50")
    assert "Tersimpan: 96% (48 dari 50)" in out[0].text
    assert "101,05%" in out[0].text and "Sangat Tinggi" in out[0].text
    assert out[1].labels() == ["Lewati"]
    out = await chat.say(KASI, "Aplikasi sempat gangguan")
    assert "bukti" in out[-1].text
    out = await chat.send_file(KASI, b"\xff\xd8jpeg-bytes", "foto_layanan.jpg")
    assert "Bukti diterima" in out[0].text
    assert "PEM-2" in texts_of(out)

    out = await chat.say(KASI, "7.5")  # ambiguous: asks back, saves nothing yet
    assert "Maksud Anda 7,5?" in out[0].text
    assert (await entries(db))["PEM-2"].filled is False
    toast, out = await chat.tap(KASI, "Bukan, ketik ulang")
    assert "Silakan coba lagi" in texts_of(out)
    out = await chat.say(KASI, "7 desa")
    assert "77,78%" in texts_of(out)
    _, out = await chat.tap(KASI, "Lewati")
    _, out = await chat.tap(KASI, "Lewati")  # no evidence
    assert "PEM-4" in texts_of(out)
    out = await chat.say(KASI, "2,5")
    assert "116,67%" in texts_of(out)
    _, out = await chat.tap(KASI, "Lewati")
    _, out = await chat.tap(KASI, "Lewati")
    summary = out[-1]
    assert "Ringkasan" in summary.text and summary.labels() == ["Kirim", "Ubah"]

    stored = await entries(db)
    assert stored["PEM-1"].numerator == 48 and stored["PEM-1"].denominator == 50
    assert stored["PEM-1"].realisasi == Decimal(96)
    assert stored["PEM-1"].keterangan == "Aplikasi sempat gangguan"
    assert stored["PEM-2"].realisasi == 7
    assert stored["PEM-4"].realisasi == Decimal("2.5")
    assert stored["PEM-3"].filled is False

    _, out = await chat.tap(KASI, "Kirim")
    assert any("sudah dikirim" in m.text for m in out if m.address == KASI)
    to_planner = [m for m in out if m.address == PLANNER]
    assert to_planner and "Budi" in to_planner[0].text and "101,05%" in to_planner[0].text
    toast, out = await chat.tap(KASI, "Kirim")  # a second tap changes nothing
    assert "tidak berlaku" in toast
    assert not [m for m in out if m.address == PLANNER]
    async with db.transaction() as s:
        ws = await s.scalar(select(Worksheet).where(Worksheet.status == "submitted"))
        assert ws is not None
        events = list(await s.scalars(select(Event).where(Event.action == "lembar.kirim")))
        assert len(events) == 1
        files = list(await s.scalars(select(StoredFile)))
        assert [f.file_name for f in files] == ["foto_layanan.jpg"]
        assert await s.get(Conversation, ws.person_id) is None


async def test_resume_after_wandering_off_and_batal(db):
    await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    await chat.say(KASI, "/isi")
    await chat.say(KASI, "45")
    chat.clock.advance(days=1)
    chat2 = Chat(db, chat.clock)  # a new core, as after a restart
    chat2.updates = 1000
    out = await chat2.say(KASI, "50")
    assert "94,74%" in texts_of(out)  # 45/50 = 90%, against 95: the numerator was kept
    out = await chat2.say(KASI, "/batal")
    assert "dibatalkan" in out[0].text
    out = await chat2.say(KASI, "halo")
    assert "/isi" in out[0].text
    out = await chat2.say(KASI, "/isi")
    assert "PEM-2" in out[-2].text  # PEM-1 is done; continues with the next


async def test_stranger_and_other_roles(db):
    await seed_small_office(db)
    chat = Chat(db)
    out = await chat.say("999", "/isi")
    assert "belum terdaftar" in out[0].text
    out = await chat.say("999", "halo")
    assert "belum terdaftar" in out[0].text
    out = await chat.say(KASI, "/isi")
    assert "tidak ada kertas kerja" in out[0].text
    out = await chat.say(KASI, "/bantuan")
    assert "/isi" in out[0].text and "/mulai" not in out[0].text


async def test_submit_refused_while_incomplete_and_stale_buttons(db):
    await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    await chat.say(KASI, "/isi")
    await chat.say(KASI, "10")
    await chat.say(KASI, "10")
    _, out = await chat.tap(KASI, "Lewati")
    toast, out = await chat.tap(KASI, "Lewati")
    assert "PEM-2" in texts_of(out)
    # An old "Lewati" from PEM-1 no longer answers anything.
    async with db.transaction() as s:
        assert (await s.scalar(select(Conversation))).state["ind"] is not None
    old = Chat(db, chat.clock)
    old.seen = 0
    old.updates = 500
    first_skip = await old.new_messages()
    tokens = [
        b["token"] for m in first_skip for row in m.buttons for b in row if b["label"] == "Lewati"
    ]
    from flows.core.messages import Inbound

    reply = await chat.core.handle(Inbound("telegram", KASI, "x1", button=tokens[0]))
    assert "tidak berlaku" in reply.toast


async def test_a_person_never_sees_another_offices_sheet(db):
    from storage.models import Identity, Office, Person, Section

    await seed_small_office(db)
    async with db.transaction() as s:
        other = Office(
            code="lain",
            nama="Kecamatan Lain",
            preset="kebasen-pengumpulan",
            tahun=2026,
            settings={},
        )
        s.add(other)
        await s.flush()
        sec = Section(office_id=other.id, kode="PEM", nama="Seksi Pemerintahan")
        s.add(sec)
        await s.flush()
        kasi = Person(
            office_id=other.id,
            nip="198305072006041012",
            nama="Kasi Lain",
            role="kasi",
            section_id=sec.id,
        )
        s.add(kasi)
        await s.flush()
        s.add(Identity(person_id=kasi.id, channel="telegram", external_id="777"))
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    await chat.new_messages()
    out = await chat.say("777", "/isi")
    assert len(out) == 1 and "tidak ada kertas kerja" in out[0].text
    assert "PEM-1" not in out[0].text
    toast_token = await chat.button_token(KASI, "Isi sekarang")
    from flows.core.messages import Inbound

    reply = await chat.core.handle(Inbound("telegram", "777", "t1", button=toast_token))
    assert "bukan untuk Anda" in reply.toast
