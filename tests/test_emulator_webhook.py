"""The emulator's webhook push with several connections (Telegram's ``max_connections``)."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
from aiohttp import web

from bot.offline.emulator import BotApiEmulator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_several_chats_at_once_each_chat_in_order_and_a_refusal_retried(
    emu: BotApiEmulator,
) -> None:
    arrived: list[tuple[int, str]] = []
    in_flight: set[int] = set()
    same_chat_overlap = False
    most = 0
    two_at_once = asyncio.Event()
    refused_once = False

    async def hook(request: web.Request) -> web.Response:
        nonlocal same_chat_overlap, most, refused_once
        update = await request.json()
        chat, text = update["message"]["chat"]["id"], update["message"]["text"]
        if chat == 2 and text == "1" and not refused_once:
            refused_once = True
            return web.Response(status=502)  # sent again, and chat 2 waits for it
        same_chat_overlap |= chat in in_flight
        in_flight.add(chat)
        most = max(most, len(in_flight))
        if len(in_flight) >= 2:
            two_at_once.set()
        await asyncio.wait_for(two_at_once.wait(), timeout=10)
        arrived.append((chat, text))
        in_flight.discard(chat)
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        emu.webhook_connections = 4
        for chat in (1, 2, 3):
            emu.add_user(chat, f"Orang {chat}")
        for i in range(5):
            for chat in (1, 2, 3):
                emu.user_sends_text(chat, str(i))
        url = f"{emu.base_url}{emu.token}/setWebhook"
        async with aiohttp.ClientSession() as http, http.post(url, json={"url": "x"}) as resp:
            assert resp.status == 400  # not an http(s) URL
        hook_url = f"http://127.0.0.1:{port}/hook"
        async with aiohttp.ClientSession() as http, http.post(url, json={"url": hook_url}):
            pass
        await emu.wait_for(lambda: emu.webhook_posts == 15, timeout=30, description="15 posts")
    finally:
        await runner.cleanup()
    assert refused_once and not same_chat_overlap and most >= 2
    for chat in (1, 2, 3):
        assert [t for c, t in arrived if c == chat] == ["0", "1", "2", "3", "4"]
    assert emu.pending_updates == []
