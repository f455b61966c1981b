"""Typed answers inside the SOP: the dispatcher, and reading a date or a time of day."""

from __future__ import annotations

import re
from datetime import date

from flows.core import texts
from flows.core.context import Ctx
from flows.core.conversation import get_state
from flows.domain.numparse import has_visible_text
from flows.sop.kind import FLOW, REGISTRY

MAX_TEXT = 2000
MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("januari", "jan"),
            ("februari", "feb", "pebruari"),
            ("maret", "mar"),
            ("april", "apr"),
            ("mei",),
            ("juni", "jun"),
            ("juli", "jul"),
            ("agustus", "agu", "agt", "ags"),
            ("september", "sep", "sept"),
            ("oktober", "okt"),
            ("november", "nov", "nop"),
            ("desember", "des"),
        ),
        start=1,
    )
    for m in names
}
_DATE_NUM = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})$")
_DATE_WORD = re.compile(r"^(?:[a-z']+,?\s+)?(\d{1,2})\s+([a-z]+)\s+(\d{4})$")
_TIME = re.compile(r"^(?:pukul\s+|jam\s+)?(\d{1,2})(?:[.:](\d{2}))?(?:\s*(wib|wita|wit))?$")


def parse_date(text: str) -> date | None:
    """ "12-10-2026", "12/10/2026", "12 Oktober 2026", "Senin, 12 Okt 2026"."""
    t = " ".join(text.strip().lower().split())
    m = _DATE_NUM.match(t)
    if m:
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _DATE_WORD.match(t)
        if not m or m[2] not in MONTHS:
            return None
        d, mo, y = int(m[1]), MONTHS[m[2]], int(m[3])
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def parse_time(text: str) -> str | None:
    """ "09.00", "9:30", "pukul 13.00 WIB" → "09.00"; None if not a time of day."""
    m = _TIME.match(" ".join(text.strip().lower().split()))
    if not m:
        return None
    h, mi = int(m[1]), int(m[2] or 0)
    if h > 23 or mi > 59:
        return None
    return f"{h:02d}.{mi:02d}"


async def on_message(ctx: Ctx) -> None:
    """A typed answer inside the SOP: the kind that asked the question handles it."""
    state = await get_state(ctx, FLOW)
    assert state is not None and ctx.inbound is not None
    inbound = ctx.inbound
    # A file, a voice note or sticker, or text with nothing visible is not a typed answer.
    if inbound.file is not None or inbound.other or not has_visible_text(inbound.text):
        ctx.reply(texts.render("siklus/ketik_saja"))
        return
    answer = REGISTRY.answers.get(state.get("do", ""))
    if answer is not None:
        await answer(ctx, state)
