"""The real bot as a separate process, polling the local Bot API emulator."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.offline.emulator import BotApiEmulator, SentMessage

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-TOKEN"


class BotProcess:
    """Start, kill and restart ``python -m bot jalan`` against the emulator."""

    def __init__(self, emu: BotApiEmulator, database_url: str, log_path: Path) -> None:
        self.emu = emu
        self.database_url = database_url
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
        env.update(
            TELEGRAM_TOKEN=TOKEN,
            TELEGRAM_BASE_URL=f"http://127.0.0.1:{self.emu.port}",
            DATABASE_URL=self.database_url,
            LOG_LEVEL="INFO",
            PYTHONPATH=str(ROOT),
        )
        # The emulators enforce no send limits, and the limiter's real-time pacing (about one
        # message a second per chat) would only make the tests wait. It has tests of its own:
        # tests/test_ratelimit.py (simulated time) and tests/test_e2e_delivery_workers.py (real
        # processes with the limits on).
        env.setdefault("DELIVERY_LIMITS", "false")
        return env

    async def cli(self, *args: str) -> str:
        """Run an admin command to completion and return what it printed."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=ROOT,
            env=self.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
        text = out.decode()
        if proc.returncode != 0:
            raise AssertionError(f"kinerja-bot {' '.join(args)} failed:\n{text}")
        return text

    def command(self) -> list[str]:
        """The Python arguments that run the bot."""
        return ["-m", "bot", "jalan"]

    async def start(self) -> None:
        """Start the bot and return once it has asked for updates (a new poll has arrived: a
        dead predecessor cannot start one), without waiting for that long poll to end."""
        polls = self.emu.polls_started
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
        await self.emu.wait_for(
            lambda: self.emu.polls_started > polls,
            timeout=60,
            description=f"the bot to poll (log: {self.log_path})",
        )

    async def kill(self) -> None:
        """A crash: no clean shutdown, no confirmed offsets."""
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()
        self.proc = None

    async def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout=30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self.proc = None


class User:
    """One person in a Telegram chat with the bot."""

    def __init__(self, emu: BotApiEmulator, user_id: int, name: str) -> None:
        self.emu = emu
        self.id = user_id
        self.name = name
        emu.add_user(user_id, name)

    async def say(self, text: str, expect: str | None = None) -> SentMessage:
        """Send a text and wait for the bot's answer (containing ``expect``, if given)."""
        mark = self.emu.mark(self.id)
        self.emu.user_sends_text(self.id, text, first_name=self.name)
        return await self.emu.wait_for_message(self.id, expect, after=mark, timeout=30)

    async def photo(self, data: bytes, expect: str | None = None) -> SentMessage:
        mark = self.emu.mark(self.id)
        self.emu.user_sends_photo(self.id, data, first_name=self.name)
        return await self.emu.wait_for_message(self.id, expect, after=mark, timeout=30)

    async def tap(self, label: str, expect: str | None = None) -> SentMessage:
        mark = self.emu.mark(self.id)
        self.emu.user_taps_button(self.id, label)
        return await self.emu.wait_for_message(self.id, expect, after=mark, timeout=30)

    async def wait(self, expect: str) -> SentMessage:
        return await self.emu.wait_for_message(self.id, expect, timeout=30)
