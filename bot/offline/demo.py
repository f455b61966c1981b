"""The offline demo: one full collection cycle for the sample office, every role scripted.

Nothing here is a mock of the bot: the real bot (``bot.bootstrap.run_telegram``) runs as a task
in this process against the in-process Bot API emulator and the Graph API (WhatsApp) emulator,
with its WhatsApp webhook server on a free local port, on a fresh SQLite database in a temporary
folder. The office is mixed: the people the script names are on WhatsApp (signed webhook events),
the others on Telegram. Scripted people act only through the emulators, as users would: they
register with their invite codes, tap the buttons the bot sent them and answer its questions.
What to answer next is read from the bot's own state (the Conversation row), so nothing depends
on timing. One Kasi stays silent: the demo's clock then jumps to that person's reminder, which
reaches WhatsApp outside the 24-hour window as a template, and its quick reply starts the sheet.
The script's words are in ``templates/chat/demo/skenario.yaml``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import io
import logging
import multiprocessing
import os
import re
import socket
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.offline.emulator import BotApiEmulator, EmulatorError, SentMessage
from bot.offline.wa_emulator import WINDOW, GraphEmulator, WaSent, WaUser
from bot.settings import Settings
from flows.core import texts
from flows.core.context import SystemClock
from flows.setup.office_file import load_office_file
from flows.setup.office_import import import_office
from flows.sop.documents import kind_word
from flows.sop.preset import load_preset, preset_ids
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    Conversation,
    Cycle,
    DocumentJob,
    Entry,
    InboundSeen,
    Indicator,
    Office,
    Outbox,
    Person,
    Reminder,
    Section,
    StoredFile,
    Worksheet,
)

#: The sample office, from the ``examples`` data package (shipped in the wheel).
SAMPLE_OFFICE = Path(str(resources.files("examples") / "sukamaju.yaml"))
SCRIPT = texts.TEMPLATES / "chat" / "demo" / "skenario.yaml"
DEMO_TOKEN = "424242:DEMO-LOKAL"
BOT_USERNAME = "kinerja_demo_bot"
FIRST_USER_ID = 5_550_001
WA_SECRET = "demo-rahasia-aplikasi"  # signs the emulator's webhook events (local only)
WA_PHONE = "62812555{:04d}"  # WhatsApp numbers of the scripted people
TELEGRAM, WHATSAPP = "telegram", "whatsapp"
STEP_TIMEOUT = 30.0  # seconds one scripted action may take before the demo gives up
RECHECK = 0.02  # seconds between checks of the database while waiting for the bot
PHASES = ("siapkan", "daftar", "perintah", "isi", "rekap", "setujui", "arsip", "berkas")
SHOWN_LINES = 3  # lines of a bot message shown in the transcript (plus deadlines)
LINE_WIDTH = 110
KEEP = ("⏰", "↩️", '"')  # lines always shown: deadlines, returns and their reasons
INDENT = "   "  # bot lines, under the person who acted
MORE = INDENT + "     "  # a bot message's further lines and its buttons
#: In a brief chat, only bot messages starting so are shown, with this many lines.
BRIEF = (("📌", 1), ("Tersimpan", 2), ("Anda menulis", 1), ("📎", 1), ("Selamat datang", 1))

Echo = Callable[[str], None]


class DemoError(Exception):
    """The demo could not finish; the text says why, in Indonesian (templates/chat/demo)."""

    def __init__(self, kode: str, **context: Any) -> None:
        super().__init__(texts.render("demo/alasan", kode=kode, **context))


@dataclass
class DemoResult:
    """What the demo produced."""

    laporan: Path
    rekap: Path
    seconds: float
    people: int
    sheets: int
    indicators: int
    user_actions: int
    bot_messages: int


@dataclass
class Actor:
    """One scripted person: their chat with the bot and how the transcript names them."""

    person_id: int
    user_id: int  # the Telegram user (chat) id; also the transcript's key of a WhatsApp chat
    role: str
    nama: str  # "[TG] Budi Santoso": the channel tag and the short name
    label: str  # "[TG] Budi Santoso (Kasi Pemerintahan)"
    section: str | None = None
    invite: str = ""
    wa: WaUser | None = None  # set when the person is on WhatsApp


@dataclass
class Script:
    """The scripted inputs (templates/chat/demo/skenario.yaml)."""

    periode: str
    perintah: str
    tahap: dict[str, str]
    isian: dict[str, dict[str, str]]
    kembalikan_lembar: dict[str, Any]
    kembalikan_camat: str
    kanal: dict[str, str] = field(default_factory=dict)  # channel -> transcript tag
    whatsapp: list[str] = field(default_factory=list)  # sections whose Kasi are on WhatsApp
    terlambat: str = ""  # the section whose Kasi waits for the reminder

    @classmethod
    def load(cls, path: Path = SCRIPT) -> Script:
        """Read the script file."""
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(**data)


def short_name(nama: str) -> str:
    """ "Drs. H. Ahmad Fauzi, M.Si" → "Ahmad Fauzi" (no degrees or honorifics)."""
    words = nama.split(",")[0].split()
    while len(words) > 1 and words[0].endswith(".") and len(words[0]) <= 4:
        words.pop(0)
    return " ".join(words)


def _clip(line: str) -> str:
    """One transcript line, cut to a width a plain terminal shows without wrapping much."""
    return line if len(line) <= LINE_WIDTH else line[: LINE_WIDTH - 1] + "…"


def _wrapped(echo: Echo, text: str) -> None:
    """Echo a narration paragraph by paragraph, wrapped to the transcript's width."""
    for line in text.splitlines():
        for part in textwrap.wrap(line, LINE_WIDTH, subsequent_indent="  ") or [""]:
            echo(part)


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} B"


def evidence_photo(caption: str) -> bytes:
    """A small JPEG that looks like a scanned register page."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:  # Pillow comes with WeasyPrint; this is only a fallback
        return b"\xff\xd8\xff\xe0" + caption.encode() + b"\xff\xd9"
    image = Image.new("RGB", (480, 320), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 470, 310), outline=(60, 60, 60), width=2)
    draw.text((24, 24), caption, fill=(20, 20, 20))
    for y in range(60, 300, 24):
        draw.line((24, y, 456, y), fill=(180, 180, 180))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


@dataclass
class Shown:
    """One bot message as the transcript shows it, from either channel."""

    chat: int  # the actor's user_id
    kind: str  # "text" or a file kind
    text: str
    buttons: list[str]
    file_name: str = ""
    size: int = 0


class DemoClock:
    """The wall clock, which the demo can move forward (to a reminder's due time)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump_to(self, moment: datetime) -> None:
        self.offset = max(self.offset, moment - datetime.now(UTC))


def _free_port() -> int:
    """A free local TCP port for the bot's WhatsApp webhook server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """The bot logs every update at INFO; the demo's transcript says it better."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


class Narrator:
    """Prints the transcript: what people do, and what the bot sent to whom, in order.

    Chats in ``brief`` show only the gist of the bot's messages (the indicator, the saved value
    and its capaian), so seven worksheets stay readable; the first of each kind is shown whole.
    """

    def __init__(self, emu: BotApiEmulator, graph: GraphEmulator, echo: Echo) -> None:
        self.emu = emu
        self.graph = graph
        self.echo = echo
        self.actors: dict[int, Actor] = {}
        self.wa_chats: dict[str, int] = {}  # WhatsApp user_id -> the actor's user_id
        self.brief: set[int] = set()
        self.user_actions = 0
        self._call_index = 0
        self._wa_index = 0
        self._shown: dict[tuple[Any, Any], str] = {}
        self._last_edit: dict[int, list[str]] = {}

    def phase(self, key: str, script: Script) -> None:
        self.flush()
        self.echo("")
        no = PHASES.index(key) + 1
        self.echo(texts.render("demo/tahap", no=no, jumlah=len(PHASES), judul=script.tahap[key]))

    def says(self, actor: Actor, text: str) -> None:
        self.user_actions += 1
        self.echo(_clip(texts.render("demo/pengguna", siapa=actor.label, teks=text)))

    def taps(self, actor: Actor, label: str) -> None:
        self.user_actions += 1
        if actor.user_id in self.brief and label == texts.label("lewati"):
            return
        self.echo(_clip(texts.render("demo/tekan", siapa=actor.label, tombol=label)))

    def sends_photo(self, actor: Actor, caption: str) -> None:
        self.user_actions += 1
        self.echo(_clip(texts.render("demo/foto", siapa=actor.label, keterangan=caption)))

    @property
    def bot_messages(self) -> int:
        """Distinct bot messages seen so far."""
        return len(self._shown)

    def flush(self) -> None:
        """Print every bot message sent or changed since the last flush, in the order sent."""
        calls = self.emu.calls[self._call_index :]
        self._call_index += len(calls)
        self._last_edit.clear()  # one decision often edits several messages of one chat
        order: list[tuple[int, int]] = []
        for call in calls:
            method = call.method.lower()
            if not call.ok:
                continue
            if method in ("sendmessage", "senddocument", "sendphoto"):
                key = (int(call.result["chat"]["id"]), int(call.result["message_id"]))
            elif method.startswith("editmessage"):
                key = (int(call.params.get("chat_id", 0)), int(call.params.get("message_id", 0)))
            else:
                continue
            if key not in order:
                order.append(key)
        for chat_id, message_id in order:
            messages = self.emu.chat_messages(chat_id, include_deleted=True)
            message = next((m for m in messages if m.message_id == message_id), None)
            if message is not None:
                self._show((chat_id, message_id), self._telegram(message))
        sent = self.graph.sent[self._wa_index :]
        self._wa_index += len(sent)
        for wa in sent:
            self._show(("wa", wa.id), self._whatsapp(wa))

    @staticmethod
    def _telegram(message: SentMessage) -> Shown:
        return Shown(
            chat=message.chat_id,
            kind=message.kind,
            text=message.text,
            buttons=[t for t, _ in message.buttons],
            file_name=message.file_name or message.kind,
            size=len(message.file_bytes or b""),
        )

    def _whatsapp(self, sent: WaSent) -> Shown:
        chat = self.wa_chats.get(sent.to, 0)
        if sent.type == "document":
            name, data = self.graph.document(sent)
            return Shown(chat, "document", sent.text, [], name or "document", len(data))
        text = sent.text
        if sent.type == "template":
            text = texts.render("demo/templat", nama=sent.payload["template"]["name"], teks=text)
        return Shown(chat, "text", text, [t for t, _ in sent.choices()])

    def _show(self, key: tuple[Any, Any], message: Shown) -> None:
        actor = self.actors.get(message.chat)
        to = actor.nama if actor else str(message.chat)
        before = self._shown.get(key)
        self._shown[key] = message.text
        if message.kind != "text":
            if before is None:
                self._document(message, to)
            return
        lines = [ln for ln in message.text.splitlines() if ln.strip()]
        if before is not None:  # an edit: show what it added (a decision, a return), once
            old = set(before.splitlines())
            added = [ln for ln in lines if ln not in old]
            if added and self._last_edit.get(message.chat) != added:
                self._last_edit[message.chat] = added
                self._lines("demo/bot_ubah", to, added[:SHOWN_LINES], len(added))
            return
        if message.chat in self.brief:
            keep = next((n for prefix, n in BRIEF if lines and lines[0].startswith(prefix)), 0)
            if keep:
                self._lines("demo/bot", to, lines[:keep], keep)
            return
        shown = lines[:SHOWN_LINES] + [ln for ln in lines[SHOWN_LINES:] if ln.startswith(KEEP)]
        self._lines("demo/bot", to, shown, len(lines))
        if message.buttons:
            self.echo(_clip(MORE + texts.render("demo/tombol", tombol=message.buttons)))

    def _lines(self, template: str, to: str, lines: list[str], total: int) -> None:
        self.echo(_clip(INDENT + texts.render(template, kepada=to, teks=lines[0] if lines else "")))
        for line in lines[1:]:
            self.echo(_clip(MORE + line))
        if total > len(lines):
            self.echo(MORE + texts.render("demo/dipotong", jumlah=total - len(lines)))

    def _document(self, message: Shown, to: str) -> None:
        first = message.text.splitlines()[0] if message.text else ""
        line = texts.render(
            "demo/bot_dokumen",
            kepada=to,
            nama=message.file_name,
            ukuran=_size(message.size),
            teks=first,
        )
        self.echo(_clip(INDENT + line))


@dataclass
class Demo:
    """One run of the script against the running bot."""

    emu: BotApiEmulator
    graph: GraphEmulator
    clock: DemoClock
    db: Database
    script: Script
    narrator: Narrator
    office_id: int = 0
    office_tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Jakarta"))
    actors: dict[str, list[Actor]] = field(default_factory=dict)
    kode_of: dict[int, str] = field(default_factory=dict)  # indicator id -> kode
    sheets: int = 0
    filled: int = 0

    # --- who is who ------------------------------------------------------------------------

    def one(self, role: str) -> Actor:
        """The (first) person holding ``role``."""
        return self.actors[role][0]

    async def load_people(self, invites: dict[int, str], preset_id: str) -> None:
        """Give every person of the sample office a user in the emulator of their channel."""
        preset = load_preset(preset_id)
        async with self.db.transaction() as s:
            people = list(
                await s.scalars(
                    select(Person)
                    .where(Person.office_id == self.office_id, Person.active.is_(True))
                    .order_by(Person.id)
                )
            )
            indicators = await s.scalars(
                select(Indicator).where(Indicator.office_id == self.office_id)
            )
            self.kode_of = {i.id: i.kode for i in indicators}
            sections = {x.id: x.kode for x in await s.scalars(select(Section))}
        for n, person in enumerate(people):
            role_title = person.jabatan if person.role == "kasi" else preset.title(person.role)
            name = short_name(person.nama)
            section = sections.get(person.section_id) if person.section_id else None
            on_wa = person.role == "kasi" and section in self.script.whatsapp
            tag = self.script.kanal.get(WHATSAPP if on_wa else TELEGRAM, "")
            tagged = f"{tag} {name}".strip()
            actor = Actor(
                person_id=person.id,
                user_id=FIRST_USER_ID + n,
                role=person.role,
                nama=tagged,
                label=f"{tagged} ({role_title})",
                section=section,
                invite=invites.get(person.id, ""),
            )
            if on_wa:
                actor.wa = self.graph.add_user(WA_PHONE.format(n), name)
                self.narrator.wa_chats[actor.wa.user_id] = actor.user_id
            else:
                first, _, last = name.partition(" ")
                self.emu.add_user(actor.user_id, first, last_name=last or None)
            self.actors.setdefault(person.role, []).append(actor)
            self.narrator.actors[actor.user_id] = actor

    # --- acting through the emulator --------------------------------------------------------

    async def say(self, actor: Actor, text: str) -> None:
        """The person types ``text`` in their chat with the bot."""
        self.narrator.says(actor, text)
        if actor.wa is not None:
            await self._settle_wa(self.graph.user_sends_text(actor.wa, text))
        else:
            await self._settle(self.emu.user_sends_text(actor.user_id, text))

    async def photo(self, actor: Actor, caption: str) -> None:
        """The person sends an evidence photo (on Telegram: the script's photos are there)."""
        self.narrator.sends_photo(actor, caption)
        data = evidence_photo(caption)
        await self._settle(self.emu.user_sends_photo(actor.user_id, data, caption))

    async def tap(self, actor: Actor, label: str) -> None:
        """Tap the newest button with this label in the actor's chat (waiting for it)."""
        if actor.wa is not None:
            await self._tap_wa(actor, actor.wa, label)
            return
        try:
            message, data = await self.emu.wait_for(
                lambda: self.emu.find_button(actor.user_id, label),
                timeout=STEP_TIMEOUT,
                description=f"button [{label}] for {actor.label}",
                chat_id=actor.user_id,
            )
        except EmulatorError as exc:
            raise DemoError(
                "tombol", tombol=label, siapa=actor.label, detik=int(STEP_TIMEOUT)
            ) from exc
        self.narrator.taps(actor, label)
        await self._settle(self.emu.user_taps(actor.user_id, message.message_id, data))

    async def _tap_wa(self, actor: Actor, user: WaUser, label: str) -> None:
        """Tap the newest reply button, list row or template quick reply titled ``label``."""
        try:
            await self.graph.wait_for(
                lambda: self.graph.find_choice(user, label) is not None,
                timeout=STEP_TIMEOUT,
                what=label,
            )
        except AssertionError as exc:
            raise DemoError(
                "tombol", tombol=label, siapa=actor.label, detik=int(STEP_TIMEOUT)
            ) from exc
        self.narrator.taps(actor, label)
        await self._settle_wa(self.graph.user_taps(user, label))

    async def _settle_wa(self, posted: Awaitable[int]) -> None:
        """The webhook answers 200 once the message is handled and committed; then wait for
        what the bot promised to be delivered."""
        if await posted != 200:
            raise DemoError("tidak_menjawab", detik=int(STEP_TIMEOUT))
        await self._settle(None)

    async def _settle(self, update_id: int | None) -> None:
        """Wait until the bot handled this update and delivered every message it promised."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STEP_TIMEOUT
        while True:
            calls = len(self.emu.calls)
            async with self.db.transaction() as s:
                seen = (
                    await s.get(InboundSeen, ("telegram", str(update_id)))
                    if update_id is not None
                    else True
                )
                pending = await s.scalar(
                    select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
                )
            if seen is not None and not pending:
                self.narrator.flush()
                return
            if loop.time() > deadline:
                raise DemoError("tidak_menjawab", detik=int(STEP_TIMEOUT))
            # Every delivery is a call to the emulator: wake on the next one. A delivery is
            # marked sent just after its call, so re-check soon as well.
            with contextlib.suppress(EmulatorError):
                await self.emu.wait_for(
                    lambda calls=calls: len(self.emu.calls) > calls,  # type: ignore[misc]
                    timeout=RECHECK,
                )

    async def conversation(self, actor: Actor) -> tuple[str, dict[str, Any]] | None:
        """The person's open question as the bot stored it: (flow, state), or None."""
        async with self.db.transaction() as s:
            conv = await s.get(Conversation, actor.person_id)
            return (conv.flow, dict(conv.state)) if conv else None

    # --- the phases --------------------------------------------------------------------------

    async def register_everyone(self) -> None:
        """Everyone sends /start with their code; after the first, only the greeting is shown."""
        everyone = [a for group in self.actors.values() for a in group]
        for n, actor in enumerate(everyone):
            if n:
                self.narrator.brief.add(actor.user_id)
            # WhatsApp has no slash commands: there the words are the commands.
            await self.say(actor, f"{'' if actor.wa else '/'}start {actor.invite}")
        self.narrator.brief.clear()

    async def order(self) -> None:
        """The Camat orders the collection; the Sekcam forwards it; the planner hands out."""
        await self.say(self.one("camat"), self.script.perintah)
        await self.tap(self.one("sekcam"), texts.label("teruskan"))
        await self.tap(self.one("perencana"), texts.label("bagikan"))

    def fillers(self) -> list[Actor]:
        """Who fills a worksheet: the Kasi, then the planner (for the PK subbagian), then the
        late Kasi (who waits for the reminder)."""
        people = [*self.actors.get("kasi", []), *self.actors.get("perencana", [])]
        late = [a for a in people if a.section == self.script.terlambat]
        return [a for a in people if a not in late] + late

    async def fill_all(self) -> None:
        """Every sheet is filled; the first is shown whole, the others in brief. The late
        Kasi starts only from the reminder, sent when the demo's clock reaches it."""
        for n, actor in enumerate(self.fillers()):
            if n:
                self.narrator.brief.add(actor.user_id)
            start = texts.label("isi_sekarang")
            if actor.section == self.script.terlambat and actor.wa is not None:
                self.narrator.brief.discard(actor.user_id)
                start = await self.reminder(actor, actor.wa)
            await self.fill(actor, self.script.isian, start)
            self.narrator.brief.discard(actor.user_id)
            self.sheets += 1

    async def reminder(self, actor: Actor, user: WaUser) -> str:
        """Move the clock to the first reminder due for ``actor`` after their 24-hour window
        closed; wait for it to arrive as a template; return its quick reply's title."""
        self.narrator.flush()
        last = user.last_inbound or self.clock.now()
        async with self.db.transaction() as s:
            due = await s.scalar(
                select(func.min(Reminder.due_at)).where(
                    Reminder.person_id == actor.person_id,
                    Reminder.status == "pending",
                    Reminder.due_at > last + WINDOW,
                )
            )
        if due is None:
            raise DemoError("pengingat", siapa=actor.label)
        self.clock.jump_to(due + timedelta(minutes=1))
        when = due.astimezone(self.office_tz).strftime("%d-%m-%Y %H:%M")
        _wrapped(self.narrator.echo, texts.render("demo/waktu", waktu=when, siapa=actor.label))

        def template() -> WaSent | None:
            return next((m for m in self.graph.sent_to(user) if m.type == "template"), None)

        try:
            await self.graph.wait_for(lambda: template() is not None, STEP_TIMEOUT, "reminder")
        except AssertionError as exc:
            raise DemoError("pengingat", siapa=actor.label) from exc
        await self._settle(None)
        found = template()
        assert found is not None
        return found.choices()[0][0]

    async def fill(self, actor: Actor, answers: dict[str, dict[str, str]], start: str) -> None:
        """Answer the worksheet conversation, question by question, as the bot's state says."""
        await self.tap(actor, start)
        for _ in range(200):
            got = await self.conversation(actor)
            if got is None or got[0] != "isi":
                return
            state = got[1]
            step = state["step"]
            kode = self.kode_of.get(state.get("ind") or 0, "")
            answer = answers.get(kode, {})
            if step in ("nilai", "pembilang", "penyebut"):
                await self.say(actor, str(answer.get(step, "0")))
            elif step == "konfirmasi":
                await self.tap(actor, texts.label("ya"))
            elif step in ("kendala", "upaya"):
                if answer.get(step):
                    await self.say(actor, answer[step])
                else:
                    await self.tap(actor, texts.label("lewati"))
            elif step == "bukti":
                if answer.get("bukti"):
                    await self.photo(actor, answer["bukti"])
                else:
                    await self.tap(actor, texts.label("lewati"))
            elif step == "ringkasan":
                await self.tap(actor, texts.label("kirim"))
            else:
                raise DemoError("langkah", langkah=step)
        raise DemoError("lembar", siapa=actor.label)

    async def recap_and_return(self) -> None:
        planner = self.one("perencana")
        back = self.script.kembalikan_lembar
        await self.tap(planner, texts.label("kembalikan_lembar"))
        await self.tap(planner, back["seksi"])
        await self.say(planner, back["alasan"])
        owner = next(a for a in self.fillers() if a.section == back["seksi"])
        await self.fill(owner, back["perbaikan"], texts.label("perbaiki_sekarang"))
        await self.tap(planner, texts.label("teruskan"))

    async def approvals(self) -> None:
        sekcam, camat = self.one("sekcam"), self.one("camat")
        await self.tap(sekcam, texts.label("setujui"))
        await self.tap(camat, texts.label("kembalikan"))
        await self.say(camat, self.script.kembalikan_camat)
        await self.tap(self.one("perencana"), texts.label("teruskan"))
        await self.tap(sekcam, texts.label("setujui"))
        await self.tap(camat, texts.label("setujui"))

    async def archive(self) -> None:
        """The planner gets the e-SAKIP input file, enters it, and taps Sudah diinput."""
        planner = self.one("perencana")
        await self.emu.wait_for(
            lambda: any(
                (m.file_name or "").startswith("Input_eSAKIP")
                for m in self.emu.chat_messages(planner.user_id)
            ),
            timeout=STEP_TIMEOUT,
            description="the e-SAKIP input file for the planner",
        )
        await self.tap(planner, texts.label("sudah_diinput"))

    async def count_filled(self) -> None:
        """How many indicators the sheets of this cycle hold a value for."""
        async with self.db.transaction() as s:
            self.filled = int(
                await s.scalar(
                    select(func.count())
                    .select_from(Entry)
                    .join(Worksheet, Worksheet.id == Entry.worksheet_id)
                    .join(Cycle, Cycle.id == Worksheet.cycle_id)
                    .where(Cycle.office_id == self.office_id, Entry.filled.is_(True))
                )
                or 0
            )

    async def play(self) -> dict[str, SentMessage]:
        """The whole cycle, phase by phase; returns the final laporan and rekap messages."""
        phase = self.narrator.phase
        phase("daftar", self.script)
        await self.register_everyone()
        phase("perintah", self.script)
        await self.order()
        phase("isi", self.script)
        await self.fill_all()
        phase("rekap", self.script)
        await self.recap_and_return()
        phase("setujui", self.script)
        await self.approvals()
        phase("arsip", self.script)
        await self.archive()
        docs = await self.final_documents()
        await self.count_filled()
        return docs

    async def final_documents(self) -> dict[str, SentMessage]:
        """The final laporan and rekap as they reached the Camat (matched by their hash)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * STEP_TIMEOUT
        hashes: dict[str, str] = {}
        while len(hashes) < 2:
            calls = len(self.emu.calls)
            async with self.db.transaction() as s:
                cycle = await s.scalar(select(Cycle).where(Cycle.office_id == self.office_id))
                assert cycle is not None
                rows = await s.execute(
                    select(DocumentJob.kind, DocumentJob.status, StoredFile.sha256)
                    .outerjoin(StoredFile, StoredFile.id == DocumentJob.file_id)
                    .where(DocumentJob.cycle_id == cycle.id, DocumentJob.final.is_(True))
                )
                for kind, status, sha in rows:
                    if status == "failed":
                        raise DemoError("dokumen_gagal", jenis=kind_word(kind))
                    if status == "done" and sha:
                        hashes[kind] = sha
            if len(hashes) < 2:
                if loop.time() > deadline:
                    raise DemoError("dokumen_lama", detik=int(2 * STEP_TIMEOUT))
                with contextlib.suppress(EmulatorError):
                    await self.emu.wait_for(
                        lambda calls=calls: len(self.emu.calls) > calls,  # type: ignore[misc]
                        timeout=0.25,
                    )
        camat = self.one("camat").user_id

        def found() -> dict[str, SentMessage] | None:
            by_hash = {
                hashlib.sha256(m.file_bytes).hexdigest(): m
                for m in self.emu.chat_messages(camat)
                if m.kind == "document" and m.file_bytes
            }
            got = {k: by_hash[h] for k, h in hashes.items() if h in by_hash}
            return got if len(got) == 2 else None

        docs = await self.emu.wait_for(
            found, timeout=2 * STEP_TIMEOUT, description="laporan dan rekap final untuk Camat"
        )
        self.narrator.flush()
        return docs


async def _import_sample(db: Database, echo: Echo) -> tuple[int, dict[int, str], str]:
    """Import the sample office; returns its id, the invite code per person, and its preset."""
    spec = load_office_file(SAMPLE_OFFICE, known_presets=preset_ids())
    async with db.transaction() as s:
        report = await import_office(s, spec, now=SystemClock().now())
        office = await s.scalar(select(Office).where(Office.code == report.office_code))
        assert office is not None
        people = await s.scalars(select(Person).where(Person.office_id == office.id))
        by_name = {p.nama: p.id for p in people}
        invites = {by_name[i.nama]: i.kode for i in report.invites}
        indicators = await s.scalar(
            select(func.count()).select_from(Indicator).where(Indicator.office_id == office.id)
        )
    _wrapped(
        echo,
        texts.render(
            "demo/siap",
            kantor=spec.nama,
            seksi=len(spec.sections),
            pegawai=len(spec.people),
            indikator=indicators,
            undangan=len(invites),
            bot=BOT_USERNAME,
        ),
    )
    return office.id, invites, spec.sop


def _tracker_pid() -> int | None:
    """The pid of multiprocessing's resource tracker (started by "spawn") if it is alive."""
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    pid = getattr(tracker, "_pid", None)
    if pid is None:
        return None
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return None if done else pid


async def _join_children(
    before: set[multiprocessing.process.BaseProcess], tracker: int | None
) -> None:
    """Wait for the document worker's processes to exit (joining is the event).

    The resource tracker that "spawn" started for them is stopped too, unless it ran before.
    """
    for child in multiprocessing.active_children():
        if child in before:
            continue
        await asyncio.to_thread(child.join, 10)
        if child.is_alive():
            child.terminate()
            await asyncio.to_thread(child.join, 5)
    # The pool's queues unregister their semaphores from the tracker when they are collected;
    # stopping the tracker before that makes it report them as leaked.
    gc.collect()
    current = _tracker_pid()
    if current is not None and current != tracker:
        stop_tracker = getattr(resource_tracker._resource_tracker, "_stop", None)
        if stop_tracker is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(stop_tracker)


async def _race(work: Awaitable[Any], bot_task: asyncio.Task[None]) -> Any:
    """Run ``work`` unless the bot stops first (a crash, or Ctrl-C)."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task, bot_task}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    exc = bot_task.exception() if not bot_task.cancelled() else None
    raise DemoError("bot_berhenti", sebab=str(exc or ""))


async def _webhook_up(port: int) -> None:
    """Wait until the bot's WhatsApp webhook server accepts connections."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_TIMEOUT
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise DemoError("tidak_menjawab", detik=int(STEP_TIMEOUT)) from None
            await asyncio.sleep(RECHECK)  # polling a condition, not waiting for time
            continue
        writer.close()
        await writer.wait_closed()
        return


def _safe_name(name: str) -> str:
    """The bot's file name, without any path or odd characters."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name) or "berkas"


async def run_demo(
    out_dir: Path, *, echo: Echo = print, work_dir: Path | None = None
) -> DemoResult:
    """Run the whole demo; write the final laporan PDF and rekap xlsx into ``out_dir``.

    The database lives in ``work_dir`` (kept), or in a temporary folder removed at the end.
    """
    started = time.perf_counter()
    script = Script.load()
    with _quiet_logs():
        with contextlib.ExitStack() as stack:
            folder = work_dir or Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="kinerja-demo-"))
            )
            result = await _run(script, out_dir, echo, folder)
        result.seconds = time.perf_counter() - started
        _wrapped(echo, texts.render("demo/bersih", dihapus=work_dir is None))
        echo("")
        _wrapped(
            echo,
            texts.render(
                "demo/ringkasan",
                detik=f"{result.seconds:.1f}".replace(".", ","),
                pegawai=result.people,
                lembar=result.sheets,
                indikator=result.indicators,
                aksi=result.user_actions,
                pesan=result.bot_messages,
                periode=script.periode,
            ),
        )
    return result


async def _run(script: Script, out_dir: Path, echo: Echo, folder: Path) -> DemoResult:
    """Start the emulator and the bot, play the script, save the files, stop everything."""
    from bot.bootstrap import run_telegram

    url = f"sqlite+aiosqlite:///{folder / 'demo.db'}"
    children, tracker = set(multiprocessing.active_children()), _tracker_pid()
    emu = BotApiEmulator(token=DEMO_TOKEN, bot_username=BOT_USERNAME)
    clock = DemoClock()
    graph = GraphEmulator(app_secret=WA_SECRET, clock=clock.now)
    narrator = Narrator(emu, graph, echo)
    db = Database(url)
    demo = Demo(emu, graph, clock, db, script, narrator)
    stop = asyncio.Event()
    bot_task: asyncio.Task[None] | None = None
    try:
        await upgrade(db.engine)
        await emu.start(port=0)
        await graph.start()
        wa_port = _free_port()
        graph.webhook_url = f"http://127.0.0.1:{wa_port}/whatsapp"
        spec = load_office_file(SAMPLE_OFFICE, known_presets=preset_ids())
        _wrapped(
            echo,
            texts.render(
                "demo/pembuka", periode=script.periode, kantor=spec.nama, sop=load_preset(spec.sop)
            ),
        )
        narrator.phase("siapkan", script)
        demo.office_id, invites, preset = await _import_sample(db, echo)
        demo.office_tz = ZoneInfo(spec.zona_waktu)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            telegram_token=SecretStr(DEMO_TOKEN),
            telegram_base_url=f"http://127.0.0.1:{emu.port}",
            telegram_bot_username=BOT_USERNAME,
            telegram_webhook_url="",  # the emulator is polled
            whatsapp_phone_id=graph.phone_id,
            whatsapp_token=SecretStr("demo-lokal"),
            whatsapp_app_secret=SecretStr(WA_SECRET),
            whatsapp_verify_token=SecretStr("demo-lokal"),
            whatsapp_listen="127.0.0.1",
            whatsapp_port=wa_port,
            whatsapp_graph_url=graph.base_url,
            sweep_interval_seconds=1,  # the reminder goes out soon after the clock jumps
            delivery_limits=False,  # the emulators have no send limits to keep
            database_url=url,
        )
        bot_task = asyncio.create_task(
            run_telegram(settings, clock=clock, stop=stop), name="demo-bot"
        )
        await _race(_webhook_up(wa_port), bot_task)
        await demo.load_people(invites, preset)
        docs = await _race(demo.play(), bot_task)
        narrator.phase("berkas", script)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for kind, message in docs.items():
            path = out_dir / _safe_name(message.file_name or f"{kind}.bin")
            path.write_bytes(message.file_bytes or b"")
            paths[kind] = path
        for line in texts.render(
            "demo/berkas", laporan=paths["laporan"], rekap=paths["rekap"]
        ).splitlines():
            echo(line)
    finally:
        stop.set()
        if bot_task is not None:
            # A crash of the bot was already reported by _race; here it only has to end.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(bot_task, timeout=STEP_TIMEOUT)
        await emu.stop()
        await graph.stop()
        await db.dispose()
        await _join_children(children, tracker)
    return DemoResult(
        laporan=paths["laporan"],
        rekap=paths["rekap"],
        seconds=0.0,
        people=sum(len(g) for g in demo.actors.values()),
        sheets=demo.sheets,
        indicators=demo.filled,
        user_actions=narrator.user_actions,
        bot_messages=narrator.bot_messages,
    )
