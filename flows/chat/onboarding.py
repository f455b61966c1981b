"""Registering with an invite code (/start KODE) and role help (/bantuan)."""

from __future__ import annotations

from sqlalchemy import select

from flows.core import texts
from flows.core.context import Ctx
from flows.core.router import Router
from flows.setup.staffing import may_administer
from storage import outbox
from storage.models import Identity, InviteCode, Office, Person


def register(router: Router) -> None:
    router.command("start", cmd_start)
    router.command("bantuan", cmd_bantuan)
    router.command("help", cmd_bantuan)


async def cmd_start(ctx: Ctx) -> None:
    """/start KODE binds this chat to the invited person; the code then dies."""
    inbound = ctx.inbound
    assert inbound is not None
    code = inbound.args.strip().upper()
    if ctx.person is not None:
        ctx.reply(texts.render("mulai/sudah_terdaftar", orang=ctx.person))
        await cmd_bantuan(ctx)
        return
    if not code:
        ctx.reply(texts.render("umum/orang_asing"))
        return
    invite = await ctx.session.get(InviteCode, code)
    if invite is None:
        ctx.reply(texts.render("mulai/kode_salah", kode=code[:16]))
        return
    if invite.used_at is not None:
        ctx.reply(texts.render("mulai/kode_terpakai"))
        return
    person = await ctx.session.get(Person, invite.person_id)
    if person is None or not person.active:
        ctx.reply(texts.render("mulai/kode_salah", kode=code[:16]))
        return
    taken = await ctx.session.scalar(
        select(Identity).where(Identity.person_id == person.id, Identity.channel == inbound.channel)
    )
    if taken is not None:
        ctx.reply(texts.render("mulai/kode_terpakai"))
        return
    invite.used_at = ctx.now
    ctx.session.add(
        Identity(
            person_id=person.id,
            channel=inbound.channel,
            external_id=inbound.address,
            last_seen=ctx.now,
        )
    )
    await outbox.release_waiting(ctx.session, person.id, inbound.channel, inbound.address)
    ctx.person = person
    ctx.log("orang.daftar", subject=f"person:{person.id}")
    office = await ctx.session.get(Office, person.office_id)
    ctx.reply(texts.render("mulai/selamat_datang", orang=person, kantor=office))
    await cmd_bantuan(ctx)


async def cmd_bantuan(ctx: Ctx) -> None:
    """Help for the person's role."""
    assert ctx.person is not None
    office = await ctx.session.get(Office, ctx.person.office_id)
    admin = office is not None and may_administer(ctx.person, office)
    ctx.reply(texts.render("mulai/bantuan", peran=ctx.person.role, admin=admin))
