"""The SOP engine through the core (no Telegram): the whole chain, returns, and the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from storage.models import Acting, Cycle, DocumentJob, Event, Person, Worksheet
from tests.flowkit import SMALL_PEM, SMALL_PK, Chat, FakeClock, play, seed_small_office

CAMAT, PLANNER, KASI, SEKCAM = "101", "102", "103", "104"
MONDAY = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 09.00 WIB


def texts_of(out) -> str:  # noqa: ANN001
    return "\n".join(m.text for m in out)


def to(out, address):  # noqa: ANN001, ANN201
    return [m for m in out if m.address == address]


def card(out, address):  # noqa: ANN001, ANN201
    """The newest message with buttons to ``address``."""
    cards = [m for m in out if m.address == address and m.buttons and not m.edit]
    assert cards, f"no card to {address}"
    return cards[-1]


async def cycle_row(db) -> Cycle:  # noqa: ANN001
    async with db.transaction() as s:
        return (await s.scalars(select(Cycle))).one()


async def actions(db) -> list[str]:  # noqa: ANN001
    async with db.transaction() as s:
        return [e.action for e in await s.scalars(select(Event).order_by(Event.id))]


async def start_chain(chat: Chat) -> None:
    out = await chat.say(CAMAT, "/mulai TW III 2026 mohon tepat waktu")
    assert "dimulai" in texts_of(to(out, CAMAT))
    sekcam = card(out, SEKCAM)
    assert sekcam.labels() == ["Teruskan"]
    assert "mohon tepat waktu" in sekcam.text and "Batas waktu" in sekcam.text
    _, out = await chat.tap(SEKCAM, "Teruskan")
    planner = card(out, PLANNER)
    assert planner.labels() == ["Bagikan"]
    assert "Seksi Pemerintahan — Budi: 3 indikator (PEM-1, PEM-2, PEM-4)" in planner.text
    _, out = await chat.tap(PLANNER, "Bagikan")
    assert {m.address for m in out if "Isi sekarang" in m.labels()} == {KASI, PLANNER}


async def test_kebasen_chain_with_returns_at_every_level(db):
    ids = await seed_small_office(db)
    chat = Chat(db, FakeClock(MONDAY))
    await start_chain(chat)
    assert (await cycle_row(db)).step == "sampaikan_data"

    await play(chat, KASI, SMALL_PEM)
    out = await play(chat, PLANNER, SMALL_PK)
    # kebasen-pengumpulan has no verifikasi: once every sheet is in, the planner's rekap step.
    rekap = card(out, PLANNER)
    assert "Rekap sementara" in rekap.text and rekap.labels() == ["Teruskan", "Kembalikan lembar"]
    assert (await cycle_row(db)).step == "olah_data"

    # The planner returns one indicator of Budi's sheet from the rekap step.
    _, out = await chat.tap(PLANNER, "Kembalikan lembar")
    _, out = await chat.tap(PLANNER, "PEM")
    assert "PEM-2" in out[-1].text
    out = await chat.say(PLANNER, "PEM-9: salah")
    assert "tidak ada pada kertas kerja" in out[-1].text
    out = await chat.say(PLANNER, "PEM-2: angka desa belum sesuai register")
    kasi = to(out, KASI)
    assert "angka desa belum sesuai register" in kasi[0].text and "PEM-2" in kasi[0].text
    assert (await cycle_row(db)).step == "sampaikan_data"
    out = await play(chat, KASI, ["/isi", "8", "tap:Lewati", "tap:Lewati", "tap:Kirim"])
    assert (await cycle_row(db)).step == "olah_data"
    async with db.transaction() as s:
        ws = await s.scalar(select(Worksheet).where(Worksheet.person_id == ids["kasi"]))
        assert ws.status == "submitted"

    _, out = await chat.tap(PLANNER, "Teruskan")
    assert card(out, SEKCAM).labels() == ["Setujui", "Kembalikan"]
    # Sekcam returns to the planner (olah_data) with a reason.
    _, out = await chat.tap(SEKCAM, "Kembalikan")
    assert "alasan" in out[-1].text
    out = await chat.say(SEKCAM, "ok")  # too short: nothing changes
    assert "paling sedikit" in out[-1].text
    at = (await cycle_row(db)).step
    out = await chat.say(SEKCAM, "\u200b\u200b\u200b \u2060\u200b\u200b\u200b\u200b\u200b\u200b")
    assert "mengetik teks" in out[-1].text  # invisible-only text is no reason
    assert (await cycle_row(db)).step == at
    out = await chat.say(SEKCAM, "Mohon cek ulang capaian PK-1")
    back = card(out, PLANNER)
    assert "Mohon cek ulang capaian PK-1" in back.text
    assert back.labels() == ["Teruskan", "Kembalikan lembar"]
    _, out = await chat.tap(PLANNER, "Teruskan")
    _, out = await chat.tap(SEKCAM, "Setujui")
    assert card(out, CAMAT).labels() == ["Setujui", "Kembalikan"]
    # The Camat returns once, then approves.
    _, out = await chat.tap(CAMAT, "Kembalikan")
    out = await chat.say(CAMAT, "Lengkapi kendala seksi")
    assert (await cycle_row(db)).step == "olah_data"
    _, out = await chat.tap(PLANNER, "Teruskan")
    _, out = await chat.tap(SEKCAM, "Setujui")
    _, out = await chat.tap(CAMAT, "Setujui")
    cycle = await cycle_row(db)
    assert cycle.step == "input_arsip" and cycle.data.get("final")
    async with db.transaction() as s:
        finals = list(await s.scalars(select(DocumentJob).where(DocumentJob.final.is_(True))))
    assert sorted(j.kind for j in finals) == ["laporan", "rekap"]
    assert all(j.recipients == [ids["camat"]] for j in finals)
    _, out = await chat.tap(PLANNER, "Sudah diinput")
    cycle = await cycle_row(db)
    assert cycle.status == "selesai"
    assert {m.address for m in out if "telah selesai" in m.text} == {CAMAT, SEKCAM, PLANNER, KASI}

    log = await actions(db)
    assert log[0] == "siklus.buka" and log[1] == "siklus.mulai"
    for expected in (
        "langkah.teruskan",
        "langkah.bagikan",
        "lembar.kirim",
        "lembar.kembalikan",
        "langkah.kembalikan",
        "langkah.setujui",
        "siklus.final",
        "siklus.selesai",
    ):
        assert expected in log, expected
    assert log.count("langkah.kembalikan") == 2


async def test_taps_are_checked_on_the_server(db):
    ids = await seed_small_office(db)
    chat = Chat(db, FakeClock(MONDAY))
    out = await chat.say(KASI, "/mulai")
    assert "hanya dapat dilakukan oleh Camat" in out[0].text
    await start_chain(chat)
    # A stale button after a decision changes nothing.
    token = await chat.button_token(PLANNER, "Bagikan")
    from flows.core.messages import Inbound

    before = await actions(db)
    reply = await chat.core.handle(
        Inbound("telegram", PLANNER, "x1", button=token, message_ref="1")
    )
    assert "tidak berlaku" in reply.toast
    assert await actions(db) == before
    # A Kasi cannot tap the Camat's button (the token is the Camat's).
    await play(chat, KASI, SMALL_PEM)
    await play(chat, PLANNER, SMALL_PK)
    await chat.tap(PLANNER, "Teruskan")
    await chat.tap(SEKCAM, "Setujui")
    camat_token = await chat.button_token(CAMAT, "Setujui")
    reply = await chat.core.handle(Inbound("telegram", KASI, "x2", button=camat_token))
    assert "bukan untuk Anda" in reply.toast
    assert (await cycle_row(db)).step == "setujui_camat"
    # A double tap makes one transition.
    toast1, _ = await chat.tap(CAMAT, "Setujui")
    reply = await chat.core.handle(Inbound("telegram", CAMAT, "x3", button=camat_token))
    assert "tidak berlaku" in reply.toast or "sudah diputuskan" in reply.toast
    assert (await actions(db)).count("langkah.setujui") == 2  # Sekcam once, Camat once
    assert ids


async def test_two_approvers_at_once_make_one_transition(db):
    ids = await seed_small_office(db)
    chat = Chat(db, FakeClock(MONDAY))
    async with db.transaction() as s:
        s.add(
            Acting(
                office_id=1,
                person_id=ids["perencana"],
                role="sekcam",
                kind="Plh",
                starts=date(2026, 10, 1),
                ends=date(2026, 10, 31),
                reason="cuti",
                created_at=MONDAY,
            )
        )
    out = await chat.say(CAMAT, "/mulai TW III 2026")
    both = {m.address for m in out if m.labels() == ["Teruskan"]}
    assert both == {SEKCAM, PLANNER}
    import asyncio

    from flows.core.messages import Inbound

    t1 = await chat.button_token(SEKCAM, "Teruskan")
    t2 = await chat.button_token(PLANNER, "Teruskan")
    r1, r2 = await asyncio.gather(
        chat.core.handle(Inbound("telegram", SEKCAM, "a", button=t1)),
        chat.core.handle(Inbound("telegram", PLANNER, "b", button=t2)),
    )
    assert (await actions(db)).count("langkah.teruskan") == 1
    async with db.transaction() as s:
        ev = await s.scalar(select(Event).where(Event.action == "langkah.teruskan"))
        if ev.actor_id == ids["perencana"]:
            assert ev.acting_as == "Plh Sekcam"
        person = await s.get(Person, ev.actor_id)
    assert person is not None
    assert (await cycle_row(db)).step == "analisa_surat"


async def use_preset(db, preset: str) -> None:  # noqa: ANN001
    from storage.models import Office

    async with db.transaction() as s:
        office = (await s.scalars(select(Office))).one()
        office.preset = preset


async def test_verification_returns_single_indicators_and_the_planners_sheet_goes_to_sekcam(db):
    ids = await seed_small_office(db)
    await use_preset(db, "setwan-jambi")
    chat = Chat(db, FakeClock(MONDAY))
    await chat.say(CAMAT, "/mulai TW III 2026")
    _, out = await chat.tap(PLANNER, "Bagikan")
    out = await play(chat, KASI, SMALL_PEM)
    check = card(out, PLANNER)
    assert check.labels() == ["Terima", "Kembalikan"] and "Budi" in check.text
    status = texts_of(await chat.say(KASI, "/status"))
    assert "Menunggu: Maya" in status and "Menunggu pemeriksaan: Maya" in status
    assert "Kertas kerja Anda: dikirim, menunggu pemeriksaan" in status
    _, out = await chat.tap(PLANNER, "Kembalikan")
    assert "PEM-1, PEM-2, PEM-4" in out[-1].text  # the codes on this sheet (PEM-3 not measured)
    out = await chat.say(PLANNER, "PEM-2, PEM-4: mohon sesuaikan dengan register")
    assert "PEM-2, PEM-4" in to(out, KASI)[0].text
    async with db.transaction() as s:
        from storage.models import Entry, Indicator

        rows = await s.execute(
            select(Indicator.kode, Entry.editable, Entry.filled, Entry.realisasi)
            .join(Entry, Entry.indicator_id == Indicator.id)
            .order_by(Indicator.kode)
        )
        by_code = {k: (e, f, r) for k, e, f, r in rows.all()}
    assert by_code["PEM-1"][:2] == (False, True)  # frozen, kept
    assert by_code["PEM-2"][:2] == (True, False) and by_code["PEM-2"][2] == 7  # value kept
    assert (await cycle_row(db)).step == "isi_kertas_kerja"
    out = await play(
        chat,
        KASI,
        [
            "tap:Perbaiki sekarang",
            "9",
            "tap:Lewati",
            "tap:Lewati",
            "3",
            "tap:Lewati",
            "tap:Lewati",
            "tap:Kirim",
        ],
    )
    _, out = await chat.tap(PLANNER, "Terima")
    assert "Diterima oleh Maya" in texts_of(out)
    assert any("diterima" in m.text for m in to(out, KASI))
    toast, _ = await chat.tap(PLANNER, "Terima")  # the same (closed) card again
    assert toast
    # The planner's own sheet is checked by the Sekcam, not by the planner.
    out = await play(chat, PLANNER, SMALL_PK)
    assert card(out, SEKCAM).labels() == ["Terima", "Kembalikan"]
    assert not [m for m in to(out, PLANNER) if m.labels() == ["Terima", "Kembalikan"]]
    _, out = await chat.tap(SEKCAM, "Terima")
    assert (await cycle_row(db)).step == "rekapitulasi"
    _, out = await chat.tap(PLANNER, "Teruskan")
    cycle = await cycle_row(db)
    assert cycle.status == "selesai" and cycle.data.get("final")
    status = texts_of(await chat.say(CAMAT, "/status"))
    assert "Selesai" in status and "Seksi Pemerintahan" in status and "diterima" in status
    # Reopening: only the planner, only with a reason, and it is logged.
    out = await chat.say(KASI, "/bukakembali ada yang salah")
    assert "hanya dapat dilakukan" in out[0].text
    out = await chat.say(PLANNER, "/bukakembali")
    assert "alasan" in out[0].text.lower()
    out = await chat.say(PLANNER, "/bukakembali TW III 2026 angka PK-1 keliru")
    assert any("dibuka kembali" in m.text for m in to(out, CAMAT))
    cycle = await cycle_row(db)
    assert (
        cycle.status == "running" and cycle.step == "rekapitulasi" and not cycle.data.get("final")
    )
    async with db.transaction() as s:
        ev = await s.scalar(select(Event).where(Event.action == "siklus.buka_kembali"))
        assert ev.reason == "angka PK-1 keliru" and ev.actor_id == ids["perencana"]


async def test_a_meeting_is_set_with_date_time_and_place(db):
    await seed_small_office(db)
    await use_preset(db, "kertosono")
    chat = Chat(db, FakeClock(MONDAY))
    await chat.say(CAMAT, "/mulai TW III 2026")
    await chat.tap(PLANNER, "Selesai")
    await chat.tap(PLANNER, "Bagikan")
    _, out = await chat.tap(SEKCAM, "Atur rapat")
    assert "Tanggal" in out[-1].text
    assert "belum dapat dibaca" in (await chat.say(SEKCAM, "besok"))[-1].text
    assert "tidak dapat dipakai" in (await chat.say(SEKCAM, "04-10-2026"))[-1].text  # Sunday
    assert "Jam" in (await chat.say(SEKCAM, "Rabu, 7 Oktober 2026"))[-1].text
    assert "belum dapat dibaca" in (await chat.say(SEKCAM, "25.00"))[-1].text
    await chat.say(SEKCAM, "9.30")
    out = await chat.say(SEKCAM, "Aula Kecamatan")
    invite = to(out, KASI)[0].text
    assert "Rabu, 7 Oktober 2026" in invite and "09.30 WIB" in invite and "Aula Kecamatan" in invite
    assert (await cycle_row(db)).step == "rapat_laksana"


def test_reason_codes_and_meeting_parsing():
    from datetime import date as d

    from flows.sop.review import split_reason
    from flows.sop.step_talk import parse_date, parse_time

    codes = ["PEM-1", "PEM-2"]
    assert split_reason("PEM-2: angka salah", codes) == (["PEM-2"], "angka salah")
    assert split_reason("pem-1, PEM-2: cek", codes) == (["PEM-1", "PEM-2"], "cek")
    assert split_reason("PEM-1 dan PEM-2: cek", codes) == (["PEM-1", "PEM-2"], "cek")
    assert split_reason("PEM-9: x", codes) is None
    assert split_reason("Catatan: mohon cek semua", codes) == ([], "Catatan: mohon cek semua")
    assert parse_date("7 Okt 2026") == d(2026, 10, 7)
    assert parse_date("07/10/2026") == d(2026, 10, 7)
    assert parse_date("31-02-2026") is None
    assert parse_time("pukul 13.00 WIB") == "13.00" and parse_time("9") == "09.00"
    assert parse_time("24.00") is None


async def test_a_sekcam_of_another_office_cannot_act_on_this_one(db):
    from flows.core.messages import Inbound
    from storage.models import ButtonToken, Identity, Office

    await seed_small_office(db)
    chat = Chat(db, FakeClock(MONDAY))
    await chat.say(CAMAT, "/mulai TW III 2026")
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
        stranger = Person(
            office_id=other.id,
            nip="197001012000031001",
            nama="Sekcam Lain",
            jabatan="Sekretaris Kecamatan",
            role="sekcam",
        )
        s.add(stranger)
        await s.flush()
        s.add(Identity(person_id=stranger.id, channel="telegram", external_id="999"))
        real = await s.scalar(select(ButtonToken).where(ButtonToken.action == "sop.lanjut"))
        # Even a token issued to them with this cycle's arguments (a bug, a forged row) fails.
        s.add(
            ButtonToken(
                token="forgedtoken1",
                person_id=stranger.id,
                action=real.action,
                args=dict(real.args),
                group_key="",
                created_at=MONDAY,
            )
        )
        real_token = real.token
    before = await actions(db)
    reply = await chat.core.handle(Inbound("telegram", "999", "o1", button=real_token))
    assert "bukan untuk Anda" in reply.toast
    reply = await chat.core.handle(Inbound("telegram", "999", "o2", button="forgedtoken1"))
    assert "hanya dapat dilakukan oleh Sekcam" in reply.toast
    assert await actions(db) == before
    assert (await cycle_row(db)).step == "disposisi_sekcam"
