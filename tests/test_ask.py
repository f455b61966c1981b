"""Leaders ask, the bot answers (issue 17): the intent table and the answers from the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flows.chat.ask import classify, find_period, match_section
from flows.domain.periods import Period
from storage.models import Conversation, Event, Section
from tests.flowkit import SMALL_PEM, Chat, open_quarter, play, seed_small_office

CAMAT, PLANNER, KASI, SEKCAM = "101", "102", "103", "104"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("siapa yang belum isi?", "belum_isi"),
        ("Siapa yg blm isi pak", "belum_isi"),
        ("seksi mana yang belum mengisi?", "belum_isi"),
        ("capaian TW II?", "capaian"),
        ("berapa capaian kinerja kita", "capaian"),
        ("capain triwulan 3", "capaian"),
        ("bagaimana seksi trantib?", "seksi"),
        ("gimana seksi pemerintahan", "seksi"),
        ("kapan batas waktu?", "batas"),
        ("batas waktunya kapan ya", "batas"),
        ("sudah sampai mana?", "posisi"),
        ("selamat pagi", None),
        ("terima kasih pak", None),
        ("yang", None),
        ("", None),
    ],
)
def test_intent_table(text: str, intent: str | None) -> None:
    assert classify(text) == intent


def test_period_and_section_in_a_question() -> None:
    assert find_period("capaian TW II?", 2026) == Period.quarter(2026, 2)
    assert find_period("capaian semester I 2025", 2026) == Period(2025, "SEMESTER", 1)
    assert find_period("capaian kita?", 2026) is None
    sections = [
        Section(id=1, office_id=1, kode="PEM", nama="Seksi Pemerintahan"),
        Section(id=2, office_id=1, kode="TRA", nama="Seksi Ketenteraman dan Ketertiban Umum"),
        Section(id=3, office_id=1, kode="KES", nama="Seksi Kesejahteraan Sosial"),
    ]
    assert match_section("bagaimana seksi trantib?", sections).kode == "TRA"
    assert match_section("gimana seksi kesos", sections).kode == "KES"
    assert match_section("bagaimana seksi pemerintahan?", sections).kode == "PEM"
    assert match_section("bagaimana seksi olahraga?", sections) is None


async def test_five_questions_answered_from_the_database(db):
    await seed_small_office(db)
    chat = Chat(db)
    out = await chat.say(CAMAT, "siapa yang belum isi?")
    assert "Belum ada pengumpulan data kinerja" in out[0].text

    await open_quarter(chat, "uji", "2026-TW3")
    await chat.new_messages()
    out = await chat.say(CAMAT, "siapa yang belum isi?")
    assert "Belum mengirim kertas kerja Triwulan III 2026 (2)" in out[0].text
    assert "Budi — Seksi Pemerintahan" in out[0].text and "Maya" in out[0].text
    assert "Batas waktu:" in out[0].text

    await play(chat, KASI, SMALL_PEM)
    out = await chat.say(SEKCAM, "Siapa yg blm isi")
    assert "(1)" in out[0].text and "Budi" not in out[0].text and "Maya" in out[0].text

    out = await chat.say(CAMAT, "capaian TW III?")
    assert "Capaian kinerja Triwulan III 2026" in out[0].text
    assert "Seksi Pemerintahan (Budi): rata-rata capaian" in out[0].text
    out = await chat.say(CAMAT, "capaian TW II?")
    assert "Belum ada pengumpulan data kinerja Triwulan II 2026" in out[0].text

    out = await chat.say(CAMAT, "bagaimana seksi pemerintahan?")
    assert out[0].text.startswith("Seksi Pemerintahan — Triwulan III 2026")
    assert "📤" in out[0].text

    out = await chat.say(SEKCAM, "kapan batas waktu?")
    assert "langkah" in out[0].text and "Batas waktu:" in out[0].text
    assert "Maya" in out[0].text  # still waited on

    out = await chat.say(CAMAT, "selamat pagi")
    assert "belum saya pahami" in out[0].text and "siapa yang belum isi?" in out[0].text
    async with db.transaction() as s:
        asked = list(await s.scalars(select(Event).where(Event.action == "tanya.jawab")))
    assert len(asked) == 5  # every answer from a cycle is logged


async def test_a_kasi_or_a_pending_question_is_not_a_leader_question(db):
    await seed_small_office(db)
    chat = Chat(db)
    out = await chat.say(KASI, "siapa yang belum isi?")
    assert "tidak ada pertanyaan yang menunggu" in out[0].text.lower()
    await open_quarter(chat, "uji", "2026-TW3")
    await chat.new_messages()
    # The planner fills too; mid-sheet, a typed text is the answer to the question.
    out = await chat.say(PLANNER, "/isi")
    async with db.transaction() as s:
        assert await s.get(Conversation, 2) is not None
    out = await chat.say(PLANNER, "capaian tw 3")
    assert "angka" in out[0].text.lower()
