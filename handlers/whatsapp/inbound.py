"""Cloud API webhook JSON → channel-neutral Inbound events (commands as words)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from flows.core.messages import Inbound

CHANNEL = "whatsapp"

#: Words that are commands on WhatsApp, with or without a leading slash.
#: Words read as commands when the router knows no better (tests, tools); the webhook passes
#: the router's own command table, so a new command is a word on WhatsApp too.
WORD_COMMANDS = frozenset(
    {"mulai", "isi", "status", "rekap", "bantuan", "batal", "start", "perpanjang", "bukakembali"}
)
#: Row / payload ids the channel itself answers (not flows): the next page of a list, and
#: "open the message this template stood for".
MORE_PREFIX = "more:"
OPEN_PREFIX = "open:"


@dataclass(frozen=True)
class WaMessage:
    """One incoming message: who sent it, its id, and what it carries."""

    message_id: str
    user_id: str  # contacts[0].user_id (BSUID) when given, else the wa_id
    phone: str  # wa_id: the phone number in digits
    name: str
    kind: str  # text | tap | image | document | other
    text: str = ""
    tap_id: str = ""
    media_id: str = ""
    mime: str = ""
    filename: str = ""
    context_id: str = ""  # the id of the message that carried the button


def command_of(text: str, known: Collection[str] = WORD_COMMANDS) -> tuple[str, str]:
    """("isi", "") for "isi" or "/isi"; ("", "") when the first word is not a command."""
    head, _, rest = text.strip().partition(" ")
    word = head.lstrip("/").split("@", 1)[0].lower()
    if word in known:
        return word, rest.strip()
    return "", ""


def messages_of(body: dict[str, Any]) -> list[WaMessage]:
    """Every user message in a webhook body (statuses and other fields are ignored)."""
    out: list[WaMessage] = []
    for entry in body.get("entry") or []:
        for change in entry.get("changes") or []:
            if change.get("field") != "messages":
                continue
            value = change.get("value") or {}
            contacts = {c.get("wa_id"): c for c in value.get("contacts") or []}
            for msg in value.get("messages") or []:
                out.append(_message(msg, contacts))
    return out


def _message(msg: dict[str, Any], contacts: dict[str, dict[str, Any]]) -> WaMessage:
    phone = str(msg.get("from") or "")
    contact = contacts.get(phone) or next(iter(contacts.values()), {})
    user_id = str(contact.get("user_id") or msg.get("from_user_id") or phone)
    base = {
        "message_id": str(msg.get("id") or ""),
        "user_id": user_id,
        "phone": phone,
        "name": str((contact.get("profile") or {}).get("name") or ""),
        "context_id": str((msg.get("context") or {}).get("id") or ""),
    }
    kind = msg.get("type")
    if kind == "text":
        return WaMessage(kind="text", text=str(msg["text"].get("body", "")), **base)
    if kind == "interactive":
        inter = msg.get("interactive") or {}
        reply = inter.get("button_reply") or inter.get("list_reply") or {}
        return WaMessage(kind="tap", tap_id=str(reply.get("id", "")), **base)
    if kind == "button":  # a template's quick reply
        return WaMessage(kind="tap", tap_id=str(msg["button"].get("payload", "")), **base)
    if kind in ("image", "document"):
        item = msg.get(kind) or {}
        return WaMessage(
            kind=kind,
            text=str(item.get("caption") or ""),
            media_id=str(item.get("id", "")),
            mime=str(item.get("mime_type", "")),
            filename=str(item.get("filename") or ""),
            **base,
        )
    return WaMessage(kind="other", **base)


def to_inbound(msg: WaMessage, file: Any = None, known: Collection[str] = WORD_COMMANDS) -> Inbound:
    """The event flows understand; the update key is the message id (dedupe)."""
    common: dict[str, Any] = {
        "channel": CHANNEL,
        "address": msg.user_id,
        "update_key": msg.message_id,
        "display_name": msg.name,
        "phone": msg.phone,
    }
    if msg.kind == "tap":
        return Inbound(button=msg.tap_id or "-", message_ref=msg.context_id, **common)
    command, args = command_of(msg.text, known) if msg.kind == "text" else ("", "")
    if command:
        return Inbound(command=command, args=args, **common)
    return Inbound(text=msg.text, file=file, **common)
