"""Route an inbound event to the flow that owns it, inside one transaction."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core import conversation, texts
from flows.core.context import Clock, Ctx
from flows.core.messages import Inbound, Reply
from storage import outbox
from storage.db import Database, keep, upsert
from storage.models import Base, ButtonToken, Conversation, Identity, InboundSeen, Person

log = logging.getLogger(__name__)

Handler = Callable[[Ctx], Awaitable[None]]
Action = Callable[[Ctx, dict[str, Any]], Awaitable[None]]
#: Free text outside any conversation; returns whether it answered.
Fallback = Callable[[Ctx], Awaitable[bool]]

#: The longest button token a tap may carry (``ButtonToken.token`` is String(16)).
TOKEN_MAX = 16
# Commands a person may use without being registered.
PUBLIC_COMMANDS = frozenset({"start"})


def _clean(inbound: Inbound) -> Inbound:
    """Drop NUL characters (no database column may hold them) and bound a tapped token."""
    button = inbound.button
    if button and (len(button) > TOKEN_MAX or not button.isascii() or not button.isprintable()):
        button = "-"  # no such token: answered "expired"
    file = inbound.file
    if file is not None:
        file = replace(file, file_name=file.file_name.replace("\x00", ""))
    return replace(
        inbound,
        file=file,
        text=inbound.text.replace("\x00", ""),
        args=inbound.args.replace("\x00", ""),
        command=inbound.command.replace("\x00", "")[:64],
        button=button,
    )


class Router:
    """Holds what each flow registers: commands, button actions, conversation steps."""

    def __init__(self) -> None:
        self.commands: dict[str, Handler] = {}
        self.actions: dict[str, Action] = {}
        self.conversations: dict[str, Handler] = {}
        #: Recognise a stranger (by phone, by a bare invite code); True = handled already.
        self.identify: Callable[[Ctx], Awaitable[bool]] | None = None
        self.fallbacks: list[Fallback] = []

    def command(self, name: str, handler: Handler) -> None:
        self.commands[name] = handler

    def action(self, name: str, handler: Action) -> None:
        self.actions[name] = handler

    def conversation(self, flow: str, handler: Handler) -> None:
        self.conversations[flow] = handler

    def free_text(self, handler: Fallback) -> None:
        """Text typed when no question waits (a leader's plain question)."""
        self.fallbacks.append(handler)


@functools.cache
def _seen_insert(dialect: str) -> Executable:
    """``INSERT … ON CONFLICT DO NOTHING`` of an update's key, built once per dialect."""
    return (
        upsert(dialect, Base.metadata.tables[InboundSeen.__tablename__])
        .values(channel=bindparam("channel"), key=bindparam("key"), at=bindparam("at"))
        .on_conflict_do_nothing(index_elements=["channel", "key"])
    )


async def _first_time(session: AsyncSession, inbound: Inbound, now: datetime) -> bool:
    """Record the update's key; ``False`` when it was seen before (``INSERT … ON CONFLICT``)."""
    done = await session.execute(
        _seen_insert(session.get_bind().dialect.name),
        {"channel": inbound.channel, "key": inbound.update_key, "at": now},
    )
    return bool(getattr(done, "rowcount", 0))  # a CursorResult: 0 rows on a conflict


@functools.cache
def _speaker_query(with_token: bool) -> Executable:
    """Identity and person of the chat, with the person's conversation row and (for a tap)
    the tapped token: the flows then find them loaded (``session.get``) instead of asking
    again. Built once; parameters ``channel``, ``address`` and ``token``."""
    query: Any = (
        select(Identity, Person, Conversation)
        .join(Person, Person.id == Identity.person_id)
        .outerjoin(Conversation, Conversation.person_id == Person.id)
        .where(
            Identity.channel == bindparam("channel"),
            Identity.external_id == bindparam("address"),
        )
    )
    if with_token:
        query = query.add_columns(ButtonToken).outerjoin(
            ButtonToken, ButtonToken.token == bindparam("token")
        )
    return query


class Core:
    """The channel-neutral heart: one inbound event, one short transaction."""

    def __init__(
        self,
        db: Database,
        router: Router,
        clock: Clock,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.router = router
        self.clock = clock
        self.on_outbox = on_outbox or (lambda: None)

    async def handle(self, inbound: Inbound) -> Reply:
        """Handle one update; a repeated update (same key) changes nothing."""
        inbound = _clean(inbound)
        now = self.clock.now()
        async with self.db.transaction() as session:
            if inbound.update_key and not await _first_time(session, inbound, now):
                return Reply(handled=False)
            ctx = Ctx(session=session, now=now, inbound=inbound)
            ctx.person = await self._person(ctx)
            known = ctx.person  # found by this chat's identity: replies go back to this chat
            await self._dispatch(ctx)
            same = known is not None and ctx.person is known
            await outbox.enqueue(
                session,
                ctx.out,
                now,
                speaker_id=ctx.person.id if ctx.person else None,
                speaker_channel=inbound.channel,
                speaker_address=inbound.address if same else "",
            )
        if ctx.out:
            self.on_outbox()
        return Reply(toast=ctx.toast)

    async def run(self, work: Callable[[Ctx], Awaitable[None]]) -> None:
        """Run system work (a scheduler sweep, an admin command) as one unit of work."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            ctx = Ctx(session=session, now=now)
            await work(ctx)
            await outbox.enqueue(session, ctx.out, now)
        if ctx.out:
            self.on_outbox()

    async def _person(self, ctx: Ctx) -> Person | None:
        inbound = ctx.inbound
        assert inbound is not None
        params = {"channel": inbound.channel, "address": inbound.address, "token": inbound.button}
        found = (await ctx.session.execute(_speaker_query(bool(inbound.button)), params)).first()
        if found is None:
            return None
        ident, person = found[0], found[1]
        keep(ctx.session, *found[3:])
        conversation.known(ctx.session)[person.id] = found[2]
        ident.last_seen = ctx.now
        return person if person.active else None

    async def _dispatch(self, ctx: Ctx) -> None:
        inbound = ctx.inbound
        assert inbound is not None
        stranger = ctx.person is None and inbound.command not in PUBLIC_COMMANDS
        if stranger and self.router.identify is not None and await self.router.identify(ctx):
            return
        if ctx.person is None and inbound.command not in PUBLIC_COMMANDS:
            ctx.reply(texts.render("umum/orang_asing", p=texts.command_prefix(inbound.channel)))
            return
        if inbound.edited:
            ctx.reply(texts.render("umum/pesan_diedit"))
        elif inbound.button:
            await self._tap(ctx, inbound.button)
        elif inbound.command:
            handler = self.router.commands.get(inbound.command)
            if handler is None:
                ctx.reply(texts.render("umum/perintah_tidak_dikenal", perintah=inbound.command))
            else:
                await handler(ctx)
        else:
            assert ctx.person is not None
            conv = await conversation.row_of(ctx)
            handler = self.router.conversations.get(conv.flow) if conv else None
            if handler is None:
                for fallback in self.router.fallbacks:
                    if await fallback(ctx):
                        return
                ctx.reply(texts.render("umum/tidak_ada_pertanyaan"))
            else:
                await handler(ctx)

    async def _tap(self, ctx: Ctx, token: str) -> None:
        assert ctx.person is not None
        row = await ctx.session.get(ButtonToken, token)
        if row is None:
            ctx.refuse(texts.render("umum/tombol_kedaluwarsa"))
            return
        if row.person_id != ctx.person.id:
            ctx.refuse(texts.render("umum/tombol_bukan_untuk_anda"))
            return
        if row.closed_note:
            ctx.refuse(texts.render("umum/tombol_sudah_diputuskan", catatan=row.closed_note))
            return
        action = self.router.actions.get(row.action)
        if action is None:
            log.warning("button %s has unknown action %s", token, row.action)
            ctx.toast = texts.render("umum/tombol_kedaluwarsa")
            return
        await action(ctx, dict(row.args))
