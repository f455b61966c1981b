"""End to end on WhatsApp: the real bot process (``python -m bot jalan``) with its webhook
server against the Graph API emulator, on a file clock.

One whole preset with every actor on WhatsApp (registration by phone and by code, a list
choice, an evidence photo, returns with reasons, a reminder outside the 24-hour window sent as
a template and answered by its button, approvals from a template, the laporan and rekap as
documents); the same preset with both channels and a person switching channel mid-sheet;
replayed message ids across a restart and a kill right after the 200.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select

from bot.offline.clocked import FileClock
from bot.offline.emulator import BotApiEmulator
from bot.offline.wa_emulator import GraphEmulator
from flows.sop.preset import load_preset
from storage.db import Database
from storage.models import (
    Cycle,
    Event,
    Identity,
    InboundSeen,
    Outbox,
    StepDeadline,
    StoredFile,
    Worksheet,
)
from tests.test_e2e_telegram import invite_code
from tests.waproc import SECRET, TgPlayer, WaBot, WaPlayer, set_clock, settle

WIB = ZoneInfo("Asia/Jakarta")
MONDAY = datetime(2026, 10, 5, 9, 0, tzinfo=WIB)
PRESET = "kebasen-pengumpulan"
PHOTO = b"\xff\xd8\xff\xe0" + b"foto-bukti-whatsapp" * 60
SECTIONS = {
    "PEM": "Seksi Pemerintahan",
    "TRA": "Seksi Ketenteraman dan Ketertiban Umum",
    "KES": "Seksi Kesejahteraan Sosial",
    "UMP": "Subbagian Umum dan Kepegawaian",
}
# key, jabatan, peran, seksi, telepon (as typed in an office file), telegram id
PEOPLE = [
    ("camat", "Camat", "camat", None, "0812-1000-0001", None),
    ("sekcam", "Sekretaris Kecamatan", "sekcam", None, "+62 812-1000-0002", 8102),
    ("perencana", "Kasubbag Perencanaan", "perencana", None, "+6281210000003", None),
    ("PEM", "Kasi Pemerintahan", "kasi", "PEM", "081210000004", 8104),
    ("TRA", "Kasi Trantibum", "kasi", "TRA", None, None),  # registers with the invite code
    ("KES", "Kasi Kesos", "kasi", "KES", "081210000006", None),
    ("UMP", "Kasubbag Umum", "kasi", "UMP", "081210000007", None),
]
NIP = {key: f"198001{i + 1:02d}2005011{i + 1:03d}" for i, (key, *_rest) in enumerate(PEOPLE)}


def office_yaml(telegram: bool) -> str:
    pegawai = []
    for key, jabatan, peran, seksi, telepon, tg in PEOPLE:
        person = {
            "nip": NIP[key],
            "nama": f"{key.title()} Uji",
            "jabatan": jabatan,
            "pangkat": "Penata (III/c)",
            "peran": peran,
        }
        if seksi:
            person["seksi"] = seksi
        if telepon:
            person["telepon"] = telepon
        if telegram and tg:
            person["telegram_id"] = tg
        pegawai.append(person)
    doc = {
        "kantor": {
            "nama": "Kecamatan Uji WA",
            "kode": "uji-wa",
            "kabupaten": "Kabupaten Contoh",
            "alamat": "Jl. Uji 1",
            "kota_ttd": "Uji",
            "zona_waktu": "Asia/Jakarta",
            "sop": PRESET,
            "tahun": 2026,
        },
        "pegawai": pegawai,
        "seksi": [{"kode": k, "nama": v} for k, v in SECTIONS.items()],
        "indikator": [
            {
                "kode": f"{k}-1",
                "seksi": k,
                "sasaran": "Layanan",
                "nama": f"Jumlah keluaran {v}",
                "satuan": "Dokumen",
                "polaritas": "positif",
                "agregasi": "kumulatif",
                "target_tahunan": 4,
                "target_tw": [1, 2, 3, 4],
            }
            for k, v in SECTIONS.items()
        ],
    }
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def phone_of(key: str) -> str:
    telepon = next(p[4] for p in PEOPLE if p[0] == key)
    digits = "".join(c for c in (telepon or "0899" + NIP[key][-7:]) if c.isdigit())
    return "62" + digits[1:] if digits.startswith("0") else digits


async def cycle_state(db: Database) -> tuple[Cycle, list[Worksheet]]:
    async with db.transaction() as s:
        cycle = await s.scalar(select(Cycle))
        assert cycle is not None
        sheets = list(await s.scalars(select(Worksheet).where(Worksheet.cycle_id == cycle.id)))
        return cycle, sheets


def next_working_morning(after: datetime) -> datetime:
    day = after.astimezone(WIB).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=WIB)


class Office:
    """Plays the preset through the players (any channel), as the database says."""

    def __init__(self, db: Database, players: dict, clock_file: Path) -> None:
        self.db, self.p, self.clock_file = db, players, clock_file
        self.preset = load_preset(PRESET)
        self.returned: set[str] = set()
        self.reminded = False

    async def run(self, fill=None) -> Cycle:  # noqa: ANN001
        await self.p["camat"].say("mulai TW III 2026 segera")
        for _ in range(60):
            await settle(self.db)
            cycle, sheets = await cycle_state(self.db)
            if cycle.status == "selesai":
                return cycle
            step = self.preset.step(cycle.step)
            if step.jenis == "isi":
                if not self.reminded:
                    await self.remind_late_kasi(cycle)
                for ws in sheets:
                    if ws.status in ("open", "returned"):
                        await (fill or self.fill)(ws)
            else:
                await self.act(step)
        raise AssertionError("the chain did not finish")

    async def remind_late_kasi(self, cycle: Cycle) -> None:
        """Past the isi deadline on a working morning: the PEM Kasi, silent since Monday, gets
        the reminder as a template; its quick reply starts the sheet."""
        self.reminded = True
        async with self.db.transaction() as s:
            due = await s.scalar(
                select(StepDeadline.due_at).where(
                    StepDeadline.cycle_id == cycle.id, StepDeadline.done_at.is_(None)
                )
            )
        assert due is not None
        set_clock(self.clock_file, next_working_morning(due))
        kasi = self.p["PEM"]
        if kasi.channel != "whatsapp":
            return
        await kasi.graph.wait_for(
            lambda: any(
                m.type == "template" and "Terlambat" in m.text
                for m in kasi.graph.sent_to(kasi.user)
            ),
            60,
            "the reminder template",
        )
        await settle(self.db)

    async def fill(self, ws: Worksheet) -> None:
        nip = await self._nip(ws.person_id)
        key = next(k for k in NIP if NIP[k] == nip)
        kasi = self.p[key]
        if ws.status == "returned":
            await kasi.tap("Perbaiki sekarang") if kasi.has("Perbaiki sekarang") else None
            await kasi.say("isi")
        elif key == "PEM" and kasi.channel == "whatsapp" and self._template_to(kasi):
            await kasi.tap("Buka")  # the reminder template's quick reply acts as Isi sekarang
        else:
            await kasi.say("isi")
        await kasi.say("3")
        await kasi.tap("Lewati")  # kendala
        if key == "PEM" and ws.status != "returned":
            await kasi.photo(PHOTO)
        else:
            await kasi.tap("Lewati")  # bukti
        await kasi.tap("Kirim")
        await self.allow_if_late(ws, kasi)

    async def allow_if_late(self, ws: Worksheet, kasi) -> None:  # noqa: ANN001
        """Past the isi deadline a first Kirim asks the planner (flows.sop.late): she allows
        it with "Izinkan terlambat" on her channel, and the Kasi sends again."""
        await settle(self.db)
        async with self.db.transaction() as s:
            now = await s.get(Worksheet, ws.id)
        assert now is not None
        if now.status != "open" or now.late_asked_at is None:
            return
        await self.p["perencana"].tap("Izinkan terlambat")
        await kasi.tap("Kirim")

    @staticmethod
    def _template_to(player: WaPlayer) -> bool:
        sent = player.graph.sent_to(player.user)
        return bool(sent) and sent[-1].type == "template"

    async def _nip(self, person_id: int) -> str:
        from storage.models import Person

        async with self.db.transaction() as s:
            person = await s.get(Person, person_id)
            assert person is not None
            return person.nip

    async def act(self, step) -> None:  # noqa: ANN001
        actor = self.p[step.pelaku]
        kind = step.jenis
        if kind == "rekap":
            if "rekap" not in self.returned:
                self.returned.add("rekap")
                await actor.tap("Kembalikan lembar")
                await actor.tap("KES")  # four sheets: a list message on WhatsApp
                await actor.say("KES-1: angka belum sesuai register")
            else:
                await actor.tap("Teruskan")
        elif kind in ("telaah", "sahkan"):
            if step.id not in self.returned:
                self.returned.add(step.id)
                await actor.tap("Kembalikan")
                await actor.say("Mohon diperbaiki ringkasannya")
                if kind == "sahkan":  # a day of silence: the next approvals come as templates
                    now = FileClock(self.clock_file).now()
                    set_clock(self.clock_file, next_working_morning(now + timedelta(days=1)))
            else:
                await actor.tap("Setujui")
        elif kind in ("siapkan", "bagikan"):
            await actor.tap("Bagikan" if actor.has("Bagikan") else "Selesai")
        elif kind == "arsip":  # "input ke aplikasi" steps confirm the e-SAKIP upload
            await actor.tap("Sudah diinput" if "aplikasi" in step.nama else "Selesai")
        else:  # perintah, disposisi
            await actor.tap("Teruskan")


@pytest.fixture
async def graph(tmp_path: Path):  # noqa: ANN201
    clock_file = tmp_path / "jam.txt"
    set_clock(clock_file, MONDAY)
    emulator = GraphEmulator(app_secret=SECRET, clock=FileClock(clock_file).now)
    await emulator.start()
    yield emulator, clock_file
    await emulator.stop()


async def test_a_whole_preset_on_whatsapp_through_the_real_bot(
    emu: BotApiEmulator, graph, db: Database, db_url: str, tmp_path: Path
):
    wa, clock_file = graph
    office = tmp_path / "kantor.yaml"
    office.write_text(office_yaml(telegram=False), encoding="utf-8")
    bot = WaBot(emu, wa, db_url, tmp_path / "bot.log", clock_file)
    printed = await bot.cli("impor-kantor", str(office))
    assert "wa.me/6281100000000" in printed
    code = await invite_code(db, NIP["TRA"])
    await bot.start()
    try:
        players = {k: WaPlayer(wa, db, phone_of(k), f"{k.title()} Uji") for k, *_ in PEOPLE}
        for key, player in players.items():
            await player.say(code if key == "TRA" else "halo")
            assert any("Selamat datang" in t for t in player.texts()), (key, player.texts())
        cycle = await Office(db, players, clock_file).run()
        await settle(db, documents=True)
    finally:
        await bot.stop()

    assert cycle.status == "selesai"
    async with db.transaction() as s:
        events = list(await s.scalars(select(Event).order_by(Event.id)))
        files = list(await s.scalars(select(StoredFile).where(StoredFile.kind == "photo")))
        idents = list(await s.scalars(select(Identity)))
    acts = [e.action for e in events]
    assert {e.data["cara"] for e in events if e.action == "orang.daftar"} == {"telepon", "kode"}
    assert {i.channel for i in idents} == {"whatsapp"} and len(idents) == len(PEOPLE)
    assert "lembar.kembalikan" in acts and acts.count("langkah.kembalikan") == 2
    # Every sheet was first sent after the isi deadline: each needed "Izinkan terlambat",
    # tapped by the planner on WhatsApp (flows.sop.late).
    allowed = [e for e in events if e.action == "lembar.izin_terlambat"]
    assert len(allowed) == len(SECTIONS) and {e.channel for e in allowed} == {"whatsapp"}
    assert all(
        e.channel == "whatsapp" for e in events if e.actor_id and e.action.startswith("langkah")
    )
    # The evidence photo was downloaded from the Graph API and stored byte for byte.
    assert [f.content for f in files] == [PHOTO]
    # A list message offered the four sheets and its row was chosen.
    perencana = players["perencana"]
    lists = [
        m
        for m in wa.sent_to(perencana.user)
        if m.type == "interactive" and m.payload["interactive"]["type"] == "list"
    ]
    assert lists and {"PEM", "TRA", "KES", "UMP"} <= {t for t, _ in lists[-1].choices()}
    # The reminder outside the window went as the pengingat template; its tap started the sheet.
    pem = wa.sent_to(players["PEM"].user)
    reminder = next(m for m in pem if m.type == "template" and "Terlambat" in m.text)
    assert reminder.payload["template"]["name"] == "kinerja_pengingat"
    after = pem[pem.index(reminder) + 1 :]
    assert after and "PEM-1" in after[0].text
    # An approval outside the window went as kinerja_persetujuan.
    names = {m.payload["template"]["name"] for m in wa.sent if m.type == "template"}
    assert "kinerja_persetujuan" in names
    assert ("Camat Uji", "Setujui", "template") in wa.taps  # approved from the template
    # The final laporan and rekap reached the Camat as uploaded documents.
    docs = [wa.document(m) for m in wa.sent_to(players["camat"].user) if m.type == "document"]
    laporan = [b for n, b in docs if n.startswith("Laporan_Kinerja_TW_III_2026")]
    rekap = [b for n, b in docs if n.startswith("Rekap_Kinerja_TW_III_2026")]
    assert laporan and laporan[-1].startswith(b"%PDF"), [n for n, _ in docs]
    assert rekap and rekap[-1].startswith(b"PK"), [n for n, _ in docs]
    log = (tmp_path / "bot.log").read_text()
    assert SECRET not in log and "Traceback" not in log


async def test_replays_across_a_restart_and_a_kill_right_after_the_200(
    emu: BotApiEmulator, graph, db: Database, db_url: str, tmp_path: Path
):
    wa, clock_file = graph
    office = tmp_path / "kantor.yaml"
    office.write_text(office_yaml(telegram=False), encoding="utf-8")
    bot = WaBot(emu, wa, db_url, tmp_path / "bot.log", clock_file)
    await bot.cli("impor-kantor", str(office))
    camat = WaPlayer(wa, db, phone_of("camat"), "Camat Uji")
    await bot.start()
    try:
        await camat.say("halo", msg_id="wamid.R1")
        assert len(wa.sent_to(camat.user)) == 2  # welcome and help
        await bot.stop()
        await bot.start()
        await camat.say("halo", msg_id="wamid.R1")  # Meta redelivers after our restart
        await camat.say("status", msg_id="wamid.R2")
        assert len(wa.sent_to(camat.user)) == 3  # the replay changed nothing, status answered

        # A kill right after the 200: the message and its answer were committed before it.
        assert await wa.user_sends_text(camat.user, "bantuan", "wamid.K1") == 200
        await bot.kill()
        async with db.transaction() as s:
            assert await s.get(InboundSeen, ("whatsapp", "wamid.K1")) is not None
            waiting = await s.scalar(select(func.count()).select_from(Outbox))
            assert waiting == 4  # welcome, help, status, and this help
        await bot.start()
        await settle(db)
        assert any("Perintah yang dapat" in t for t in camat.texts()[3:]), camat.texts()
        async with db.transaction() as s:
            assert await s.scalar(select(func.count()).select_from(Outbox)) == waiting
        await camat.say("bantuan", msg_id="wamid.K1")  # and its replay is handled once
        async with db.transaction() as s:
            assert await s.scalar(select(func.count()).select_from(Outbox)) == waiting
    finally:
        await bot.stop()
    async with db.transaction() as s:
        seen = await s.scalar(
            select(func.count()).select_from(InboundSeen).where(InboundSeen.channel == "whatsapp")
        )
    assert seen == 3


async def test_both_channels_and_a_switch_mid_sheet(
    emu: BotApiEmulator, graph, db: Database, db_url: str, tmp_path: Path
):
    """The Kasi fills in on WhatsApp, the Sekcam approves on Telegram, the Camat on WhatsApp;
    the PEM Kasi starts the sheet on WhatsApp and finishes it on Telegram."""
    wa, clock_file = graph
    office = tmp_path / "kantor.yaml"
    office.write_text(office_yaml(telegram=True), encoding="utf-8")
    bot = WaBot(emu, wa, db_url, tmp_path / "bot.log", clock_file, telegram=True)
    await bot.cli("impor-kantor", str(office))
    code = await invite_code(db, NIP["TRA"])
    await bot.start()
    try:
        players: dict = {k: WaPlayer(wa, db, phone_of(k), f"{k.title()} Uji") for k, *_ in PEOPLE}
        players["sekcam"] = TgPlayer(emu, db, 8102, "Sekcam Uji")
        pem_tg = TgPlayer(emu, db, 8104, "Pem Uji")
        for key, player in players.items():
            await player.say(code if key == "TRA" else "halo")
        await pem_tg.say("/bantuan")  # the PEM Kasi also has Telegram

        async def fill(ws: Worksheet) -> None:
            async with db.transaction() as s:
                from storage.models import Person

                person = await s.get(Person, ws.person_id)
                assert person is not None
            key = next(k for k in NIP if NIP[k] == person.nip)
            kasi = players[key]
            if key == "PEM" and ws.status != "returned":
                await kasi.say("isi")
                await kasi.say("3")  # on WhatsApp ...
                before = len(emu.chat_messages(8104))
                await pem_tg.say("Tidak ada kendala")  # ... then on Telegram: same place
                assert len(emu.chat_messages(8104)) > before
                await pem_tg.tap("Lewati")  # bukti
                await pem_tg.tap("Kirim")
                return
            await kasi.say("isi")
            await kasi.say("3")
            await kasi.tap("Lewati")
            await kasi.tap("Lewati")
            await kasi.tap("Kirim")

        pilot = Office(db, players, clock_file)
        pilot.reminded = True  # no clock jump here
        cycle = await pilot.run(fill)
        await settle(db, documents=True)
    finally:
        await bot.stop()
    assert cycle.status == "selesai"
    async with db.transaction() as s:
        events = list(await s.scalars(select(Event).order_by(Event.id)))
    by = {(e.action, e.subject): e.channel for e in events if e.actor_id}
    assert by[("langkah.setujui", "telaah_sekcam")] == "telegram"
    assert by[("langkah.setujui", "setujui_camat")] == "whatsapp"
    submits = {e.channel for e in events if e.action == "lembar.kirim"}
    assert submits == {"whatsapp", "telegram"}
    # The PEM Kasi last spoke on Telegram: the Kasi's later notices go there.
    assert any("PEM-1" in t for t in pem_tg.texts())
