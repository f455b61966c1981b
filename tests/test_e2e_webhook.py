"""Webhook mode: the real bot process behind a (local) URL; the emulator POSTs the updates."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.offline.emulator import BotApiEmulator
from tests.botproc import ROOT, TOKEN, BotProcess, User
from tests.conftest import SAMPLE_OFFICE

pytestmark = pytest.mark.e2e  # starts the bot process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_mode_answers_and_refuses_a_wrong_secret(
    emu: BotApiEmulator, db_url: str, tmp_path: Path
):
    bot = BotProcess(emu, db_url, tmp_path / "bot.log")
    await bot.cli("impor-kantor", str(SAMPLE_OFFICE))
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-kinerja"
    env = {
        **bot.env(),
        "TELEGRAM_WEBHOOK_URL": url,
        "TELEGRAM_WEBHOOK_SECRET": "rahasia-uji_123",
        "WEBHOOK_PORT": str(port),
    }
    log = (tmp_path / "bot.log").open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "jalan", cwd=ROOT, env=env, stdout=log, stderr=log
    )
    log.close()
    try:
        await emu.wait_for(lambda: emu.webhook_url == url, timeout=60, description="setWebhook")
        stranger = User(emu, 4242, "Orang Lain")
        await stranger.say("/isi", "belum terdaftar")
        assert emu.webhook_posts >= 1
        assert not emu.calls_to("getUpdates")
        # A forged update without the secret is refused and changes nothing.
        before = len(emu.chat_messages(4242))
        forged = {
            "update_id": 999999,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 4242, "type": "private"},
                "from": {"id": 4242, "is_bot": False, "first_name": "X"},
                "text": "/isi",
            },
        }
        async with aiohttp.ClientSession() as http, http.post(url, json=forged) as resp:
            assert resp.status == 403
        await stranger.say("/bantuan", "belum terdaftar")
        assert len(emu.chat_messages(4242)) == before + 1
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=30)
    assert proc.returncode == 0
    text = (tmp_path / "bot.log").read_text()
    assert "webhook mode" in text and "rahasia-uji_123" not in text and TOKEN not in text
