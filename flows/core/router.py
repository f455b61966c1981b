"""Route an inbound event to the flow that owns it, inside one transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from flows.core import texts
from flows.core.context import Clock, Ctx
from flows.core.messages import Inbound, Reply
from storage import outbox
from storage.db import Database
from storage.models import ButtonToken, Conversation, Identity, InboundSeen, Person

log = logging.getLogger(__name__)

Handler = Callable[[Ctx], Awaitable[None]]
Action = Callable[[Ctx, dict[str, Any]], Awaitable[None]]

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

    def command(self, name: str, handler: Handler) -> None:
        self.commands[name] = handler

    def action(self, name: str, handler: Action) -> None:
        self.actions[name] = handler

    def conversation(self, flow: str, handler: Handler) -> None:
        self.conversations[flow] = handler


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
            if inbound.update_key:
                seen = await session.get(InboundSeen, (inbound.channel, inbound.update_key))
                if seen is not None:
                    return Reply(handled=False)
                session.add(InboundSeen(channel=inbound.channel, key=inbound.update_key, at=now))
            ctx = Ctx(session=session, now=now, inbound=inbound)
            ctx.person = await self._person(ctx)
            await self._dispatch(ctx)
            await outbox.enqueue(
                session,
                ctx.out,
                now,
                speaker_id=ctx.person.id if ctx.person else None,
                speaker_channel=inbound.channel,
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
        ident = await ctx.session.scalar(
            select(Identity).where(
                Identity.channel == inbound.channel, Identity.external_id == inbound.address
            )
        )
        if ident is None:
            return None
        ident.last_seen = ctx.now
        person = await ctx.session.get(Person, ident.person_id)
        return person if person is not None and person.active else None

    async def _dispatch(self, ctx: Ctx) -> None:
        inbound = ctx.inbound
        assert inbound is not None
        if ctx.person is None and inbound.command not in PUBLIC_COMMANDS:
            ctx.reply(texts.render("umum/orang_asing"))
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
            conv = await ctx.session.get(Conversation, ctx.person.id)
            handler = self.router.conversations.get(conv.flow) if conv else None
            if handler is None:
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
        action = self.router.actions.get(row.action)
        if action is None:
            log.warning("button %s has unknown action %s", token, row.action)
            ctx.toast = texts.render("umum/tombol_kedaluwarsa")
            return
        await action(ctx, dict(row.args))
