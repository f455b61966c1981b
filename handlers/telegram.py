"""Telegram edge: turn PTB updates into Inbound events, and outbox rows into Bot API calls."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder

from flows.core.messages import Inbound, InboundFile
from flows.core.router import Core
from flows.domain.limits import evidence_allowed
from handlers.ports import (
    DeliveryFailed,
    DeliveryJob,
    DeliveryRetry,
    UnreadableUpdate,
    split_text,
)

log = logging.getLogger(__name__)

CHANNEL = "telegram"
CALLBACK_PREFIX = "k:"
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile's own limit on the public Bot API
MAX_TEXT = 4096


def build_application(token: str, api_url: str, file_url: str) -> Application:
    """The PTB application, used only as the Bot API client (we poll and dispatch ourselves).

    No PTB rate limiter: the delivery worker's own (``bot.workers.ratelimit``) paces sends."""
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(api_url)
        .base_file_url(file_url)
        .updater(None)
        .build()
    )


def _log_update(update_id: int, kind: str, chat: str, handled: bool) -> None:
    """One line per update for the operator: ids and kind only, no names, no text."""
    result = "handled" if handled else "duplicate"
    log.info("update %s kind=%s chat=%s result=%s", update_id, kind, chat, result)


def _command(text: str) -> tuple[str, str]:
    head, _, rest = text.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    return name, rest.strip()


async def _file_of(message: Message) -> InboundFile | None:
    """Download a photo (largest size) or document the person sent."""
    if message.photo:
        photo = message.photo[-1]
        size = photo.file_size or 0
        name = f"foto_{photo.file_unique_id}.jpg"
        kind, file_id, mime = "photo", photo.file_id, "image/jpeg"
    elif message.document:
        doc = message.document
        size = doc.file_size or 0
        name = doc.file_name or f"dokumen_{doc.file_unique_id}"
        kind, file_id, mime = "document", doc.file_id, doc.mime_type or ""
    else:
        return None
    content = b""
    if size <= MAX_DOWNLOAD and evidence_allowed(name, mime):
        tg_file = await message.get_bot().get_file(file_id)
        content = bytes(await tg_file.download_as_bytearray())
        size = len(content)
    return InboundFile(kind, content, name, size, mime, file_id)


def _other_kind(message: Message) -> str:
    """What a message carries when it is neither text nor a photo/document."""
    for kind in ("voice", "audio", "video", "video_note", "sticker", "location", "contact"):
        if getattr(message, kind, None):
            return kind
    return "" if (message.text or message.caption) else "other"


async def on_message(update: Update, core: Core) -> None:
    """Any private message: a command, an answer, or a file (edited ones only get a note)."""
    edited = update.edited_message is not None
    message = update.effective_message
    if message is None or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    text = message.text or message.caption or ""
    command, args = _command(text) if text.startswith("/") else ("", "")
    file = None if edited else await _file_of(message)
    inbound = Inbound(
        channel=CHANNEL,
        address=str(update.effective_chat.id),
        update_key=str(update.update_id),
        text=text if not command else "",
        command=command,
        args=args,
        file=file,
        edited=edited,
        other="" if (command or file) else _other_kind(message),
    )
    kind = "edited" if edited else "command" if command else "file" if file else "text"
    reply = await core.handle(inbound)
    _log_update(update.update_id, kind, inbound.address, reply.handled)


async def on_tap(update: Update, core: Core) -> None:
    """A button tap: only the opaque token travels; the server checks the rest."""
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    data = query.data or ""
    token = data[len(CALLBACK_PREFIX) :] if data.startswith(CALLBACK_PREFIX) else ""
    inbound = Inbound(
        channel=CHANNEL,
        address=str(update.effective_chat.id),
        update_key=str(update.update_id),
        button=token or "-",
        message_ref=str(query.message.message_id) if query.message else "",
    )
    reply = await core.handle(inbound)
    _log_update(update.update_id, "tap", inbound.address, reply.handled)
    with contextlib.suppress(TelegramError):  # too old to answer; the tap was still handled
        await query.answer(reply.toast[:200] or None)


class TelegramInbox:
    """Handles one stored raw update (from the inbox) through the core."""

    def __init__(self, bot: Bot, core: Core) -> None:
        self.bot = bot
        self.core = core

    async def __call__(self, payload: dict[str, Any]) -> None:
        try:
            update = Update.de_json(payload, self.bot)
        except Exception as exc:  # whatever this PTB version cannot read
            raise UnreadableUpdate(type(exc).__name__) from exc
        if update is None:
            raise UnreadableUpdate("empty")
        if update.callback_query is not None:
            await on_tap(update, self.core)
        elif update.message is not None or update.edited_message is not None:
            await on_message(update, self.core)
        # Any other kind (channel posts, member changes) is stored and ignored.


def _markup(buttons: list[list[dict[str, str]]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b["label"], callback_data=CALLBACK_PREFIX + b["token"])
                for b in row
            ]
            for row in buttons
        ]
    )


class TelegramSender:
    """Sends outbox jobs through the Bot API; maps errors to retry or give up."""

    def __init__(self, app: Application) -> None:
        self.bot = app.bot

    async def send(self, job: DeliveryJob) -> str:
        try:
            return await self._send(job)
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            raise DeliveryRetry(seconds) from exc
        except (BadRequest, Forbidden) as exc:  # BadRequest is a NetworkError: check it first
            raise DeliveryFailed(str(exc)) from exc
        except (TimedOut, NetworkError) as exc:
            raise DeliveryRetry(None) from exc

    async def _send(self, job: DeliveryJob) -> str:
        chat = int(job.address)
        markup = _markup(job.buttons)
        if job.edit_message_id:
            try:
                if job.text:
                    await self.bot.edit_message_text(
                        job.text[:MAX_TEXT],
                        chat_id=chat,
                        message_id=int(job.edit_message_id),
                        reply_markup=markup,
                    )
                else:
                    await self.bot.edit_message_reply_markup(
                        chat_id=chat, message_id=int(job.edit_message_id), reply_markup=markup
                    )
            except BadRequest as exc:
                if "not modified" not in str(exc).lower():
                    raise
            return job.edit_message_id
        if job.document is not None:
            name, content = job.document
            msg = await self.bot.send_document(
                chat,
                document=content,
                filename=name,
                caption=job.text[:1024] or None,
                reply_markup=markup,
            )
            return str(msg.message_id)
        parts = split_text(job.text)
        msg_id = ""
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            msg = await self.bot.send_message(chat, part, reply_markup=markup if last else None)
            msg_id = str(msg.message_id)
        return msg_id
