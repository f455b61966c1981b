"""Administration from the chat (issue 17): Plt / Plh, invites, moved people, unregistered."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Acting, Cycle, Event, Identity, InviteCode, Office, Person
from tests.flowkit import Chat, seed_small_office

CAMAT, PLANNER, KASI, SEKCAM, ADMIN = "101", "102", "103", "104", "105"


async def add_admin(db, office_id: int) -> int:  # noqa: ANN001
    async with db.transaction() as s:
        admin = Person(
            office_id=office_id, nip="199001012015031001", nama="Andi Admin", role="admin"
        )
        newcomer = Person(
            office_id=office_id,
            nip="199202022019032002",
            nama="Nina Baru",
            jabatan="Kasi Trantib",
            role="staf",
        )
        s.add_all([admin, newcomer])
        await s.flush()
        s.add(Identity(person_id=admin.id, channel="telegram", external_id=ADMIN))
        return admin.id


async def events(db, action: str) -> list[Event]:  # noqa: ANN001
    async with db.transaction() as s:
        return list(await s.scalars(select(Event).where(Event.action == action)))


async def test_only_an_admin_may_and_bad_input_changes_nothing(db):
    ids = await seed_small_office(db)
    await add_admin(db, ids["office"])
    chat = Chat(db)
    out = await chat.say(KASI, "/plh Sri camat 05-10-2026 09-10-2026")
    assert "untuk admin kantor" in out[0].text
    out = await chat.say(PLANNER, "/belumdaftar")
    assert "untuk admin kantor" in out[0].text
    out = await chat.say(ADMIN, "/plh Sri camat 31-02-2026 09-10-2026")
    assert "Plt/Plh tidak ditetapkan" in out[0].text and "31-02-2026" in out[0].text
    out = await chat.say(ADMIN, "/plh Siapa camat 05-10-2026 09-10-2026")
    assert 'Tidak ada pegawai dengan NIP atau nama "Siapa"' in out[0].text
    out = await chat.say(ADMIN, "/plh Sri")
    assert "Cara menetapkan Plh" in out[0].text
    out = await chat.say(ADMIN, "/nonaktifkan Budi")
    assert "Tulis alasannya" in out[0].text
    async with db.transaction() as s:
        assert list(await s.scalars(select(Acting))) == []
        budi = await s.get(Person, ids["kasi"])
        assert budi is not None and budi.active
    assert await events(db, "plt.tetapkan") == []


async def test_plh_set_from_the_chat_acts_then_ends(db):
    ids = await seed_small_office(db)
    admin_id = await add_admin(db, ids["office"])
    chat = Chat(db)
    out = await chat.say(ADMIN, "/plh Sri Sekcam camat hari ini 09-10-2026 Camat cuti")
    assert "Plh Camat ditetapkan oleh Andi Admin: Sri Sekcam" in out[0].text
    assert {m.address for m in out} == {ADMIN, SEKCAM}
    [ev] = await events(db, "plt.tetapkan")
    assert ev.actor_id == admin_id and ev.channel == "telegram" and ev.reason == "Camat cuti"

    # The Plh gives the order the Camat's step 1 asks for.
    out = await chat.say(SEKCAM, "/mulai TW III 2026")
    assert "dimulai" in out[-1].text.lower() or "Pengumpulan" in out[-1].text
    async with db.transaction() as s:
        cycle = await s.scalar(select(Cycle))
        assert cycle is not None and cycle.started_by == ids["sekcam"]
        start = await s.scalar(select(Event).where(Event.action == "siklus.mulai"))
        assert start is not None and start.acting_as == "Plh Camat"
        acting = await s.scalar(select(Acting))
        assert acting is not None
        acting_id = acting.id

    out = await chat.say(ADMIN, f"/akhiriplt {acting_id} Camat sudah kembali")
    assert "diakhiri oleh Andi Admin" in out[0].text
    async with db.transaction() as s:
        assert await s.get(Acting, acting_id) is None  # began today: cancelled
    [ended] = await events(db, "plt.akhiri")
    assert ended.actor_id == admin_id and ended.data["dibatalkan"] is True
    out = await chat.say(ADMIN, f"/akhiriplt {acting_id}")
    assert "tidak ditemukan" in out[0].text


async def test_invite_deactivate_and_unregistered(db):
    ids = await seed_small_office(db)
    admin_id = await add_admin(db, ids["office"])
    chat = Chat(db)
    out = await chat.say(ADMIN, "/belumdaftar")
    assert "Nina Baru, Kasi Trantib (belum ada kode undangan)" in out[0].text
    assert "Budi" not in out[0].text

    out = await chat.say(ADMIN, "/undangan nina")
    assert "Kode undangan baru untuk Nina Baru" in out[0].text
    async with db.transaction() as s:
        code = await s.scalar(select(InviteCode.code))
    assert code and code in out[0].text
    [ev] = await events(db, "undangan.baru")
    assert ev.actor_id == admin_id
    out = await chat.say(ADMIN, "/belumdaftar")
    assert "Nina Baru, Kasi Trantib\n" in out[0].text + "\n"

    out = await chat.say(ADMIN, "/nonaktifkan 19830507 200604 1 011 pindah ke Kecamatan Lain")
    assert "Budi (NIP 19830507 200604 1 011) dinonaktifkan: pindah ke Kecamatan Lain" in (
        out[0].text
    )
    [ev] = await events(db, "orang.nonaktif")
    assert ev.actor_id == admin_id and ev.reason == "pindah ke Kecamatan Lain"
    out = await chat.say(KASI, "/isi")
    assert "belum terdaftar" in out[0].text.lower() or "/start" in out[0].text
    out = await chat.say(ADMIN, "/nonaktifkan Andi Admin bosan")
    assert "diri sendiri" in out[0].text


async def test_planner_administers_where_the_office_file_says(db):
    ids = await seed_small_office(db)
    chat = Chat(db)
    out = await chat.say(PLANNER, "/bantuan")
    assert "/belumdaftar" not in out[0].text
    async with db.transaction() as s:
        office = await s.get(Office, ids["office"])
        assert office is not None
        office.settings = {**office.settings, "admin_perencana": True}
    out = await chat.say(PLANNER, "/bantuan")
    assert "/belumdaftar" in out[0].text and "/plt" in out[0].text
    out = await chat.say(PLANNER, "/belumdaftar")
    assert "sudah mendaftar" in out[0].text
