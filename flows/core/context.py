"""The unit of work a flow runs in: the session, the clock, who spoke, and what to send."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Executable, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.messages import Button, Inbound, Outbound
from storage.models import ButtonToken, Event, Outbox, Person


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time in UTC; tests inject their own clock instead."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def new_token() -> str:
    """A short opaque id for callback data (well inside Telegram's 64 bytes)."""
    return secrets.token_urlsafe(9)


@dataclass
class Ctx:
    session: AsyncSession
    now: datetime
    inbound: Inbound | None = None
    person: Person | None = None
    out: list[Outbound] = field(default_factory=list)
    toast: str = ""

    @property
    def channel(self) -> str:
        return self.inbound.channel if self.inbound else ""

    def reply(self, text: str, buttons: list[list[Button]] | None = None, **kw: Any) -> None:
        """Answer the person who spoke (or the stranger's chat)."""
        if self.person is not None:
            self.out.append(
                Outbound(text=text, buttons=buttons or [], person_id=self.person.id, **kw)
            )
        elif self.inbound is not None:
            self.out.append(
                Outbound(
                    text=text,
                    buttons=buttons or [],
                    channel=self.inbound.channel,
                    address=self.inbound.address,
                    **kw,
                )
            )

    def refuse(self, text: str) -> None:
        """A tap that changes nothing: say why, as a toast on the button and in the chat."""
        self.toast = text
        self.reply(text)

    def send(
        self, person_id: int, text: str, buttons: list[list[Button]] | None = None, **kw: Any
    ) -> None:
        self.out.append(Outbound(text=text, buttons=buttons or [], person_id=person_id, **kw))

    async def button(
        self,
        label: str,
        action: str,
        args: dict[str, Any] | None = None,
        *,
        person_id: int | None = None,
        group: str = "",
    ) -> Button:
        """Make a button for ``person_id`` (default: the speaker) that runs ``action``."""
        pid = person_id if person_id is not None else self._speaker_id()
        token = new_token()
        self.session.add(
            ButtonToken(
                token=token,
                person_id=pid,
                action=action,
                args=args or {},
                group_key=group,
                created_at=self.now,
            )
        )
        return Button(label=label, token=token)

    async def close_group(self, group: str, note: str) -> None:
        """Replace every sent copy's buttons of ``group`` by ``note``; a later tap of its
        tokens is refused with ``note`` (the decision named)."""
        await self.session.execute(_close_tokens(), {"in_group": group, "note": note})
        rows = await self.session.scalars(_group_messages(), {"in_group": group})
        for row in rows:
            if row.payload.get("edit_of") or row.payload.get("closed"):
                continue
            row.payload = {**row.payload, "closed": True}
            self.out.append(
                Outbound(
                    text=f"{row.payload['text']}\n\n{note}",
                    channel=row.channel,
                    address=row.address,
                    person_id=row.person_id,
                    edit_of=f"outbox:{row.id}",
                    edit_notice=note,
                )
            )

    def log(
        self,
        action: str,
        *,
        office_id: int | None = None,
        cycle_id: int | None = None,
        subject: str = "",
        reason: str = "",
        data: dict[str, Any] | None = None,
        actor_id: int | None = None,
        acting_as: str = "",
    ) -> None:
        """Append an event: who did what, when, through which channel."""
        actor = actor_id if actor_id is not None else (self.person.id if self.person else None)
        office = (
            office_id if office_id is not None else (self.person.office_id if self.person else None)
        )
        self.session.add(
            Event(
                office_id=office,
                cycle_id=cycle_id,
                actor_id=actor,
                acting_as=acting_as,
                action=action,
                subject=subject,
                channel=self.channel,
                reason=reason,
                data=data or {},
                at=self.now,
            )
        )

    def _speaker_id(self) -> int:
        if self.person is None:
            raise RuntimeError("a button needs a person")
        return self.person.id


@functools.cache
def _close_tokens() -> Executable:
    """A group's buttons closed with a note; built once (every decision runs it)."""
    return (
        update(ButtonToken)
        .where(ButtonToken.group_key == bindparam("in_group"))
        .values(closed_note=bindparam("note"))
    )


@functools.cache
def _group_messages() -> Executable:
    """The outbox rows of a group; built once."""
    return select(Outbox).where(Outbox.group_key == bindparam("in_group"))
