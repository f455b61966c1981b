"""Write promised messages to the outbox, in the transaction that promised them.

Storage knows no flows: a message is anything shaped like :class:`Message` (the flows'
``Outbound`` is one).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import upsert
from storage.models import Base, Identity, Outbox


class ButtonLike(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def token(self) -> str: ...


class Message(Protocol):
    """What the outbox stores of a message to deliver."""

    @property
    def text(self) -> str: ...
    @property
    def buttons(self) -> Sequence[Sequence[ButtonLike]]: ...
    @property
    def person_id(self) -> int | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def document_id(self) -> int | None: ...
    @property
    def edit_of(self) -> str: ...
    @property
    def edit_notice(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def template_params(self) -> Sequence[str]: ...
    @property
    def dedupe_key(self) -> str: ...


#: Rows per multi-row INSERT (13 columns each: well under SQLite's variable limit).
_ROWS_PER_INSERT = 50

NO_ADDRESS = "waiting"  # the person has no chat yet; delivered once they register


async def address_of(
    session: AsyncSession, person_id: int, prefer_channel: str = ""
) -> tuple[str, str] | None:
    """The chat to reach a person: the preferred channel, else the one seen last."""
    identities = list(
        await session.scalars(select(Identity).where(Identity.person_id == person_id))
    )
    if not identities:
        return None
    for ident in identities:
        if ident.channel == prefer_channel:
            return ident.channel, ident.external_id
    ident = max(identities, key=lambda i: (i.last_seen is not None, i.last_seen or datetime.min))
    return ident.channel, ident.external_id


async def _addresses(
    session: AsyncSession, person_ids: set[int], prefer: dict[int, str]
) -> dict[int, tuple[str, str]]:
    """``address_of`` for many people in one query."""
    found: dict[int, list[Identity]] = {}
    ids = sorted(person_ids)
    for i in range(0, len(ids), 400):
        for ident in await session.scalars(
            select(Identity).where(Identity.person_id.in_(ids[i : i + 400]))
        ):
            found.setdefault(ident.person_id, []).append(ident)
    out: dict[int, tuple[str, str]] = {}
    for pid, identities in found.items():
        chosen = next((i for i in identities if i.channel == prefer.get(pid, "")), None)
        if chosen is None:
            chosen = max(
                identities, key=lambda i: (i.last_seen is not None, i.last_seen or datetime.min)
            )
        out[pid] = (chosen.channel, chosen.external_id)
    return out


async def enqueue(
    session: AsyncSession,
    messages: Sequence[Message],
    now: datetime,
    *,
    speaker_id: int | None = None,
    speaker_channel: str = "",
    speaker_address: str = "",
) -> int:
    """Store each message as an outbox row (idempotent on ``dedupe_key``); returns how many
    were offered (a key already stored is skipped by ``INSERT … ON CONFLICT DO NOTHING``).

    A message to the speaker goes to the chat they wrote from (``speaker_address``) without a
    query; the others' chats are looked up in one query, and all rows go in one multi-row
    INSERT per batch, in order (the outbox id is the delivery order per chat).
    """
    if not messages:
        return 0
    wanted = {
        m.person_id
        for m in messages
        if m.person_id is not None
        and not m.address
        and not (m.person_id == speaker_id and speaker_address)
    }
    prefer = {speaker_id: speaker_channel} if speaker_id is not None else {}
    addresses = await _addresses(session, wanted, prefer) if wanted else {}
    values: list[dict[str, Any]] = []
    taken: set[str] = set()
    for msg in messages:
        key = msg.dedupe_key or uuid.uuid4().hex
        if msg.dedupe_key:
            if key in taken:
                continue
            taken.add(key)
        channel, address, status = msg.channel, msg.address, "pending"
        if msg.person_id is not None and not address:
            if msg.person_id == speaker_id and speaker_address:
                channel, address = speaker_channel, speaker_address
            elif msg.person_id in addresses:
                channel, address = addresses[msg.person_id]
            else:
                channel, address, status = "", "", NO_ADDRESS
        payload: dict[str, Any] = {
            "text": msg.text,
            "buttons": [[{"label": b.label, "token": b.token} for b in row] for row in msg.buttons],
        }
        if msg.document_id is not None:
            payload["document_id"] = msg.document_id
        if msg.edit_of:
            payload["edit_of"] = msg.edit_of
        if msg.edit_notice:
            payload["edit_notice"] = msg.edit_notice
        if msg.template:
            payload["template"] = {"key": msg.template, "params": list(msg.template_params)}
        values.append(
            {
                "dedupe_key": key,
                "channel": channel,
                "address": address,
                "person_id": msg.person_id,
                "payload": payload,
                "group_key": msg.group,
                "status": status,
                "attempts": 0,
                "last_error": "",
                "external_message_id": "",
                "created_at": now,
            }
        )
    await session.flush()  # the rows they point at (people, documents) first
    conn = await session.connection()
    statement = _insert_rows(conn.dialect.name)
    for i in range(0, len(values), _ROWS_PER_INSERT):
        await conn.execute(statement, values[i : i + _ROWS_PER_INSERT])
    return len(values)


@functools.cache
def _insert_rows(dialect: str) -> Insert:
    """``INSERT … ON CONFLICT (dedupe_key) DO NOTHING``, built once and run as executemany
    (a ``.values([...])`` statement is new SQL per call and misses SQLAlchemy's cache)."""
    return upsert(dialect, Base.metadata.tables[Outbox.__tablename__]).on_conflict_do_nothing(
        index_elements=["dedupe_key"]
    )


async def release_waiting(session: AsyncSession, person_id: int, channel: str, address: str) -> int:
    """A person just registered: the messages kept for them can now go out."""
    rows = list(
        await session.scalars(
            select(Outbox).where(Outbox.person_id == person_id, Outbox.status == NO_ADDRESS)
        )
    )
    for row in rows:
        row.channel, row.address, row.status = channel, address, "pending"
    return len(rows)
