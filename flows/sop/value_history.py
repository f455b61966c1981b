"""The history of every value stored for an entry: old → new, who, when, why, which channel.

Every write of an entry's value goes through :func:`change` (or :func:`evidence_added`), which
adds an ``entry_change`` row in the same unit of work as the write. The reason is the one the
sheet was returned (or its correction allowed) with; a first fill has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core import texts
from flows.core.context import Ctx
from flows.domain.fmt import fmt_number
from flows.domain.states import SheetState
from flows.sop import rekap_view
from storage.models import Cycle, Entry, EntryChange, Indicator, Person, Worksheet

#: Entry columns that hold numbers (stored as exact decimal text in the history).
NUMBER_FIELDS = frozenset({"realisasi", "numerator", "denominator"})
#: The history's name for an evidence file added to an entry.
EVIDENCE = "bukti"


def _stored(value: object) -> str | None:
    """How a value is kept in the history: exact text; ``None`` for no value or ""."""
    if value is None or value == "":
        return None
    return str(value)


async def _why(ctx: Ctx, entry: Entry) -> str:
    ws = await ctx.session.get(Worksheet, entry.worksheet_id)
    return ws.return_reason if ws is not None and ws.status == SheetState.RETURNED else ""


def _record(ctx: Ctx, entry: Entry, field: str, old: str | None, new: str | None, why: str) -> None:
    ctx.session.add(
        EntryChange(
            entry_id=entry.id,
            field=field,
            old=old,
            new=new,
            actor_id=ctx.person.id if ctx.person else None,
            acting_as="",
            channel=ctx.channel,
            reason=why,
            at=ctx.now,
        )
    )


async def change(ctx: Ctx, entry: Entry, field: str, new: Decimal | str | None) -> None:
    """Store ``new`` in ``entry.<field>`` and, when it differs, a history row beside it."""
    old = getattr(entry, field)
    setattr(entry, field, new)
    entry.updated_at = ctx.now
    if old == new or (_stored(old) is None and _stored(new) is None):
        return
    _record(ctx, entry, field, _stored(old), _stored(new), await _why(ctx, entry))
    if field in NUMBER_FIELDS:
        ws = await ctx.session.get(Worksheet, entry.worksheet_id)
        await rekap_view.figure_changed(ctx.session, ws, entry)


async def evidence_added(ctx: Ctx, entry: Entry, file_name: str) -> None:
    """An evidence file was stored for ``entry``: a history row with its name."""
    _record(ctx, entry, EVIDENCE, None, file_name, await _why(ctx, entry))


@dataclass(frozen=True)
class Change:
    """One history row, joined with what a reader needs (indicator, person, period)."""

    kode: str
    indikator: str
    field: str
    old: str | None
    new: str | None
    by: str
    acting_as: str
    channel: str
    reason: str
    at: datetime
    period_key: str


async def changes(
    session: AsyncSession, cycle_ids: list[int], indicator_id: int | None = None
) -> list[Change]:
    """The history of the cycles' entries (optionally of one indicator), oldest first."""
    query = (
        select(EntryChange, Indicator, Person, Cycle.period_key)
        .join(Entry, Entry.id == EntryChange.entry_id)
        .join(Indicator, Indicator.id == Entry.indicator_id)
        .join(Worksheet, Worksheet.id == Entry.worksheet_id)
        .join(Cycle, Cycle.id == Worksheet.cycle_id)
        .outerjoin(Person, Person.id == EntryChange.actor_id)
        .where(Worksheet.cycle_id.in_(cycle_ids or [-1]))
        .order_by(EntryChange.at, EntryChange.id)
    )
    if indicator_id is not None:
        query = query.where(Entry.indicator_id == indicator_id)
    return [
        Change(
            kode=ind.kode,
            indikator=ind.nama,
            field=row.field,
            old=row.old,
            new=row.new,
            by=person.nama if person else "",
            acting_as=row.acting_as,
            channel=row.channel,
            reason=row.reason,
            at=row.at,
            period_key=key,
        )
        for row, ind, person, key in (await session.execute(query)).all()
    ]


def shown(field: str, value: str | None) -> str:
    """A stored value as a reader sees it: numbers written the Indonesian way, "-" for none."""
    if value is None:
        return "-"
    if field in NUMBER_FIELDS:
        try:
            return fmt_number(Decimal(value))
        except (InvalidOperation, ValueError):
            return value
    return value


def field_label(field: str) -> str:
    """The column's name for readers ("Realisasi", "Pembilang", "Kendala" ...)."""
    return texts.label(f"kolom_{field}")


def channel_label(channel: str) -> str:
    """The channel's name for readers ("Telegram", "WhatsApp"; "-" when none)."""
    return texts.label(f"kanal_{channel}") if channel in ("telegram", "whatsapp") else "-"
