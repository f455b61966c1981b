"""Drive flows directly (no Telegram): a fake clock, a core, and a chat-like helper."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event, select

from bot.bootstrap import build_router
from flows.core.context import Ctx
from flows.core.messages import Inbound, InboundFile, Reply
from flows.core.router import Core
from storage.db import Database
from storage.models import Identity, Indicator, Office, Outbox, Person, Section


class FakeClock:
    """An injected clock: tests move time, nothing sleeps."""

    def __init__(self, start: datetime) -> None:
        self.value = start

    def now(self) -> datetime:
        return self.value

    def advance(self, **kw: float) -> None:
        self.value += timedelta(**kw)


@dataclass
class Sent:
    address: str
    text: str
    buttons: list[list[dict[str, str]]]
    edit: bool
    row_id: int

    def labels(self) -> list[str]:
        return [b["label"] for row in self.buttons for b in row]


class Chat:
    """Plays people in chats against the core and reads what lands in the outbox."""

    def __init__(self, db: Database, clock: FakeClock | None = None) -> None:
        self.db = db
        self.clock = clock or FakeClock(datetime(2026, 10, 5, 2, 0, tzinfo=UTC))
        self.core = Core(db, build_router(), self.clock)
        self.seen = 0
        self.updates = 0

    async def _handle(self, inbound: Inbound) -> tuple[Reply, list[Sent]]:
        reply = await self.core.handle(inbound)
        return reply, await self.new_messages()

    async def new_messages(self) -> list[Sent]:
        async with self.db.transaction() as s:
            rows = list(
                await s.scalars(select(Outbox).where(Outbox.id > self.seen).order_by(Outbox.id))
            )
        if rows:
            self.seen = rows[-1].id
        return [
            Sent(
                r.address,
                r.payload.get("text", ""),
                r.payload.get("buttons", []),
                bool(r.payload.get("edit_of")),
                r.id,
            )
            for r in rows
        ]

    def _key(self) -> str:
        self.updates += 1
        return str(self.updates)

    async def say(self, address: str, text: str) -> list[Sent]:
        command, args = "", ""
        if text.startswith("/"):
            head, _, args = text.partition(" ")
            command = head[1:]
            text = ""
        _, out = await self._handle(
            Inbound("telegram", address, self._key(), text=text, command=command, args=args)
        )
        return out

    async def send_file(self, address: str, content: bytes, name: str = "foto.jpg") -> list[Sent]:
        f = InboundFile("photo", content, name, len(content), "image/jpeg", "F1")
        _, out = await self._handle(Inbound("telegram", address, self._key(), file=f))
        return out

    async def tap(self, address: str, label: str) -> tuple[str, list[Sent]]:
        """Tap the newest button with this label in the chat; returns (toast, messages)."""
        token = await self.button_token(address, label)
        reply, out = await self._handle(
            Inbound("telegram", address, self._key(), button=token, message_ref="1")
        )
        return reply.toast, out

    async def button_token(self, address: str, label: str) -> str:
        async with self.db.transaction() as s:
            rows = list(
                await s.scalars(
                    select(Outbox).where(Outbox.address == address).order_by(Outbox.id.desc())
                )
            )
        for row in rows:
            for brow in row.payload.get("buttons", []):
                for b in brow:
                    if b["label"] == label:
                        return b["token"]
        raise AssertionError(f"no button {label!r} in chat {address}")

    async def run(self, work) -> None:  # noqa: ANN001
        await self.core.run(work)


async def seed_small_office(db: Database) -> dict[str, int]:
    """A two-section office with one indicator of each kind, bound to Telegram ids."""
    async with db.transaction() as s:
        office = Office(
            code="uji",
            nama="Kecamatan Uji",
            kabupaten="Kabupaten Contoh",
            alamat="Jl. Uji 1",
            kota_ttd="Uji",
            preset="kebasen-pengumpulan",
            tahun=2026,
            settings={},
        )
        s.add(office)
        await s.flush()
        pem = Section(office_id=office.id, kode="PEM", nama="Seksi Pemerintahan")
        pk = Section(office_id=office.id, kode="PK", nama="Subbagian Perencanaan")
        s.add_all([pem, pk])
        await s.flush()
        people = {
            "camat": Person(
                office_id=office.id,
                nip="197203151993031004",
                nama="Camat Uji",
                jabatan="Camat Uji",
                role="camat",
            ),
            "perencana": Person(
                office_id=office.id,
                nip="198407162008012006",
                nama="Maya",
                jabatan="Kasubbag Perencanaan",
                role="perencana",
                section_id=pk.id,
            ),
            "kasi": Person(
                office_id=office.id,
                nip="198305072006041011",
                nama="Budi",
                jabatan="Kasi Pemerintahan",
                role="kasi",
                section_id=pem.id,
            ),
            "sekcam": Person(
                office_id=office.id,
                nip="197506102000031002",
                nama="Sri Sekcam",
                jabatan="Sekretaris Kecamatan",
                role="sekcam",
            ),
        }
        s.add_all(people.values())
        await s.flush()
        for i, p in enumerate(people.values(), start=1):
            s.add(Identity(person_id=p.id, channel="telegram", external_id=str(100 + i)))
        d = Decimal
        s.add_all(
            [
                Indicator(
                    office_id=office.id,
                    section_id=pem.id,
                    kode="PEM-1",
                    sasaran="Layanan",
                    nama="Persentase layanan sesuai SOP",
                    satuan="%",
                    polarity="positif",
                    aggregation="rasio",
                    target_tahunan=d(95),
                    target_tw1=d(95),
                    target_tw2=d(95),
                    target_tw3=d(95),
                    target_tw4=d(95),
                    position=1,
                ),
                Indicator(
                    office_id=office.id,
                    section_id=pem.id,
                    kode="PEM-2",
                    sasaran="Desa",
                    nama="Jumlah desa difasilitasi",
                    satuan="Desa",
                    polarity="positif",
                    aggregation="kumulatif",
                    target_tahunan=d(12),
                    target_tw1=d(3),
                    target_tw2=d(6),
                    target_tw3=d(9),
                    target_tw4=d(12),
                    position=2,
                ),
                Indicator(
                    office_id=office.id,
                    section_id=pem.id,
                    kode="PEM-3",
                    sasaran="Layanan",
                    nama="Indeks kepuasan",
                    satuan="Nilai",
                    polarity="positif",
                    aggregation="terakhir",
                    target_tahunan=d(90),
                    target_tw1=None,
                    target_tw2=d(90),
                    target_tw3=None,
                    target_tw4=d(90),
                    position=3,
                ),
                Indicator(
                    office_id=office.id,
                    section_id=pem.id,
                    kode="PEM-4",
                    sasaran="Layanan",
                    nama="Rata-rata waktu layanan",
                    satuan="Hari",
                    polarity="negatif",
                    aggregation="rata-rata",
                    target_tahunan=d(3),
                    target_tw1=d(3),
                    target_tw2=d(3),
                    target_tw3=d(3),
                    target_tw4=d(3),
                    position=4,
                ),
                Indicator(
                    office_id=office.id,
                    section_id=pk.id,
                    kode="PK-1",
                    sasaran="Akuntabilitas",
                    nama="Jumlah laporan",
                    satuan="Laporan",
                    polarity="positif",
                    aggregation="kumulatif",
                    target_tahunan=d(4),
                    target_tw1=d(1),
                    target_tw2=d(2),
                    target_tw3=d(3),
                    target_tw4=d(4),
                    position=5,
                ),
            ]
        )
        return {"office": office.id, **{k: p.id for k, p in people.items()}}


async def open_quarter(chat: Chat, office_code: str, key: str) -> None:
    """Open a TW cycle at its isi step and hand out the sheets, as the admin tool does."""
    from flows.domain.periods import Period
    from flows.sop import engine

    async def work(ctx: Ctx) -> None:
        office = await ctx.session.scalar(select(Office).where(Office.code == office_code))
        assert office is not None
        await engine.start_at_fill(ctx, office, Period.from_key(key), "")

    await chat.run(work)


async def play(chat: Chat, address: str, script: list[str]) -> list[Sent]:
    """Answer a conversation: "tap:Label" taps a button, anything else is typed."""
    out: list[Sent] = []
    for line in script:
        if line.startswith("tap:"):
            _, sent = await chat.tap(address, line[4:])
        else:
            sent = await chat.say(address, line)
        out += sent
    return out


#: The small office's TW III sheets, filled and sent (no upaya: nothing is Sedang or below).
SMALL_PEM = [
    "/isi",
    "48",
    "50",
    "tap:Lewati",
    "tap:Lewati",
    "7",
    "tap:Lewati",
    "tap:Lewati",
    "2,5",
    "tap:Lewati",
    "tap:Lewati",
    "tap:Kirim",
]
SMALL_PK = ["/isi", "3", "tap:Lewati", "tap:Lewati", "tap:Kirim"]


class Counter:
    """SQL statements sent on the database's connections while ``active``."""

    def __init__(self, db: Database) -> None:
        self.statements: list[str] = []
        self.active = False
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.active:
            self.statements.append(statement)

    async def count(self, chat: Chat, inbound: Inbound) -> int:
        self.statements.clear()
        self.active = True
        try:
            await chat.core.handle(inbound)
        finally:
            self.active = False
        return len(self.statements)
