"""The WhatsApp webhook: verify-token handshake, signed POSTs, handled before the 200."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import httpx
from aiohttp import web
from pywa_async import WhatsApp

from flows.core import texts
from flows.core.messages import InboundFile
from flows.core.router import Core
from handlers.whatsapp.inbound import (
    CHANNEL,
    MORE_PREFIX,
    OPEN_PREFIX,
    WaMessage,
    messages_of,
    to_inbound,
)
from handlers.whatsapp.sender import WhatsAppSender
from storage.models import InboundSeen, Outbox

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # a webhook body is a few KB; media come by id, not inline
MAX_DOWNLOAD = 20 * 1024 * 1024


def signature_ok(body: bytes, header: str, app_secret: str) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body with the app secret>``."""
    if not header.startswith("sha256="):
        return False
    want = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, header[7:])


class WhatsAppWebhook:
    """An aiohttp app in the bot's own event loop; each message goes through the core."""

    def __init__(
        self,
        core: Core,
        client: WhatsApp,
        sender: WhatsAppSender,
        *,
        app_secret: str,
        verify_token: str,
        path: str = "/whatsapp",
    ) -> None:
        if not app_secret:  # pywa would silently skip the check; we refuse instead
            raise ValueError("WhatsApp needs its app secret to check webhook signatures")
        self.core = core
        self.wa = client
        self.sender = sender
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.path = path

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get(self.path, self.verify)
        app.router.add_post(self.path, self.receive)
        return app

    async def verify(self, request: web.Request) -> web.Response:
        """Meta's subscription handshake: echo the challenge when the token matches."""
        q = request.query
        token_ok = hmac.compare_digest(q.get("hub.verify_token", ""), self.verify_token)
        if q.get("hub.mode") == "subscribe" and self.verify_token and token_ok:
            return web.Response(text=q.get("hub.challenge", ""))
        log.warning("whatsapp webhook verification refused")
        return web.Response(status=403)

    async def receive(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            log.warning("whatsapp webhook body too large: %s bytes", request.content_length)
            return web.Response(status=413)
        body = await request.content.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            log.warning("whatsapp webhook body too large")
            return web.Response(status=413)
        if not signature_ok(body, request.headers.get("X-Hub-Signature-256", ""), self.app_secret):
            log.warning("whatsapp webhook refused: bad or missing signature")
            return web.Response(status=403)
        try:
            data = json.loads(body)
            messages = messages_of(data)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("whatsapp webhook body is not a Cloud API event")
            return web.Response(status=400)
        for msg in messages:
            await self._handle(msg)
        return web.Response(text="OK")

    async def _handle(self, msg: WaMessage) -> None:
        """One message, handled and committed before the 200; a failure is logged and
        recorded as seen, so Meta's redelivery does not loop on it."""
        try:
            if msg.kind == "tap" and msg.tap_id.startswith((MORE_PREFIX, OPEN_PREFIX)):
                await self._channel_tap(msg)
                return
            file = await self._download(msg) if msg.kind in ("image", "document") else None
            reply = await self.core.handle(to_inbound(msg, file, self.core.router.commands))
            result = "handled" if reply.handled else "duplicate"
        except Exception:
            log.exception("whatsapp message %s failed", msg.message_id)
            await self._mark_seen(msg.message_id)
            result = "failed"
        log.info("whatsapp message %s kind=%s result=%s", msg.message_id, msg.kind, result)

    async def _mark_seen(self, key: str) -> bool:
        """Record a message id; False when it was already there."""
        async with self.core.db.transaction() as session:
            if await session.get(InboundSeen, (CHANNEL, key)) is not None:
                return False
            session.add(InboundSeen(channel=CHANNEL, key=key, at=self.core.clock.now()))
        return True

    async def _download(self, msg: WaMessage) -> InboundFile:
        """Fetch the media at once (its URL expires in minutes), up to the size limit."""
        url = await self.wa.get_media_url(msg.media_id)
        size = int(url.file_size or 0)
        content = b""
        if size <= MAX_DOWNLOAD:
            content = await self.wa.get_media_bytes(url.url)
            size = len(content)
        kind = "photo" if msg.kind == "image" else "document"
        ext = (url.mime_type or "image/jpeg").split("/")[-1]
        name = msg.filename or f"foto_{msg.media_id}.{ext}"
        return InboundFile(kind, content, name, size, url.mime_type or msg.mime, msg.media_id)

    async def _channel_tap(self, msg: WaMessage) -> None:
        """Taps the channel answers itself: the next page of a list, or "open" on a template
        (the person wrote, the window is open: the held message goes out in full)."""
        if not await self._mark_seen(msg.message_id):
            return
        prefix, _, rest = msg.tap_id.partition(":")
        outbox_id, _, start = rest.partition(":")
        async with self.core.db.transaction() as session:
            row = await session.get(Outbox, int(outbox_id))
            if row is None or row.channel != CHANNEL or row.address != msg.user_id:
                return
            payload: dict[str, Any] = dict(row.payload)
            if prefix + ":" == OPEN_PREFIX:
                session.add(
                    Outbox(
                        dedupe_key=f"open:{row.id}:{msg.message_id}"[:120],
                        channel=row.channel,
                        address=row.address,
                        person_id=row.person_id,
                        payload={k: v for k, v in payload.items() if k != "template"},
                        group_key=row.group_key,
                        status="pending",
                        created_at=self.core.clock.now(),
                    )
                )
        if prefix + ":" == OPEN_PREFIX:
            self.core.on_outbox()
            return
        choices = [b for r in payload.get("buttons", []) for b in r]
        text = payload.get("text", "")
        body = text if len(text) <= 1024 else texts.render("wa/pilih")
        try:
            await self.sender.send_page(msg.user_id, body, choices, int(outbox_id), int(start))
        except (httpx.HTTPError, Exception):  # the person can ask again; nothing changed
            log.exception("whatsapp list page for outbox %s failed", outbox_id)
