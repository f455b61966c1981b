"""The real bot process with its WhatsApp webhook against the Graph API emulator, and players
that act for one person on WhatsApp or Telegram (for the end-to-end tests)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.offline.emulator import BotApiEmulator
from bot.offline.wa_emulator import GraphEmulator, WaUser
from storage.db import Database
from storage.models import DocumentJob, InboundSeen, Outbox
from tests.botproc import ROOT, BotProcess
from tests.botproc import User as TgUser

SECRET = "rahasia-aplikasi-uji"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def set_clock(path: Path, moment: datetime) -> None:
    """Rewrite the clock file atomically (the bot and the emulator read it at any moment)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(moment.isoformat(), encoding="utf-8")
    os.replace(tmp, path)


class WaBot(BotProcess):
    """``python -m bot jalan`` with WhatsApp (and Telegram when ``telegram``) on a file clock."""

    def __init__(
        self,
        emu: BotApiEmulator,
        graph: GraphEmulator,
        database_url: str,
        log_path: Path,
        clock_file: Path,
        *,
        telegram: bool = False,
    ) -> None:
        super().__init__(emu, database_url, log_path)
        self.graph = graph
        self.clock_file = clock_file
        self.telegram = telegram
        self.port = free_port()
        graph.webhook_url = f"http://127.0.0.1:{self.port}/whatsapp"

    def env(self) -> dict[str, str]:
        env = super().env()
        if not self.telegram:
            env["TELEGRAM_TOKEN"] = ""
        env.update(
            WHATSAPP_PHONE_ID=self.graph.phone_id,
            WHATSAPP_TOKEN="wa-token-uji",
            WHATSAPP_APP_SECRET=SECRET,
            WHATSAPP_VERIFY_TOKEN="verifikasi-uji",
            WHATSAPP_PORT=str(self.port),
            WHATSAPP_GRAPH_URL=self.graph.base_url,
            WHATSAPP_NUMBER="6281100000000",
            SWEEP_INTERVAL_SECONDS="1",
        )
        return env

    def command(self) -> list[str]:
        """The bot with its clock read from the test's file (bot/offline/clocked.py)."""
        return ["-m", "bot.offline.clocked", "--jam", str(self.clock_file), "jalan"]

    async def start(self) -> None:
        if self.telegram:
            await super().start()
        else:
            log = self.log_path.open("ab")
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *self.command(),
                cwd=ROOT,
                env=self.env(),
                stdout=log,
                stderr=log,
            )
            log.close()
        for _ in range(1200):  # the webhook server accepts connections
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            assert self.proc is not None and self.proc.returncode is None, self.log_path
            await asyncio.sleep(0.05)  # polling a condition, not waiting for time
        raise AssertionError(f"the WhatsApp webhook did not come up (log: {self.log_path})")


async def settle(db: Database, documents: bool = False) -> None:
    """Wait until every promised message (and, if asked, document) has been sent."""
    for _ in range(2400):
        async with db.transaction() as s:
            busy = await s.scalar(
                select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
            )
            if documents:
                busy += await s.scalar(
                    select(func.count())
                    .select_from(DocumentJob)
                    .where(DocumentJob.status == "pending")
                )
        if not busy:
            return
        await asyncio.sleep(0.05)  # polling a condition, not waiting for time
    raise AssertionError("the outbox did not drain")


class WaPlayer:
    """One person on WhatsApp. Every act returns once the bot answered 200 (handled and
    committed) and everything it promised has reached the emulator."""

    channel = "whatsapp"

    def __init__(self, graph: GraphEmulator, db: Database, phone: str, name: str) -> None:
        self.graph, self.db, self.name = graph, db, name
        self.user: WaUser = graph.add_user(phone, name)

    async def say(self, text: str, msg_id: str = "") -> None:
        await settle(self.db)
        assert await self.graph.user_sends_text(self.user, text, msg_id) == 200
        await settle(self.db)

    async def photo(self, content: bytes) -> None:
        await settle(self.db)
        assert await self.graph.user_sends_media(self.user, "image", content, "image/jpeg") == 200
        await settle(self.db)

    def has(self, label: str) -> bool:
        return self.graph.find_choice(self.user, label) is not None

    async def tap(self, label: str) -> None:
        """Tap ``label``; when the newest message is a template without it, first tap the
        template's quick reply that opens the whole card ("Lihat" or "Buka")."""
        await settle(self.db)
        for held in self._templates():
            choices = dict(held.choices())
            if label in choices or self._fresh(label):
                break
            opener = "Lihat" if "Lihat" in choices else next(iter(choices))
            assert await self.graph.tap_sent(self.user, held, opener) == 200
            await settle(self.db)
            if not choices[opener].startswith("open:"):
                return  # the template's one quick reply stood for the card's one button
        await self.graph.wait_for(
            lambda: self.has(label), 30, f"{label!r} for {self.name}; got: {self.recent()}"
        )
        assert await self.graph.user_taps(self.user, label) == 200
        await settle(self.db)

    def _templates(self) -> list:
        """The templates sent since the person last had an open window, newest first."""
        out = []
        for m in reversed(self.graph.sent_to(self.user)):
            if m.type != "template":
                break
            out.append(m)
        return out

    def _fresh(self, label: str) -> bool:
        """``label`` is on a message sent after the newest template (an opened card)."""
        found = self.graph.find_choice(self.user, label)
        return (
            found is not None
            and found[0].type != "template"
            and any(m.type == "template" for m in self.graph.sent_to(self.user))
            and self.graph.sent_to(self.user).index(found[0])
            > max(i for i, m in enumerate(self.graph.sent_to(self.user)) if m.type == "template")
        )

    def texts(self) -> list[str]:
        return [m.text for m in self.graph.sent_to(self.user)]

    def recent(self, n: int = 3) -> list[tuple[str, str, list]]:
        return [(m.type, m.text[:120], m.choices()) for m in self.graph.sent_to(self.user)[-n:]]


class TgPlayer:
    """One person on Telegram, through the Bot API emulator."""

    channel = "telegram"

    def __init__(self, emu: BotApiEmulator, db: Database, user_id: int, name: str) -> None:
        self.emu, self.db, self.name = emu, db, name
        self.user = TgUser(emu, user_id, name)

    async def _handled(self, update_id: int) -> None:
        for _ in range(1200):
            async with self.db.transaction() as s:
                if await s.get(InboundSeen, ("telegram", str(update_id))) is not None:
                    break
            await asyncio.sleep(0.05)  # polling a condition, not waiting for time
        else:
            raise AssertionError(f"update {update_id} of {self.name} was not handled")
        await settle(self.db)

    async def say(self, text: str) -> None:
        await settle(self.db)
        await self._handled(self.emu.user_sends_text(self.user.id, text, first_name=self.name))

    def has(self, label: str) -> bool:
        return self.emu.find_button(self.user.id, label) is not None

    async def tap(self, label: str) -> None:
        await settle(self.db)
        await self.emu.wait_for(
            lambda: self.has(label), timeout=30, description=f"{label!r} for {self.name}"
        )
        await self._handled(self.emu.user_taps_button(self.user.id, label))

    def texts(self) -> list[str]:
        return [m.text for m in self.emu.chat_messages(self.user.id)]
