"""The channel port: what the delivery worker hands a channel, and how a channel answers.

Each channel (Telegram, WhatsApp) implements :class:`Sender`. ``bot/`` drives it; ``handlers/``
never imports ``bot/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

#: More choices than this go as a list (WhatsApp allows at most 3 reply buttons).
MAX_REPLY_BUTTONS = 3


@dataclass(frozen=True)
class TemplateIntent:
    """A pre-approved message to use when a free-form one may not be sent (outside a chat
    window): the template's key in settings and its body parameters, in order."""

    key: str
    params: list[str] = field(default_factory=list)


@dataclass
class DeliveryJob:
    """One outbox row resolved for a channel sender.

    ``buttons`` rows of ``{"label", "token"}``; a channel that cannot show them all as buttons
    shows :attr:`choices` as a list. ``edit_message_id`` asks for an edit, which is best-effort:
    a channel without edits sends :attr:`edit_notice` (or nothing) instead. ``template`` is the
    intent to use outside a chat window.
    """

    outbox_id: int
    address: str
    text: str
    buttons: list[list[dict[str, str]]] = field(default_factory=list)
    edit_message_id: str = ""
    document: tuple[str, bytes] | None = None
    template: TemplateIntent | None = None
    edit_notice: str = ""

    @property
    def choices(self) -> list[dict[str, str]]:
        """Every button, flattened in reading order."""
        return [b for row in self.buttons for b in row]

    @property
    def is_list(self) -> bool:
        """Too many choices for reply buttons: show them as a list."""
        return len(self.choices) > MAX_REPLY_BUTTONS


class DeliveryRetry(Exception):
    """Try again later (after ``seconds`` if the channel said so).

    ``everyone`` marks a bot-wide flood signal: every chat waits, not only this one.
    """

    def __init__(self, seconds: float | None, everyone: bool = False) -> None:
        super().__init__(seconds)
        self.seconds = seconds
        self.everyone = everyone


class UnreadableUpdate(Exception):
    """An inbound payload that cannot be understood at all: a dead letter at once, no retries."""


class DeliveryFailed(Exception):
    """The channel refused for good (blocked bot, chat gone, invalid number): stop trying."""


class Sender(Protocol):
    """A channel's outbound side: send one job, return the channel's message id."""

    async def send(self, job: DeliveryJob) -> str: ...


def split_text(text: str, limit: int = 4096) -> list[str]:
    """Cut a long message at line ends so each part fits the channel's limit."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return [p.rstrip("\n") or "." for p in parts]
