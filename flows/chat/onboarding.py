"""Registering with an invite code (/start KODE) and role help (/bantuan)."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlalchemy import select

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import normalize_phone
from flows.core.router import Router
from flows.setup.staffing import may_administer
from storage import outbox
from storage.models import Identity, InviteCode, Office, Person

#: An invite code typed alone (letters without 0/O/1/I, digits 2-9).
_CODE_RE = re.compile(r"[A-HJ-NP-Z2-9]{8}")


def register(router: Router) -> None:
    router.identify = identify
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
        ctx.reply(texts.render("umum/orang_asing", p=texts.command_prefix(ctx.channel)))
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
    await _bind(ctx, person, how="kode")


async def _bind(ctx: Ctx, person: Person, *, how: str) -> None:
    """Bind this chat to ``person``, release what waited for them, and welcome them."""
    inbound = ctx.inbound
    assert inbound is not None
    ctx.session.add(
        Identity(
            person_id=person.id,
            channel=inbound.channel,
            external_id=inbound.address,
            phone=normalize_phone(inbound.phone) or "",
            last_seen=ctx.now,
        )
    )
    await ctx.session.flush()
    await outbox.release_waiting(ctx.session, person.id, inbound.channel, inbound.address)
    ctx.person = person
    ctx.log("orang.daftar", subject=f"person:{person.id}", data={"cara": how})
    office = await ctx.session.get(Office, person.office_id)
    ctx.reply(texts.render("mulai/selamat_datang", orang=person, kantor=office))
    await cmd_bantuan(ctx)


async def identify(ctx: Ctx) -> bool:
    """A stranger's first message: a bare invite code, or a phone number the office file
    gives (WhatsApp). True when this answered the message."""
    inbound = ctx.inbound
    assert inbound is not None
    code = inbound.text.strip().upper()
    if not inbound.command and not inbound.button and _CODE_RE.fullmatch(code):
        ctx.inbound = replace(inbound, command="start", args=code, text="")
        await cmd_start(ctx)
        return True
    phone = normalize_phone(inbound.phone)
    if not phone:
        return False
    found = [
        p
        for p in await ctx.session.scalars(
            select(Person).where(Person.telepon.is_not(None), Person.active.is_(True))
        )
        if normalize_phone(p.telepon or "") == phone
    ]
    if len(found) != 1:  # unknown, or the same number in two offices: ask for a code
        return False
    person = found[0]
    taken = await ctx.session.scalar(
        select(Identity).where(Identity.person_id == person.id, Identity.channel == inbound.channel)
    )
    if taken is not None:
        return False
    await _bind(ctx, person, how="telepon")
    return True


async def cmd_bantuan(ctx: Ctx) -> None:
    """Help for the person's role."""
    assert ctx.person is not None
    office = await ctx.session.get(Office, ctx.person.office_id)
    admin = office is not None and may_administer(ctx.person, office)
    ctx.reply(
        texts.render(
            "mulai/bantuan",
            peran=ctx.person.role,
            admin=admin,
            p=texts.command_prefix(ctx.channel),
        )
    )
