"""The rekap summary's stored lines: a sent sheet keeps its line (``Worksheet.summary``) so that
the last Kirim reads no other sheet's answers; a changed figure makes the lines it fed again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from flows.core.context import Ctx
from flows.sop import value_history
from flows.sop.rekap_view import SectionSummary, forget_lines, section_summaries
from flows.sop.run import load
from storage.db import Database
from storage.models import Cycle, Entry, Indicator, Worksheet
from tests.flowkit import Chat, open_quarter, seed_small_office

KASI = "103"


async def fill_and_send(chat: Chat, address: str, answer: str) -> None:
    """/isi, every number asked answered with ``answer``, every optional step skipped, Kirim."""
    out = await chat.say(address, "/isi")
    for _ in range(40):
        labels = out[-1].labels() if out else []
        if "Kirim" in labels:
            await chat.tap(address, "Kirim")
            return
        if "Lewati" in labels:
            _, out = await chat.tap(address, "Lewati")
        else:
            out = await chat.say(address, answer)
    raise AssertionError(f"no Kirim offered: {out[-1].text if out else ''}")


async def summaries(chat: Chat, period_key: str) -> list[SectionSummary]:
    found: list[SectionSummary] = []

    async def work(ctx: Ctx) -> None:
        cycle = await ctx.session.scalar(select(Cycle).where(Cycle.period_key == period_key))
        assert cycle is not None
        run = await load(ctx, cycle.id)
        assert run is not None
        found.extend(await section_summaries(ctx, run))

    await chat.run(work)
    return found


async def lines(db: Database, period_key: str) -> list[dict[str, Any] | None]:
    async with db.transaction() as s:
        return list(
            await s.scalars(
                select(Worksheet.summary)
                .join(Cycle, Cycle.id == Worksheet.cycle_id)
                .where(Cycle.period_key == period_key)
                .order_by(Worksheet.id)
            )
        )


async def fresh(db: Database, chat: Chat, period_key: str) -> list[SectionSummary]:
    """The summaries made from the answers alone (every stored line forgotten first)."""
    async with db.transaction() as s:
        await s.execute(update(Worksheet).values(summary=None))
    assert not any(await lines(db, period_key))
    return await summaries(chat, period_key)


async def two_quarters_sent(db: Database) -> Chat:
    """TW I and TW II of the small office, the Kasi's sheet of each filled with 5s and sent."""
    await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW1")
    await fill_and_send(chat, KASI, "5")
    await open_quarter(chat, "uji", "2026-TW2")
    await fill_and_send(chat, KASI, "5")
    return chat


async def test_a_sent_sheet_keeps_its_line_and_it_equals_the_line_made_from_the_answers(
    db: Database,
) -> None:
    chat = await two_quarters_sent(db)
    stored_lines = await lines(db, "2026-TW2")
    sent = [line for line in stored_lines if line is not None]
    assert len(sent) == 1, stored_lines  # the Kasi's sheet; the planner's is not sent
    assert sent[0]["jumlah"] == 4  # PEM-1..PEM-4 are all measured in TW II
    stored = await summaries(chat, "2026-TW2")
    assert stored == await fresh(db, chat, "2026-TW2")
    budi = next(s for s in stored if s.orang == "Budi")
    assert budi.status == "submitted" and budi.rata_rata is not None


async def test_an_earlier_quarter_corrected_makes_the_later_line_again(db: Database) -> None:
    chat = await two_quarters_sent(db)
    before = next(s for s in await summaries(chat, "2026-TW2") if s.orang == "Budi")
    assert any(await lines(db, "2026-TW2"))

    async def correct_tw1(ctx: Ctx) -> None:  # as the correction flow writes a value
        entry = await ctx.session.scalar(
            select(Entry)
            .join(Indicator, Indicator.id == Entry.indicator_id)
            .join(Worksheet, Worksheet.id == Entry.worksheet_id)
            .join(Cycle, Cycle.id == Worksheet.cycle_id)
            .where(Indicator.kode == "PEM-2", Cycle.period_key == "2026-TW1")
        )
        assert entry is not None and entry.realisasi == 5
        await value_history.change(ctx, entry, "realisasi", Decimal(1))

    await chat.run(correct_tw1)
    assert not any(await lines(db, "2026-TW2")), "the TW II line counted the old TW I answer"
    after = next(s for s in await summaries(chat, "2026-TW2") if s.orang == "Budi")
    # PEM-2 is kumulatif: s.d. TW II was 5 + 5 of 6 (capped at 120 %), now 1 + 5 of 6 (100 %)
    assert after.rata_rata is not None and before.rata_rata is not None
    assert after.rata_rata < before.rata_rata
    assert after == next(s for s in await fresh(db, chat, "2026-TW2") if s.orang == "Budi")


async def test_changed_indicators_make_every_line_of_the_office_again(db: Database) -> None:
    await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW1")
    await fill_and_send(chat, KASI, "5")
    assert any(await lines(db, "2026-TW1"))

    async def work(ctx: Ctx) -> None:  # as the office import does when targets change
        cycle = await ctx.session.scalar(select(Cycle).where(Cycle.period_key == "2026-TW1"))
        assert cycle is not None
        await forget_lines(ctx.session, cycle.office_id)

    await chat.run(work)
    assert not any(await lines(db, "2026-TW1"))
