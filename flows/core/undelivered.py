"""Tell a human when the bot could not reach someone, so the work does not silently stop."""

from __future__ import annotations

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import holders, local_date
from storage.models import Office, Person

NOTICE_PREFIX = "gagal-kirim"


async def report_undelivered(ctx: Ctx, person_id: int | None, why: str) -> bool:
    """Send the office's planners one notice per person and day; False when nobody to tell.

    ``why`` is ``"ditolak"`` (blocked bot, chat gone) or ``"terputus"`` (still retrying after
    the patience window). The operator always gets a log line from the delivery worker.
    """
    person = await ctx.session.get(Person, person_id) if person_id is not None else None
    if person is None:
        return False
    office = await ctx.session.get(Office, person.office_id)
    assert office is not None
    planners = [p for p in await holders(ctx.session, office.id, "perencana") if p.id != person.id]
    if not planners:
        return False
    day = local_date(office, ctx.now).isoformat()
    text = texts.render("umum/gagal_terkirim", nama=person.nama, jabatan=person.jabatan, sebab=why)
    for planner in planners:
        ctx.send(planner.id, text, dedupe_key=f"{NOTICE_PREFIX}:{person.id}:{planner.id}:{day}")
    ctx.log("pesan.gagal", office_id=office.id, subject=f"person:{person.id}", reason=why)
    return True
