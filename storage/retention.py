"""Prune what only serves delivery and dedupe once it is old; never the event log or files."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ButtonToken, Cycle, InboundSeen, InboxItem, Outbox, Person

#: Status of outbox rows that are finished with (sent, or an edit with nothing to edit).
_OUTBOX_DONE = ("sent", "skipped")


async def prune(session: AsyncSession, now: datetime, days: int) -> dict[str, int]:
    """Delete handled inbox rows, seen update keys, sent outbox rows and old button tokens.

    Dead letters stay (an operator may replay them). An outbox row another message edits is
    kept while that edit is pending. A button token older than ``days`` is spent once its
    person's office has no running cycle; a tap on a pruned token is answered "expired".
    """
    cutoff = now - timedelta(days=days)
    counts: dict[str, int] = {}
    result = await session.execute(
        delete(InboxItem).where(InboxItem.status == "done", InboxItem.received_at < cutoff)
    )
    counts["inbox"] = result.rowcount or 0  # type: ignore[attr-defined]
    result = await session.execute(delete(InboundSeen).where(InboundSeen.at < cutoff))
    counts["inbound_seen"] = result.rowcount or 0  # type: ignore[attr-defined]
    old = list(
        await session.scalars(
            select(Outbox).where(Outbox.status.in_(_OUTBOX_DONE), Outbox.created_at < cutoff)
        )
    )
    pending_edits = {
        str(p.get("edit_of", ""))
        for p in await session.scalars(
            select(Outbox.payload).where(Outbox.status.in_(("pending", "waiting")))
        )
        if isinstance(p, dict)
    }
    doomed = [r.id for r in old if f"outbox:{r.id}" not in pending_edits]
    for start in range(0, len(doomed), 500):
        await session.execute(delete(Outbox).where(Outbox.id.in_(doomed[start : start + 500])))
    counts["outbox"] = len(doomed)
    live = (
        select(Person.id)
        .join(Cycle, Cycle.office_id == Person.office_id)
        .where(Cycle.status == "running")
    )
    result = await session.execute(
        delete(ButtonToken).where(
            ButtonToken.created_at < cutoff, ButtonToken.person_id.not_in(live)
        )
    )
    counts["button_token"] = result.rowcount or 0  # type: ignore[attr-defined]
    return counts
