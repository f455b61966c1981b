"""Conversation state per person, stored so a restart resumes where they were."""

from __future__ import annotations

from typing import Any

from flows.core.context import Ctx
from storage.db import keep
from storage.models import Conversation


async def _row(ctx: Ctx) -> Conversation | None:
    """The speaker's row, loaded once per update (kept for the unit of work)."""
    assert ctx.person is not None
    conv = await ctx.session.get(Conversation, ctx.person.id)
    keep(ctx.session, conv)
    return conv


async def get_state(ctx: Ctx, flow: str) -> dict[str, Any] | None:
    conv = await _row(ctx)
    if conv is None or conv.flow != flow:
        return None
    return dict(conv.state)


async def set_state(ctx: Ctx, flow: str, state: dict[str, Any]) -> None:
    assert ctx.person is not None
    conv = await _row(ctx)
    if conv is None:
        ctx.session.add(
            Conversation(person_id=ctx.person.id, flow=flow, state=state, updated_at=ctx.now)
        )
    else:
        conv.flow, conv.state, conv.updated_at = flow, dict(state), ctx.now


async def clear_state(ctx: Ctx) -> str | None:
    """Forget the current question; returns the flow that was active."""
    conv = await _row(ctx)
    if conv is None:
        return None
    flow = conv.flow
    await ctx.session.delete(conv)
    return flow
