"""Telegram intake: updates are committed to the inbox before Telegram learns they arrived.

Polling confirms a batch (the next ``getUpdates`` offset) only after its rows commit; the
webhook answers 200 only after the row commits. Handling happens later, from the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from telegram import Bot
from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

from flows.core.context import Clock
from storage import inbox
from storage.db import Database

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
POLL_TIMEOUT = 10
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def store_updates(db: Database, clock: Clock, updates: list[Any]) -> tuple[int | None, int]:
    """Commit raw updates; returns (highest update id seen, how many were new)."""
    highest: int | None = None
    new = 0
    async with db.transaction() as session:
        for raw in updates:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                log.error("update without an id ignored")
                continue
            highest = update_id if highest is None else max(highest, update_id)
            stored = await inbox.store(
                session, CHANNEL, str(update_id), raw, clock.now(), chat=chat_of(raw)
            )
            new += stored
    return highest, new


def chat_of(raw: dict[str, Any]) -> str | None:
    """Whose update this is (the sender's user id, else the chat's id), for per-chat order."""
    for kind in ("message", "edited_message", "callback_query"):
        body = raw.get(kind)
        if not isinstance(body, dict):
            continue
        sender = body.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return str(sender["id"])
        chat = body.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return str(chat["id"])
    return None


class NotThePoller(Exception):
    """Another process polls for this database now: this one must stop polling."""


class TelegramPoller:
    """Our own ``getUpdates`` loop: the offset moves only past committed updates.

    ``keep`` (when given) runs before every poll and answers whether this process may still
    poll (:class:`NotThePoller` ends the loop when not); a 409 Conflict (another consumer of
    this token) ends it too: the two would only keep ending each other's polls.
    """

    def __init__(
        self,
        bot: Bot,
        db: Database,
        clock: Clock,
        on_stored: Callable[[], None],
        keep: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.bot = bot
        self.db = db
        self.clock = clock
        self.on_stored = on_stored
        self.keep = keep
        self.offset: int | None = None

    async def poll_once(self) -> int:
        """One long poll; returns how many new updates were stored."""
        data: dict[str, Any] = {"timeout": POLL_TIMEOUT, "allowed_updates": ALLOWED_UPDATES}
        if self.offset is not None:
            data["offset"] = self.offset
        # Bot.get_updates would parse the whole batch and fail on one unreadable update;
        # the raw call keeps every update as Telegram sent it.
        raw = await self.bot._post("getUpdates", data, read_timeout=POLL_TIMEOUT + 10)
        highest, new = await store_updates(self.db, self.clock, list(raw or []))
        if highest is not None:
            self.offset = highest + 1
        if new:
            self.on_stored()
        return new

    async def run(self, stop: asyncio.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                if self.keep is not None and not await self.keep():
                    raise NotThePoller
                await self.poll_once()
                delay = 1.0
                continue
            except (InvalidToken, Forbidden, NotThePoller):
                raise
            except RetryAfter as exc:
                wait = exc.retry_after
                pause = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            except Conflict:
                log.error("another process polls this bot (409 Conflict); this one stops")
                raise
            except NetworkError as exc:
                log.warning("polling failed (%s); retrying in %.0f s", type(exc).__name__, delay)
                pause, delay = delay, min(delay * 2, 60.0)
            except Exception:  # a database hiccup: keep the offset, try again
                log.exception("storing updates failed; retrying in %.0f s", delay)
                pause, delay = delay, min(delay * 2, 60.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)


class TelegramWebhook:
    """A small HTTP server for Telegram's POSTs: secret first, bounded body, 200 after commit."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        secret: str,
        path: str,
        max_body: int,
        on_stored: Callable[[], None],
    ) -> None:
        if not secret:
            raise ValueError("webhook mode needs a secret")
        self.db = db
        self.clock = clock
        self.secret = secret.encode()
        self.path = "/" + path.lstrip("/")
        self.max_body = max_body
        self.on_stored = on_stored
        self.runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body)
        app.router.add_post(self.path, self.receive)
        return app

    async def start(self, host: str, port: int) -> None:
        self.runner = web.AppRunner(self.app(), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, host, port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            return web.Response(status=403)
        length = request.content_length
        if length is not None and length > self.max_body:
            return web.Response(status=413)
        try:
            body = await request.read()  # aiohttp stops at client_max_size (413)
            payload = json.loads(body)
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413)
        except ValueError:
            log.error("webhook body is not JSON; refused")
            return web.Response(status=400)
        highest, new = await store_updates(self.db, self.clock, [payload])
        if highest is None:
            return web.Response(status=400)
        if new:
            self.on_stored()
        return web.Response(status=200)
