"""Conversation state per person, stored so a restart resumes where they were."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.core.context import Ctx
from storage.models import Conversation


def known(session: AsyncSession) -> dict[int, Conversation | None]:
    """Conversation rows (or their absence) already known in this unit of work, by person."""
    found: dict[int, Conversation | None] = session.info.setdefault("conversation", {})
    return found


async def row_of(ctx: Ctx) -> Conversation | None:
    """The speaker's row, loaded at most once per update (none is an answer too)."""
    assert ctx.person is not None
    rows = known(ctx.session)
    if ctx.person.id not in rows:
        rows[ctx.person.id] = await ctx.session.get(Conversation, ctx.person.id)
    return rows[ctx.person.id]


async def get_state(ctx: Ctx, flow: str) -> dict[str, Any] | None:
    conv = await row_of(ctx)
    if conv is None or conv.flow != flow:
        return None
    return dict(conv.state)


async def set_state(ctx: Ctx, flow: str, state: dict[str, Any]) -> None:
    assert ctx.person is not None
    conv = await row_of(ctx)
    if conv is None:
        conv = Conversation(person_id=ctx.person.id, flow=flow, state=state, updated_at=ctx.now)
        ctx.session.add(conv)
        known(ctx.session)[ctx.person.id] = conv
    else:
        conv.flow, conv.state, conv.updated_at = flow, dict(state), ctx.now


async def clear_state(ctx: Ctx) -> str | None:
    """Forget the current question; returns the flow that was active."""
    conv = await row_of(ctx)
    if conv is None:
        return None
    flow = conv.flow
    await ctx.session.delete(conv)
    known(ctx.session)[conv.person_id] = None
    return flow
