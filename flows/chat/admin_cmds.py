"""Administration from the chat: Plt / Plh, invite codes, moved people, who has not registered.

For the ``admin`` role, or the planner where the office file says ``admin_perencana: ya``.
The acts are :mod:`flows.setup.staffing`'s, the same the server CLI runs.
"""

from __future__ import annotations

from datetime import date, datetime

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import local_date
from flows.core.router import Router
from flows.domain.roles import ACTING
from flows.setup import staffing
from flows.setup.office_import import invite_message, reissue_invite
from flows.setup.staffing import StaffError
from storage.models import Office, Person

DATE_FORMATS = ("%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y")
MAX_REASON = 300


def register(router: Router) -> None:
    router.command("plt", cmd_plt)
    router.command("plh", cmd_plh)
    router.command("akhiriplt", cmd_end_acting)
    router.command("undangan", cmd_invite)
    router.command("nonaktifkan", cmd_deactivate)
    router.command("belumdaftar", cmd_unregistered)


def parse_day(text: str, today: date) -> date | None:
    """DD-MM-YYYY, YYYY-MM-DD, DD/MM/YYYY or "hari ini"; None otherwise."""
    if text.strip().lower() in ("hariini", "hari-ini", "sekarang"):
        return today
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


async def _office(ctx: Ctx) -> Office | None:
    """The speaker's office when they may administer it; else say who may."""
    assert ctx.person is not None
    office = await ctx.session.get(Office, ctx.person.office_id)
    assert office is not None
    if not staffing.may_administer(ctx.person, office):
        ctx.reply(texts.render("kelola/bukan_admin"))
        return None
    return office


async def _target(ctx: Ctx, usage: str) -> tuple[Office, Person, str] | None:
    """The office, the person named first in the arguments and the rest of the words, or
    ``None`` after answering (not an admin, nothing named, nobody found)."""
    assert ctx.inbound is not None
    office = await _office(ctx)
    if office is None:
        return None
    words = ctx.inbound.args.split()
    if not words:
        ctx.reply(texts.render(usage))
        return None
    try:
        person, rest = await staffing.find_person(ctx.session, office, words)
    except StaffError as exc:
        ctx.reply(str(exc))
        return None
    return office, person, rest


async def cmd_plt(ctx: Ctx) -> None:
    """/plt NIP-atau-nama peran mulai sampai [alasan]."""
    await _appoint(ctx, "Plt")


async def cmd_plh(ctx: Ctx) -> None:
    """/plh NIP-atau-nama peran mulai sampai [alasan]."""
    await _appoint(ctx, "Plh")


async def _appoint(ctx: Ctx, kind: str) -> None:
    assert ctx.person is not None and ctx.inbound is not None
    office = await _office(ctx)
    if office is None:
        return
    words = ctx.inbound.args.replace("hari ini", "hariini").split()
    today = local_date(office, ctx.now)
    # The role is the role word followed by a date ("Sri Sekcam camat 05-10-2026 ...").
    roles = [i for i, w in enumerate(words[:-2]) if i > 0 and w.lower() in ACTING]
    at = next((i for i in roles if parse_day(words[i + 1], today)), roles[-1] if roles else None)
    if at is None:
        ctx.reply(texts.render("kelola/plt_cara", jenis=kind))
        return
    try:
        person, _rest = await staffing.find_person(ctx.session, office, words[:at])
    except StaffError as exc:
        ctx.reply(str(exc))
        return
    role = words[at].lower()
    starts, ends = parse_day(words[at + 1], today), parse_day(words[at + 2], today)
    problems = staffing.acting_problems(person, role, kind, starts, ends)
    for text, day in ((words[at + 1], starts), (words[at + 2], ends)):
        if day is None:
            problems.append(texts.render("admin/tanggal_salah", teks=text[:20]))
    if ends is not None and ends < today:
        problems.append(texts.render("kelola/sudah_lewat", sampai=ends))
    if problems:
        ctx.reply(texts.render("admin/plt_gagal", kesalahan=problems))
        return
    assert starts is not None and ends is not None
    reason = " ".join(words[at + 3 :])[:MAX_REASON]
    acting = await staffing.appoint_acting(
        ctx.session,
        office,
        person,
        role=role,
        kind=kind,
        starts=starts,
        ends=ends,
        reason=reason,
        now=ctx.now,
        actor_id=ctx.person.id,
        channel=ctx.channel,
    )
    text = texts.render("kelola/plt_ditetapkan", plt=acting, orang=person, oleh=ctx.person)
    ctx.reply(text)
    if person.id != ctx.person.id:
        ctx.send(person.id, text)


async def cmd_end_acting(ctx: Ctx) -> None:
    """/akhiriplt ID [alasan]: the Plt / Plh ends today."""
    assert ctx.person is not None and ctx.inbound is not None
    office = await _office(ctx)
    if office is None:
        return
    head, _, reason = ctx.inbound.args.strip().partition(" ")
    if not head.isdigit():
        ctx.reply(texts.render("kelola/akhiri_cara"))
        return
    try:
        acting, person = await staffing.end_acting(
            ctx.session,
            office,
            int(head),
            today=local_date(office, ctx.now),
            reason=reason.strip()[:MAX_REASON],
            now=ctx.now,
            actor_id=ctx.person.id,
            channel=ctx.channel,
        )
    except StaffError as exc:
        ctx.reply(str(exc))
        return
    text = texts.render("kelola/plt_diakhiri", plt=acting, orang=person, oleh=ctx.person)
    ctx.reply(text)
    if person.id != ctx.person.id:
        ctx.send(person.id, text)


async def cmd_invite(ctx: Ctx) -> None:
    """/undangan NIP-atau-nama: a new invite code (the old unused ones die)."""
    assert ctx.person is not None
    found = await _target(ctx, "kelola/undangan_cara")
    if found is None:
        return
    office, person, _rest = found
    if not person.active:
        ctx.reply(texts.render("admin/pegawai_nonaktif", orang=person))
        return
    code = await reissue_invite(
        ctx.session,
        office.code,
        person.nip,
        now=ctx.now,
        actor_id=ctx.person.id,
        channel=ctx.channel,
    )
    ctx.reply(await invite_message(ctx.session, code))


async def cmd_deactivate(ctx: Ctx) -> None:
    """/nonaktifkan NIP-atau-nama alasan: someone who has moved; nothing of theirs is lost."""
    assert ctx.person is not None
    found = await _target(ctx, "kelola/nonaktifkan_cara")
    if found is None:
        return
    office, person, reason = found
    if person.id == ctx.person.id:
        ctx.reply(texts.render("kelola/bukan_diri_sendiri"))
        return
    if len(reason) < 3:
        ctx.reply(texts.render("kelola/nonaktifkan_perlu_alasan", orang=person))
        return
    try:
        await staffing.deactivate(
            ctx.session,
            office,
            person,
            reason=reason[:MAX_REASON],
            now=ctx.now,
            actor_id=ctx.person.id,
            channel=ctx.channel,
        )
    except StaffError as exc:
        ctx.reply(str(exc))
        return
    ctx.reply(texts.render("kelola/dinonaktifkan", orang=person, alasan=reason))


async def cmd_unregistered(ctx: Ctx) -> None:
    """/belumdaftar: active people with no chat account yet."""
    office = await _office(ctx)
    if office is None:
        return
    rows = await staffing.unregistered(ctx.session, office)
    ctx.reply(texts.render("kelola/belum_daftar", baris=rows, kantor=office))
