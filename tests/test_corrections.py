"""Corrections after Kirim ("Minta ubah") and the history of every value (/riwayat)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from storage.models import (
    Acting,
    ButtonToken,
    Cycle,
    Entry,
    EntryChange,
    Event,
    Identity,
    Indicator,
    Office,
    Person,
    Section,
    Worksheet,
)
from tests.flowkit import SMALL_PEM, SMALL_PK, Chat, FakeClock, play, seed_small_office

CAMAT, PLANNER, KASI, SEKCAM, KASI2 = "101", "102", "103", "104", "105"
STRANGER = "999"
MONDAY = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 09.00 WIB


def texts_of(out) -> str:  # noqa: ANN001
    return "\n".join(m.text for m in out)


def to(out, address):  # noqa: ANN001, ANN201
    return [m for m in out if m.address == address]


async def use_preset(db, preset: str) -> None:  # noqa: ANN001
    async with db.transaction() as s:
        (await s.scalars(select(Office))).one().preset = preset


async def add_second_kasi(db) -> int:  # noqa: ANN001
    """Another section's Kasi (no indicator of PEM), reachable on Telegram as KASI2."""
    async with db.transaction() as s:
        office = (await s.scalars(select(Office))).one()
        tra = Section(office_id=office.id, kode="TRA", nama="Seksi Trantib")
        s.add(tra)
        await s.flush()
        p = Person(
            office_id=office.id,
            nip="198901012010011001",
            nama="Tono",
            jabatan="Kasi Trantib",
            role="kasi",
            section_id=tra.id,
        )
        s.add(p)
        await s.flush()
        s.add(Identity(person_id=p.id, channel="telegram", external_id=KASI2))
        return p.id


async def sheet_of(db, person_id: int) -> Worksheet:  # noqa: ANN001
    async with db.transaction() as s:
        return (await s.scalars(select(Worksheet).where(Worksheet.person_id == person_id))).one()


async def entry_states(db) -> dict[str, tuple[bool, bool, Decimal | None]]:  # noqa: ANN001
    """kode → (editable, filled, realisasi)."""
    async with db.transaction() as s:
        rows = await s.execute(select(Entry, Indicator.kode).join(Indicator))
        return {k: (e.editable, e.filled, e.realisasi) for e, k in rows}


async def history(db, kode: str) -> list[EntryChange]:  # noqa: ANN001
    async with db.transaction() as s:
        return list(
            await s.scalars(
                select(EntryChange)
                .join(Entry, Entry.id == EntryChange.entry_id)
                .join(Indicator, Indicator.id == Entry.indicator_id)
                .where(Indicator.kode == kode)
                .order_by(EntryChange.id)
            )
        )


async def step(db) -> str:  # noqa: ANN001
    async with db.transaction() as s:
        return (await s.scalars(select(Cycle))).one().step


async def forge(db, label_owner: str, action: str, new_owner: str) -> None:  # noqa: ANN001
    """Give ``new_owner`` a copy of ``label_owner``'s newest ``action`` button (a forged tap)."""
    async with db.transaction() as s:

        async def person_of(address: str) -> int:
            return (
                await s.scalars(select(Identity.person_id).where(Identity.external_id == address))
            ).one()

        src = (
            await s.scalars(
                select(ButtonToken)
                .where(
                    ButtonToken.person_id == await person_of(label_owner),
                    ButtonToken.action == action,
                )
                .order_by(ButtonToken.created_at.desc(), ButtonToken.token)
            )
        ).first()
        assert src is not None
        s.add(
            ButtonToken(
                token=f"forged{action[:8]}",
                person_id=await person_of(new_owner),
                action=src.action,
                args=dict(src.args),
                group_key="",
                created_at=src.created_at,
            )
        )


async def tap_token(chat: Chat, address: str, token: str):  # noqa: ANN201
    from flows.core.messages import Inbound

    reply = await chat.core.handle(
        Inbound("telegram", address, chat._key(), button=token, message_ref="1")
    )
    return reply.toast, await chat.new_messages()


async def ask_correction(chat: Chat, kode: str, reason: str):  # noqa: ANN201
    out = await chat.say(KASI, "/isi")
    assert "sudah dikirim" in out[-1].text and out[-1].labels() == ["Minta ubah"]
    _, out = await chat.tap(KASI, "Minta ubah")
    assert out[-1].labels() == ["PEM-1", "PEM-2", "PEM-4"]  # PEM-3 is not measured in TW III
    _, out = await chat.tap(KASI, kode)
    assert "alasan" in out[-1].text
    return await chat.say(KASI, reason)


async def test_allowed_in_verification_reopens_one_entry_and_keeps_its_history(db):
    ids = await seed_small_office(db)
    kasi2 = await add_second_kasi(db)
    await use_preset(db, "setwan-jambi")  # a verifikasi step: the planner checks Budi's sheet
    chat = Chat(db, FakeClock(MONDAY))
    await chat.say(CAMAT, "/mulai TW III 2026")
    await chat.tap(PLANNER, "Bagikan")
    await play(chat, KASI, SMALL_PEM)
    await chat.tap(PLANNER, "Terima")  # accepted: a correction is still possible
    assert (await sheet_of(db, ids["kasi"])).status == "accepted"

    # Bad input first: a reason too short, and a photo instead of a reason, change nothing.
    out = await ask_correction(chat, "PEM-2", "ab")
    assert "paling sedikit 3 huruf" in out[-1].text
    out = await chat.send_file(KASI, b"\xff\xd8jpeg", "foto.jpg")
    assert "paling sedikit 3 huruf" in out[-1].text
    chat.clock.advance(minutes=5)
    out = await chat.say(KASI, "Salah ketik, register mencatat 8 desa")
    assert "dikirim ke Maya" in to(out, KASI)[-1].text
    request = to(out, PLANNER)[-1]
    assert request.labels() == ["Izinkan", "Tolak"]
    assert "PEM-2" in request.text and "Salah ketik, register mencatat 8 desa" in request.text
    # The same entry cannot be asked twice while the first request waits.
    out = await ask_correction(chat, "PEM-2", "Sekali lagi mohon")
    assert "masih menunggu" in out[-1].text
    assert len(to(out, PLANNER)) == 0

    # Nobody but the sheet's verifier may decide: a Kasi with a forged Izinkan is refused.
    await forge(db, PLANNER, "ubah.izinkan", KASI2)
    toast, out = await tap_token(chat, KASI2, "forgedubah.izi")
    assert "hanya dapat dilakukan oleh Kasubbag" in toast
    assert (await sheet_of(db, ids["kasi"])).status == "accepted"
    # A stranger's tap is a stranger's tap.
    token = await chat.button_token(PLANNER, "Izinkan")
    _, out = await tap_token(chat, STRANGER, token)
    assert "belum terdaftar" in texts_of(out)

    chat.clock.advance(minutes=5)
    toast, out = await chat.tap(PLANNER, "Izinkan")
    assert "PEM-2 dibuka kembali" in to(out, PLANNER)[-1].text
    told = to(out, KASI)[-1]
    assert "diizinkan oleh Maya" in told.text and told.labels() == ["Perbaiki sekarang"]
    assert any(m.edit and "Diizinkan oleh Maya" in m.text for m in out)
    # A double tap, or a Tolak after the decision, changes nothing.
    toast, _ = await chat.tap(PLANNER, "Izinkan")
    assert "sudah tidak berlaku" in toast and "Diizinkan oleh Maya" in toast
    toast, _ = await chat.tap(PLANNER, "Tolak")
    assert "sudah tidak berlaku" in toast
    ws = await sheet_of(db, ids["kasi"])
    assert ws.status == "returned" and ws.return_reason == "Salah ketik, register mencatat 8 desa"
    states = await entry_states(db)
    assert states["PEM-2"][:2] == (True, False) and states["PEM-2"][2] == 7
    assert states["PEM-1"][:2] == (False, True) and states["PEM-4"][:2] == (False, True)
    assert await step(db) == "isi_kertas_kerja"  # back to filling

    # The Kasi enters the new value and sends; the planner verifies it as usual.
    chat.clock.advance(minutes=5)
    out = await play(
        chat, KASI, ["tap:Perbaiki sekarang", "8", "tap:Lewati", "tap:Lewati", "tap:Kirim"]
    )
    assert to(out, PLANNER)[-1].labels() == ["Terima", "Kembalikan"]
    assert (await sheet_of(db, ids["kasi"])).status == "submitted"
    assert (await entry_states(db))["PEM-2"] == (False, True, 8)

    rows = await history(db, "PEM-2")
    assert [(r.field, r.old, r.new, r.reason) for r in rows] == [
        ("realisasi", None, "7", ""),
        ("realisasi", "7", "8", "Salah ketik, register mencatat 8 desa"),
    ]
    assert all(r.actor_id == ids["kasi"] and r.channel == "telegram" for r in rows)
    assert rows[1].at == MONDAY.replace(minute=15)
    async with db.transaction() as s:
        log = [e.action for e in await s.scalars(select(Event).order_by(Event.id))]
    assert log.count("lembar.minta_ubah") == 1 and log.count("lembar.ubah_diizinkan") == 1

    # /riwayat: the Kasi, the planner, the Sekcam and the Camat read it; another Kasi may not,
    # until they act as Camat (Plh).
    for who in (KASI, PLANNER, SEKCAM, CAMAT):
        text = texts_of(await chat.say(who, "/riwayat pem-2"))
        assert "Riwayat nilai PEM-2" in text and "Realisasi: 7 → 8" in text, who
        assert "Salah ketik, register mencatat 8 desa" in text and "Telegram" in text
        assert "Realisasi: - → 7" in text and "09.15 WIB" in text
    assert "hanya dapat dilihat" in texts_of(await chat.say(KASI2, "/riwayat PEM-2"))
    async with db.transaction() as s:
        s.add(
            Acting(
                office_id=ids["office"],
                person_id=kasi2,
                role="camat",
                kind="Plh",
                starts=date(2026, 10, 5),
                ends=date(2026, 10, 6),
                created_at=MONDAY,
            )
        )
    assert "Realisasi: 7 → 8" in texts_of(await chat.say(KASI2, "/riwayat PEM-2"))
    out = await chat.say(KASI, "/riwayat XYZ-9")
    assert 'kode "XYZ-9" tidak ditemukan' in out[-1].text and "/rekap" in out[-1].text
    assert "contoh: /riwayat PEM-1" in (await chat.say(KASI, "/riwayat"))[-1].text
    assert "belum terdaftar" in texts_of(await chat.say(STRANGER, "/riwayat PEM-2"))


async def test_a_refused_correction_changes_no_value(db):
    ids = await seed_small_office(db)
    chat = Chat(db, FakeClock(MONDAY))
    await chat.say(CAMAT, "/mulai TW III 2026")
    await chat.tap(SEKCAM, "Teruskan")
    await chat.tap(PLANNER, "Bagikan")
    await play(chat, KASI, SMALL_PEM)
    before = await entry_states(db)
    out = await ask_correction(chat, "PEM-1", "Penyebut seharusnya 60 layanan")
    # kebasen-pengumpulan has no verifikasi step: the rekap's actor (the planner) decides.
    assert to(out, PLANNER)[-1].labels() == ["Izinkan", "Tolak"]
    _, out = await chat.tap(PLANNER, "Tolak")
    assert "alasan menolak" in out[-1].text
    out = await chat.say(PLANNER, "  ")
    assert "paling sedikit 3 huruf" in out[-1].text
    out = await chat.say(PLANNER, "Angka sudah sesuai register layanan")
    kasi = to(out, KASI)[-1].text
    assert "ditolak oleh Maya" in kasi and "Angka sudah sesuai register layanan" in kasi
    assert "ditolak" in to(out, PLANNER)[-1].text
    toast, _ = await chat.tap(PLANNER, "Izinkan")  # decided: refused
    assert "Ditolak oleh Maya" in toast
    assert await entry_states(db) == before
    assert (await sheet_of(db, ids["kasi"])).status == "submitted"
    assert [r.new for r in await history(db, "PEM-1") if r.field == "realisasi"] == ["96.00"]
    async with db.transaction() as s:
        ev = (await s.scalars(select(Event).where(Event.action == "lembar.ubah_ditolak"))).one()
    assert ev.reason == "Angka sudah sesuai register layanan"
    assert ev.data["permintaan"] == "Penyebut seharusnya 60 layanan"
    # A new request for the same entry is possible once the first one is decided.
    out = await ask_correction(chat, "PEM-1", "Sudah dicek ulang, mohon dibuka")
    assert to(out, PLANNER)[-1].labels() == ["Izinkan", "Tolak"]


async def test_allowed_at_the_rekap_the_cycle_goes_back_to_filling(db):
    await seed_small_office(db)
    chat = Chat(db, FakeClock(MONDAY))
    await chat.say(CAMAT, "/mulai TW III 2026")
    await chat.tap(SEKCAM, "Teruskan")
    await chat.tap(PLANNER, "Bagikan")
    await play(chat, KASI, SMALL_PEM)
    await play(chat, PLANNER, SMALL_PK)
    assert await step(db) == "olah_data"
    await ask_correction(chat, "PEM-4", "Rata-rata seharusnya 2 hari")
    _, out = await chat.tap(PLANNER, "Izinkan")
    assert await step(db) == "sampaikan_data"
    assert any(m.edit and "Diizinkan oleh Maya" in m.text and "Rekap" in m.text for m in out)
    toast, _ = await chat.tap(PLANNER, "Teruskan")  # the rekap card closed with the decision
    assert "sudah tidak berlaku" in toast
    out = await play(
        chat, KASI, ["tap:Perbaiki sekarang", "2", "tap:Lewati", "tap:Lewati", "tap:Kirim"]
    )
    assert await step(db) == "olah_data"
    rekap = [m for m in to(out, PLANNER) if m.buttons]
    assert rekap[-1].labels() == ["Teruskan", "Kembalikan lembar"]
    rows = await history(db, "PEM-4")
    assert [(r.old, r.new, r.reason) for r in rows] == [
        (None, "2.5", ""),
        ("2.5", "2", "Rata-rata seharusnya 2 hari"),
    ]


async def test_no_correction_once_the_rekap_is_with_the_leaders_or_final(db):
    await seed_small_office(db)
    chat = Chat(db, FakeClock(MONDAY))
    await chat.say(CAMAT, "/mulai TW III 2026")
    await chat.tap(SEKCAM, "Teruskan")
    await chat.tap(PLANNER, "Bagikan")
    await play(chat, KASI, SMALL_PEM)
    await play(chat, PLANNER, SMALL_PK)
    out = await chat.say(KASI, "/isi")
    assert out[-1].labels() == ["Minta ubah"]
    await chat.tap(PLANNER, "Teruskan")  # the rekap goes to the Sekcam
    out = await chat.say(KASI, "/isi")
    assert "sudah diteruskan ke pimpinan" in out[-1].text and out[-1].labels() == []
    toast, out = await chat.tap(KASI, "Minta ubah")  # the older button
    assert "sudah diteruskan ke pimpinan" in toast
    await chat.tap(SEKCAM, "Setujui")
    await chat.tap(CAMAT, "Setujui")  # final
    out = await chat.say(KASI, "/isi")
    assert "sudah final" in out[-1].text and "/bukakembali" in out[-1].text
    assert out[-1].labels() == []
    # After /bukakembali (at the rekap) the Kasi may ask again.
    await chat.say(PLANNER, "/bukakembali data seksi pemerintahan keliru")
    out = await chat.say(KASI, "/isi")
    assert out[-1].labels() == ["Minta ubah"]


async def test_batal_while_typing_the_reason_sends_nothing(db):
    await seed_small_office(db)
    chat = Chat(db, FakeClock(MONDAY))
    await chat.say(CAMAT, "/mulai TW III 2026")
    await chat.tap(SEKCAM, "Teruskan")
    await chat.tap(PLANNER, "Bagikan")
    await play(chat, KASI, SMALL_PEM)
    await chat.say(KASI, "/isi")
    await chat.tap(KASI, "Minta ubah")
    await chat.tap(KASI, "PEM-2")
    out = await chat.say(KASI, "/batal")
    assert to(out, PLANNER) == []
    out = await chat.say(KASI, "ini bukan alasan lagi")
    assert to(out, PLANNER) == []
    async with db.transaction() as s:
        assert (
            await s.scalars(select(Event).where(Event.action == "lembar.minta_ubah"))
        ).first() is None


async def test_a_correction_from_whatsapp_is_recorded_with_its_channel(db):
    from flows.core.messages import Inbound

    ids = await seed_small_office(db)
    wa = "6281200000103"
    async with db.transaction() as s:
        s.add(Identity(person_id=ids["kasi"], channel="whatsapp", external_id=wa, phone=wa))
    chat = Chat(db, FakeClock(MONDAY))
    await chat.say(CAMAT, "/mulai TW III 2026")
    await chat.tap(SEKCAM, "Teruskan")
    await chat.tap(PLANNER, "Bagikan")
    await play(chat, KASI, SMALL_PEM)

    async def wa_say(text: str, command: str = "", args: str = "") -> list:  # noqa: ANN202
        await chat.core.handle(
            Inbound("whatsapp", wa, chat._key(), text=text, command=command, args=args)
        )
        return await chat.new_messages()

    async def wa_tap(label: str) -> list:  # noqa: ANN202
        try:
            token = await chat.button_token(wa, label)
        except AssertionError:  # a message sent unprompted goes to the person's first channel
            token = await chat.button_token(KASI, label)
        await chat.core.handle(Inbound("whatsapp", wa, chat._key(), button=token))
        return await chat.new_messages()

    out = await wa_say("", command="isi")
    assert to(out, wa)[-1].labels() == ["Minta ubah"]
    await wa_tap("Minta ubah")
    await wa_tap("PEM-2")
    await wa_say("Register desa terlambat masuk")
    await chat.tap(PLANNER, "Izinkan")
    for step_ in ("Perbaiki sekarang", "8", "Lewati", "Lewati", "Kirim"):
        out = await (wa_say(step_) if step_.isdigit() else wa_tap(step_))
    assert "sudah dikirim" in texts_of(to(out, wa))
    rows = await history(db, "PEM-2")
    assert [(r.old, r.new, r.channel) for r in rows] == [
        (None, "7", "telegram"),
        ("7", "8", "whatsapp"),
    ]
    text = texts_of(await chat.say(PLANNER, "/riwayat PEM-2"))
    assert "Realisasi: 7 → 8" in text and "WhatsApp" in text and "Telegram" in text


async def test_the_planners_own_sheet_is_decided_by_the_sekcam_and_evidence_is_in_the_history(db):
    await seed_small_office(db)
    chat = Chat(db, FakeClock(MONDAY))
    await chat.say(CAMAT, "/mulai TW III 2026")
    await chat.tap(SEKCAM, "Teruskan")
    await chat.tap(PLANNER, "Bagikan")
    await play(chat, PLANNER, SMALL_PK)
    out = await chat.say(PLANNER, "/isi")
    assert out[-1].labels() == ["Minta ubah"]
    _, out = await chat.tap(PLANNER, "Minta ubah")
    assert out[-1].labels() == ["PK-1"]
    await chat.tap(PLANNER, "PK-1")
    out = await chat.say(PLANNER, "Satu laporan belum terhitung")
    assert to(out, SEKCAM)[-1].labels() == ["Izinkan", "Tolak"]  # never the planner herself
    assert not [m for m in to(out, PLANNER) if m.labels() == ["Izinkan", "Tolak"]]
    await chat.tap(SEKCAM, "Izinkan")
    out = await play(chat, PLANNER, ["tap:Perbaiki sekarang", "4", "tap:Lewati"])
    out = await chat.send_file(PLANNER, b"\xff\xd8laporan", "laporan_tw3.jpg")
    assert "Bukti diterima" in out[0].text
    await chat.tap(PLANNER, "Kirim")
    rows = await history(db, "PK-1")
    assert [(r.field, r.old, r.new, r.reason) for r in rows] == [
        ("realisasi", None, "3", ""),
        ("realisasi", "3", "4", "Satu laporan belum terhitung"),
        ("bukti", None, "laporan_tw3.jpg", "Satu laporan belum terhitung"),
    ]
    text = texts_of(await chat.say(SEKCAM, "/riwayat PK-1"))
    assert "Bukti dukung: - → laporan_tw3.jpg" in text
