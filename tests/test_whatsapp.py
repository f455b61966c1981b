"""WhatsApp end to end in one process: the real bootstrap (WhatsApp only) with its webhook
server and pywa sender, against the Graph API emulator over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import yaml
from sqlalchemy import func, select

from bot.bootstrap import run_telegram
from bot.offline.wa_emulator import GraphEmulator, sign
from bot.settings import Settings
from flows.core.context import Ctx
from flows.core.messages import Button
from flows.core.people import normalize_phone
from flows.setup.office_file import parse_office
from flows.setup.office_import import import_office
from handlers.ports import DeliveryJob
from handlers.whatsapp.sender import cut_titles
from storage.db import Database
from storage.models import Event, Identity, Outbox, Person
from tests.conftest import SAMPLE_OFFICE
from tests.flowkit import FakeClock

SECRET = "app-secret-for-tests"
START = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Office:
    """The sample office with two people on WhatsApp: one by telepon, one by code."""

    def __init__(self) -> None:
        self.data = yaml.safe_load(SAMPLE_OFFICE.read_text(encoding="utf-8"))
        people = self.data["pegawai"]
        for p in people:
            p.pop("telepon", None)
            p.pop("telegram_id", None)
        people[1]["telepon"] = "0812-3456-7890"  # the Sekcam, bound by phone
        self.sekcam = people[1]["nama"]
        self.kasi = people[3]["nama"]


@pytest.fixture
async def wa(db_url: str) -> AsyncIterator[tuple[GraphEmulator, FakeClock, Database, dict]]:
    clock = FakeClock(START)
    emu = GraphEmulator(app_secret=SECRET, clock=clock.now)
    await emu.start()
    port = _free_port()
    emu.webhook_url = f"http://127.0.0.1:{port}/whatsapp"
    office = Office()
    db = Database(db_url)
    from storage.migrate import upgrade

    await upgrade(db.engine)
    async with db.transaction() as s:
        report = await import_office(s, parse_office(office.data), now=START)
    codes = {i.nama: i.kode for i in report.invites}
    settings = Settings(
        _env_file=None,
        telegram_token=None,
        database_url=db_url,
        whatsapp_phone_id=emu.phone_id,
        whatsapp_token="wa-token",
        whatsapp_app_secret=SECRET,
        whatsapp_verify_token="verify-me",
        whatsapp_port=port,
        whatsapp_graph_url=emu.base_url,
        delivery_limits=False,  # the emulator enforces none; see tests/test_ratelimit.py
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(settings, clock=clock, stop=stop))
    for _ in range(200):  # the webhook server is up
        with contextlib.suppress(OSError):
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        await asyncio.sleep(0.05)
    ctx = {"codes": codes, "office": office, "settings": settings}
    try:
        yield emu, clock, db, ctx
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await emu.stop()
        await db.dispose()


async def _count(db: Database, model, *where) -> int:  # noqa: ANN001
    async with db.transaction() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_signatures_replays_and_registration(wa) -> None:  # noqa: ANN001
    emu, clock, db, ctx = wa
    stranger = emu.add_user("6289900001111", "Orang Asing")
    sekcam = emu.add_user("+62 812-3456-7890", "Sekcam")
    kasi = emu.add_user("6285700002222", "Kasi")
    body = emu.event(sekcam, {"type": "text", "text": {"body": "status"}})

    # Forged and missing signatures: 403, nothing handled.
    assert await emu.post(body, signature="sha256=" + "0" * 64) == 403
    assert await emu.post(body, signature=None) == 403
    assert await emu.post(b"x" * (300 * 1024), signature=sign(b"x", SECRET)) == 413
    assert await _count(db, Identity) == 0

    # An unknown number is told politely, and nothing is bound.
    assert await emu.user_sends_text(stranger, "halo") == 200
    await emu.wait_for(lambda: emu.sent_to(stranger), what="the stranger's answer")
    answer = emu.sent_to(stranger)[0].text
    assert "belum terdaftar" in answer and "kirim: start KODE" in answer

    # The Sekcam is bound by the telepon of the office file on the first message.
    assert await emu.user_sends_text(sekcam, "bantuan", msg_id="wamid.S1") == 200
    await emu.wait_for(lambda: len(emu.sent_to(sekcam)) >= 2, what="welcome and help")
    texts = [m.text for m in emu.sent_to(sekcam)]
    assert ctx["office"].sekcam in texts[0]
    assert "status –" in texts[1] and "/status" not in texts[1]  # words, no slashes
    async with db.transaction() as s:
        ident = await s.scalar(select(Identity).where(Identity.channel == "whatsapp"))
        assert ident is not None and ident.external_id == sekcam.user_id
        assert ident.phone == "6281234567890"

    # The same message id again (Meta redelivers) is handled once.
    sent_before = len(emu.sent_to(sekcam))
    assert await emu.user_sends_text(sekcam, "bantuan", msg_id="wamid.S1") == 200
    assert await emu.user_sends_text(sekcam, "status", msg_id="wamid.S2") == 200
    await emu.wait_for(lambda: len(emu.sent_to(sekcam)) > sent_before, what="status")
    assert len(emu.sent_to(sekcam)) == sent_before + 1

    # The Kasi registers with the bare invite code.
    code = ctx["codes"][ctx["office"].kasi]
    assert await emu.user_sends_text(kasi, code.lower()) == 200
    await emu.wait_for(lambda: len(emu.sent_to(kasi)) >= 2, what="the Kasi's welcome")
    assert ctx["office"].kasi in emu.sent_to(kasi)[0].text
    assert await _count(db, Identity) == 2
    async with db.transaction() as s:
        events = list(await s.scalars(select(Event).where(Event.action == "orang.daftar")))
        assert {e.channel for e in events} == {"whatsapp"}
        assert sorted(e.data["cara"] for e in events) == ["kode", "telepon"]


async def test_lists_window_template_and_errors(wa) -> None:  # noqa: ANN001
    emu, clock, db, ctx = wa
    sekcam = emu.add_user("6281234567890", "Sekcam")
    assert await emu.user_sends_text(sekcam, "halo") == 200
    await emu.wait_for(lambda: len(emu.sent_to(sekcam)) >= 2, what="welcome")
    async with db.transaction() as s:
        person = await s.scalar(
            select(Person).where(Person.telepon.is_not(None), Person.role == "sekcam")
        )
        assert person is not None
        pid = person.id
    from flows.core.router import Core  # a system unit of work, like the scheduler's

    core = Core(db, __import__("bot.bootstrap").bootstrap.build_router(), clock)

    async def twelve_choices(c: Ctx) -> None:
        buttons = [
            [await c.button(f"Indikator nomor {i:02d} yang panjang", "x", person_id=pid)]
            for i in range(12)
        ]
        c.send(pid, "Pilih indikator:", buttons)

    await core.run(twelve_choices)
    await emu.wait_for(lambda: emu.sent_to(sekcam)[-1].type == "interactive", what="a list")
    card = emu.sent_to(sekcam)[-1]
    rows = card.choices()
    assert len(rows) == 10 and rows[-1][0] == "Berikutnya"
    assert all(len(t) <= 24 for t, _ in rows) and len({t for t, _ in rows}) == 10
    n = len(emu.sent)
    assert await emu.user_taps(sekcam, "Berikutnya") == 200
    await emu.wait_for(lambda: len(emu.sent) > n, what="the next page")
    assert len(emu.sent_to(sekcam)[-1].choices()) == 3

    # 25 hours later the window is closed: the message goes as the template, and its
    # button brings the full message once the person taps it.
    clock.advance(hours=25)

    async def approval(c: Ctx) -> None:
        c.send(
            pid,
            "Mohon persetujuan rekap.\n" + "baris\n" * 3,
            [
                [await c.button("Setujui", "x", person_id=pid)],
                [await c.button("Kembalikan", "x", person_id=pid)],
            ],
        )

    await core.run(approval)
    await emu.wait_for(lambda: emu.sent_to(sekcam)[-1].type == "template", what="a template")
    tpl = emu.sent_to(sekcam)[-1]
    assert tpl.payload["template"]["name"] == "kinerja_persetujuan"
    assert "Mohon persetujuan rekap" in tpl.text and "\n" not in tpl.text
    assert [t for t, _ in tpl.choices()] == ["Setujui", "Lihat"]
    assert await emu.user_taps(sekcam, "Lihat") == 200
    await emu.wait_for(
        lambda: emu.sent_to(sekcam)[-1].type == "interactive", what="the card after the tap"
    )
    assert [t for t, _ in emu.sent_to(sekcam)[-1].choices()] == ["Setujui", "Kembalikan"]

    # Throughput → retried; an undeliverable number → failed with a clear line.
    emu.fail_next = [130429]
    await core.run(lambda c: _say(c, pid, "satu"))
    for _ in range(200):  # the first attempt was refused and put off (by the bot's clock)
        if await _count(db, Outbox, Outbox.not_before.is_not(None)):
            break
        await asyncio.sleep(0.1)
    clock.advance(minutes=5)
    await emu.wait_for(lambda: emu.sent_to(sekcam)[-1].text == "satu", timeout=30, what="retry")
    sekcam.blocked = True
    await core.run(lambda c: _say(c, pid, "dua"))
    for _ in range(100):
        if await _count(db, Outbox, Outbox.status == "failed"):
            break
        await asyncio.sleep(0.1)
    async with db.transaction() as s:
        failed = await s.scalar(select(Outbox).where(Outbox.status == "failed"))
        assert failed is not None and "WhatsApp error 131026" in failed.last_error


async def _say(c: Ctx, pid: int, text: str) -> None:
    c.send(pid, text)


def test_titles_are_cut_cleanly_and_stay_unique() -> None:
    titles = cut_titles(["Kembalikan lembar ke Kasi Pemerintahan"] * 3 + ["Setujui"], 20)
    assert all(len(t) <= 20 for t in titles)
    assert len(set(titles)) == 4 and titles[-1] == "Setujui"


def test_phone_numbers_are_one_number() -> None:
    forms = ["0812-3456-7890", "+62 812-3456-7890", "6281234567890", "+6281234567890"]
    assert {normalize_phone(f) for f in forms} == {"6281234567890"}
    assert normalize_phone("halo") == ""


def test_a_list_job_is_a_list() -> None:
    job = DeliveryJob(1, "x", "t", [[{"label": str(i), "token": str(i)}] for i in range(4)])
    assert job.is_list and len(job.choices) == 4
    assert not DeliveryJob(1, "x", "t", [[{"label": "a", "token": "a"}]]).is_list
    assert Button("a", "b")
