"""A small local WhatsApp Cloud API (Graph API) emulator for tests and the offline demo.

An :mod:`aiohttp.web` server on the caller's loop (127.0.0.1, random port). The bot's pywa
client reaches it through :func:`handlers.whatsapp.sender.graph_client` (pywa hard-codes the
Graph host, so the httpx transport rewrites it). The emulator records sends, serves media,
enforces WhatsApp's limits and the 24-hour customer-service window (error 131047, by an
injectable clock) and POSTs **signed** webhook events in the Cloud API's JSON shapes.

Nothing is created at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import ClientSession, web

__all__ = ["GraphEmulator", "WaSent", "WaUser", "sign"]

MAX_TEXT = 4096
MAX_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
WINDOW = timedelta(hours=24)

# Cloud API error codes the bot must tell apart.
WINDOW_CLOSED = 131047
THROUGHPUT = 130429
UNDELIVERABLE = 131026
INVALID_PARAMETER = 100
TEMPLATE_PARAMS = 132000  # the parameters do not match the approved template
TEMPLATE_MISSING = 132001  # no approved template of that name and language

#: The approved templates (as submitted to Meta, see the README): name → (body parameter
#: count, quick-reply titles).
TEMPLATES: dict[str, tuple[int, list[str]]] = {
    "kinerja_pemberitahuan": (1, ["Buka"]),
    "kinerja_pengingat": (1, ["Buka"]),
    "kinerja_persetujuan": (1, ["Setujui", "Lihat"]),
}


def sign(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` header value Meta sends."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class WaUser:
    """A WhatsApp user: phone (``wa_id``), the business-scoped ``user_id`` and a name."""

    wa_id: str
    user_id: str
    name: str
    last_inbound: datetime | None = None
    blocked: bool = False


@dataclass
class WaSent:
    """One message the bot sent."""

    id: str
    to: str  # the user_id (or wa_id) it was addressed to
    type: str
    payload: dict[str, Any]
    at: datetime
    #: The quick-reply titles of a template (as approved), in button order.
    titles: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        if self.type == "text":
            return self.payload["text"]["body"]
        if self.type == "interactive":
            return self.payload["interactive"]["body"]["text"]
        if self.type == "document":
            return self.payload["document"].get("caption", "")
        if self.type == "template":
            comps = self.payload["template"].get("components", [])
            return " | ".join(
                p.get("text", "")
                for c in comps
                if c.get("type") == "body"
                for p in c.get("parameters", [])
            )
        return ""

    def choices(self) -> list[tuple[str, str]]:
        """(title, id / payload) of every reply button, list row or template quick reply."""
        if self.type == "interactive":
            inter = self.payload["interactive"]
            if inter["type"] == "button":
                return [(b["reply"]["title"], b["reply"]["id"]) for b in inter["action"]["buttons"]]
            if inter["type"] == "list":
                return [
                    (r["title"], r["id"]) for s in inter["action"]["sections"] for r in s["rows"]
                ]
        if self.type == "template":
            out = []
            for c in self.payload["template"].get("components", []):
                if c.get("type") == "button":
                    i = int(c["index"])
                    title = self.titles[i] if i < len(self.titles) else f"#{i}"
                    out.append((title, c["parameters"][0]["payload"]))
            return out
        return []


@dataclass
class _Media:
    content: bytes
    mime: str
    filename: str = ""


class _ApiError(Exception):
    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class GraphEmulator:
    """The fake Graph API plus the users' side (``user_sends_*``)."""

    app_secret: str
    phone_id: str = "1000000001"
    webhook_url: str = ""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    users: dict[str, WaUser] = field(default_factory=dict)
    sent: list[WaSent] = field(default_factory=list)
    media: dict[str, _Media] = field(default_factory=dict)
    #: Error codes to answer the next sends with (a test sets ``[130429]``).
    fail_next: list[int] = field(default_factory=list)
    #: Approved templates: name → (body parameter count, quick-reply titles).
    templates: dict[str, tuple[int, list[str]]] = field(default_factory=lambda: dict(TEMPLATES))
    #: Every tap the users made: (user name, choice title, type of the message tapped).
    taps: list[tuple[str, str, str]] = field(default_factory=list)
    #: Statuses of webhook POSTs (200, 403 ...).
    webhook_statuses: list[int] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()

    # --- server ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_post("/{version}/{phone}/messages", self._messages)
        app.router.add_post("/{version}/{phone}/media", self._upload)
        app.router.add_get("/file/{media_id}", self._download)
        app.router.add_get("/{version}/{media_id}", self._media_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    # --- the users' side ------------------------------------------------------------------

    def add_user(self, phone: str, name: str) -> WaUser:
        """A user by phone (digits, country code first); ``user_id`` is a BSUID-like id."""
        wa_id = "".join(ch for ch in phone if ch.isdigit())
        user = WaUser(wa_id=wa_id, user_id=f"ID.{wa_id[-9:]}", name=name)
        self.users[user.user_id] = user
        return user

    def event(self, user: WaUser, message: dict[str, Any]) -> dict[str, Any]:
        """A ``messages`` webhook body in the Cloud API's shape."""
        message = {
            "from": user.wa_id,
            "from_user_id": user.user_id,
            "id": message.pop("id", None) or self._next_id("wamid.IN"),
            "timestamp": str(int(self.clock().timestamp())),
            **message,
        }
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WABA1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "6281100000000",
                                    "phone_number_id": self.phone_id,
                                },
                                "contacts": [
                                    {
                                        "profile": {"name": user.name},
                                        "wa_id": user.wa_id,
                                        "user_id": user.user_id,
                                    }
                                ],
                                "messages": [message],
                            },
                        }
                    ],
                }
            ],
        }

    async def post(self, body: dict[str, Any] | bytes, *, signature: str | None = "good") -> int:
        """POST a webhook body to the bot, signed unless told otherwise; returns the status."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "good":
            headers["X-Hub-Signature-256"] = sign(raw, self.app_secret)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        async with (
            ClientSession() as http,
            http.post(self.webhook_url, data=raw, headers=headers) as resp,
        ):
            await resp.read()
            self.webhook_statuses.append(resp.status)
            return resp.status

    async def _user_event(self, user: WaUser, message: dict[str, Any]) -> tuple[str, int]:
        user.last_inbound = self.clock()
        body = self.event(user, message)
        msg_id = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        return msg_id, await self.post(body)

    async def user_sends_text(self, user: WaUser, text: str, msg_id: str = "") -> int:
        return (
            await self._user_event(user, {"id": msg_id, "type": "text", "text": {"body": text}})
        )[1]

    def find_choice(self, user: WaUser, title: str) -> tuple[WaSent, str, str] | None:
        """The newest message to ``user`` with a choice titled ``title`` ("#0": a template's
        first quick reply), with that choice's title and id."""
        for sent in reversed(self.sent_to(user)):
            for choice_title, choice_id in sent.choices():
                if choice_title == title or (sent.type == "template" and title == "#0"):
                    return sent, choice_title, choice_id
        return None

    async def user_taps(self, user: WaUser, title: str, *, msg_id: str = "") -> int:
        """Tap a reply button, a list row or a template quick reply of the latest card."""
        found = self.find_choice(user, title)
        if found is None:
            raise AssertionError(f"no button {title!r} sent to {user.name}")
        return await self._tap(user, *found, msg_id)

    async def tap_sent(self, user: WaUser, sent: WaSent, title: str) -> int:
        """Tap the choice ``title`` of that very message (an older card, say)."""
        choice = dict(sent.choices())[title]
        return await self._tap(user, sent, title, choice, "")

    async def _tap(
        self, user: WaUser, sent: WaSent, title: str, choice_id: str, msg_id: str
    ) -> int:
        context = {"from": self.phone_id, "id": sent.id}
        self.taps.append((user.name, title, sent.type))
        if sent.type == "template":
            message = {"type": "button", "button": {"payload": choice_id, "text": title}}
        elif sent.payload["interactive"]["type"] == "list":
            message = {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": choice_id, "title": title},
                },
            }
        else:
            message = {
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": choice_id, "title": title},
                },
            }
        return (await self._user_event(user, {"id": msg_id, "context": context, **message}))[1]

    async def user_sends_media(
        self, user: WaUser, kind: str, content: bytes, mime: str, filename: str = ""
    ) -> int:
        """An image or document: stored here, referenced by media id in the event."""
        media_id = self._next_id("MEDIA")
        self.media[media_id] = _Media(content, mime, filename)
        item: dict[str, Any] = {"id": media_id, "mime_type": mime, "sha256": "x"}
        if kind == "document":
            item["filename"] = filename
        return (await self._user_event(user, {"type": kind, kind: item}))[1]

    def sent_to(self, user: WaUser) -> list[WaSent]:
        return [s for s in self.sent if s.to in (user.user_id, user.wa_id)]

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 20, what: str = "a send"
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.5))

    # --- the Graph API --------------------------------------------------------------------

    @staticmethod
    def _error(exc: _ApiError) -> web.Response:
        return web.json_response(
            {
                "error": {
                    "message": exc.message,
                    "type": "OAuthException",
                    "code": exc.code,
                    "error_data": {"messaging_product": "whatsapp", "details": exc.message},
                    "fbtrace_id": "EMU",
                }
            },
            status=exc.status,
        )

    async def _messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            if not request.headers.get("Authorization", "").startswith("Bearer "):
                raise _ApiError(190, "Invalid OAuth access token", 401)
            to = body.get("recipient") or body.get("to") or ""
            user = self.users.get(to) or next(
                (u for u in self.users.values() if u.wa_id == to), None
            )
            if user is None:
                raise _ApiError(UNDELIVERABLE, "Message undeliverable")
            if self.fail_next:
                raise _ApiError(self.fail_next.pop(0), "Injected failure")
            if user.blocked:
                raise _ApiError(UNDELIVERABLE, "Message undeliverable")
            kind = body.get("type", "text")
            self._check(kind, body)
            titles = self._check_template(body) if kind == "template" else []
            now = self.clock()
            if kind != "template" and (
                user.last_inbound is None or now - user.last_inbound > WINDOW
            ):
                raise _ApiError(
                    WINDOW_CLOSED,
                    "Re-engagement message: more than 24 hours have passed since the "
                    "recipient last replied",
                )
        except _ApiError as exc:
            return self._error(exc)
        sent = WaSent(self._next_id("wamid.OUT"), to, kind, body, now, titles)
        self.sent.append(sent)
        self._changed.set()
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": user.wa_id, "user_id": user.user_id}],
                "messages": [{"id": sent.id}],
            }
        )

    @staticmethod
    def _check(kind: str, body: dict[str, Any]) -> None:
        def bad(what: str) -> _ApiError:
            return _ApiError(INVALID_PARAMETER, f"(#100) Invalid parameter: {what}")

        if kind == "text":
            text = body["text"]["body"]
            if not text or len(text) > MAX_TEXT:
                raise bad("text.body length")
        elif kind == "interactive":
            inter = body["interactive"]
            if len(inter["body"]["text"]) > MAX_BODY:
                raise bad("interactive.body.text longer than 1024")
            if inter["type"] == "button":
                buttons = inter["action"]["buttons"]
                titles = [b["reply"]["title"] for b in buttons]
                if not 1 <= len(buttons) <= MAX_BUTTONS:
                    raise bad("buttons count")
                if any(not t or len(t) > MAX_BUTTON_TITLE for t in titles):
                    raise bad("button title length")
                if len(set(titles)) != len(titles):
                    raise bad("button titles must be unique")
            elif inter["type"] == "list":
                rows = [r for s in inter["action"]["sections"] for r in s["rows"]]
                if not 1 <= len(rows) <= MAX_ROWS:
                    raise bad("list rows count")
                if any(not r["title"] or len(r["title"]) > MAX_ROW_TITLE for r in rows):
                    raise bad("row title length")
                if len(inter["action"].get("button", "")) > MAX_BUTTON_TITLE:
                    raise bad("list button length")
        elif kind == "document":
            if "id" not in body["document"] and "link" not in body["document"]:
                raise bad("document.id")
        elif kind == "template":
            if not body["template"].get("name"):
                raise bad("template.name")
        else:
            raise bad(f"type {kind}")

    def _check_template(self, body: dict[str, Any]) -> list[str]:
        """An approved template with as many body parameters and buttons as approved."""
        tpl = body["template"]
        known = self.templates.get(tpl["name"])
        if known is None:
            raise _ApiError(TEMPLATE_MISSING, f"Template name does not exist: {tpl['name']}")
        count, titles = known
        comps = tpl.get("components", [])
        params = [p for c in comps if c.get("type") == "body" for p in c.get("parameters", [])]
        buttons = [c for c in comps if c.get("type") == "button"]
        if len(params) != count or any("\n" in p.get("text", "") for p in params):
            raise _ApiError(TEMPLATE_PARAMS, "Number of parameters does not match")
        if any(int(b.get("index", 99)) >= len(titles) for b in buttons):
            raise _ApiError(TEMPLATE_PARAMS, "Button index out of range")
        return titles

    async def _upload(self, request: web.Request) -> web.Response:
        reader = await request.post()
        upload = reader.get("file")
        if not isinstance(upload, web.FileField):
            return self._error(_ApiError(INVALID_PARAMETER, "file missing"))
        media_id = self._next_id("UPL")
        self.media[media_id] = _Media(
            upload.file.read(), str(reader.get("type", "")), upload.filename or ""
        )
        return web.json_response({"id": media_id})

    async def _media_url(self, request: web.Request) -> web.Response:
        media = self.media.get(request.match_info["media_id"])
        if media is None:
            return self._error(_ApiError(INVALID_PARAMETER, "unknown media", 404))
        media_id = request.match_info["media_id"]
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}/file/{media_id}",
                "mime_type": media.mime,
                "sha256": hashlib.sha256(media.content).hexdigest(),
                "file_size": len(media.content),
                "id": media_id,
            }
        )

    async def _download(self, request: web.Request) -> web.Response:
        media = self.media.get(request.match_info["media_id"])
        if media is None:
            return web.Response(status=404)
        return web.Response(body=media.content, content_type=media.mime or None)

    def document(self, sent: WaSent) -> tuple[str, bytes]:
        """The file name and bytes of a document the bot sent."""
        doc = sent.payload["document"]
        return doc.get("filename", ""), self.media[doc["id"]].content
