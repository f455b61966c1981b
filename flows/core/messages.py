"""Channel-neutral messages: what a person sent, and what the bot answers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class InboundFile:
    """A photo or document the person sent, already downloaded by the channel handler."""

    kind: str  # "photo" | "document"
    content: bytes  # empty when the file was too large to fetch
    file_name: str
    size: int
    mime: str = ""
    channel_file_id: str = ""


@dataclass(frozen=True)
class Inbound:
    """One thing a person did in a chat: a command, a text, a button tap or a file."""

    channel: str
    address: str  # the chat on that channel (Telegram chat id, WhatsApp user id)
    update_key: str = ""  # the channel's update id, for dedupe
    text: str = ""
    command: str = ""  # "start", "isi", ... without the slash
    args: str = ""
    button: str = ""  # the opaque token of a tapped button
    message_ref: str = ""  # the channel's id of the message that carried the button
    file: InboundFile | None = None
    display_name: str = ""
    phone: str = ""  # the sender's phone number when the channel gives it (WhatsApp)
    edited: bool = False  # an edit of an earlier message: never taken as a new answer
    other: str = ""  # content that is neither text nor a file ("voice", "sticker", ...)


@dataclass(frozen=True)
class Button:
    label: str
    token: str


@dataclass
class Outbound:
    """A message to deliver; flows make these, the outbox stores them."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    person_id: int | None = None  # a known person, or ...
    channel: str = ""  # ... a raw chat address (a stranger)
    address: str = ""
    group: str = ""  # buttons of one decision share a group, so all copies can be closed
    document_id: int | None = None  # a StoredFile to send as a document
    edit_of: str = ""  # channel message id to edit instead of sending anew
    edit_notice: str = ""  # what a channel without edits sends instead of the edit
    template: str = ""  # template key to use outside a chat window (WhatsApp)
    template_params: list[str] = field(default_factory=list)
    dedupe_key: str = ""


@dataclass
class Reply:
    """What the channel handler shows at once besides the outbox (a callback toast)."""

    toast: str = ""
    handled: bool = True
