"""Authorization, table-driven: every command and every button, for every role, a stranger,
another office's person, and forged, replayed or stale callback data."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import build_router
from flows.core.messages import Inbound
from storage.models import (
    ButtonToken,
    Conversation,
    Cycle,
    Entry,
    Event,
    Identity,
    Office,
    Person,
    Worksheet,
)
from tests.flowkit import SMALL_PEM, Chat, open_quarter, play, seed_small_office

ROLES = {"camat": "101", "perencana": "102", "kasi": "103", "sekcam": "104"}
STRANGER = "900"
OUTSIDER = "901"  # a Kasi of another office
COMMANDS = sorted(build_router().commands)


async def snapshot(chat: Chat) -> tuple[Any, ...]:
    async with chat.db.transaction() as s:
        events = [(e.action, e.subject, e.actor_id) for e in await s.scalars(select(Event))]
        cycles = [(c.id, c.step, c.status, c.version) for c in await s.scalars(select(Cycle))]
        sheets = [(w.id, w.status, w.version) for w in await s.scalars(select(Worksheet))]
        entries = [
            (e.id, e.realisasi, e.numerator, e.denominator, e.keterangan, e.filled)
            for e in await s.scalars(select(Entry))
        ]
        convs = [(c.person_id, c.flow, str(c.state)) for c in await s.scalars(select(Conversation))]
    return events, cycles, sheets, entries, convs


async def add_outsider(chat: Chat) -> None:
    async with chat.db.transaction() as s:
        other = Office(code="lain", nama="Kecamatan Lain", preset="kebasen-pengumpulan", tahun=2026)
        s.add(other)
        await s.flush()
        person = Person(office_id=other.id, nip="199001012015011001", nama="Orang Lain",
                        jabatan="Kasi", role="kasi")  # fmt: skip
        s.add(person)
        await s.flush()
        s.add(Identity(person_id=person.id, channel="telegram", external_id=OUTSIDER))


async def tap(chat: Chat, address: str, token: str) -> tuple[str, list[str]]:
    reply = await chat.core.handle(
        Inbound("telegram", address, chat._key(), button=token, message_ref="1")
    )
    return reply.toast, [m.text for m in await chat.new_messages() if m.address == address]


@pytest.fixture
async def world(db):
    ids = await seed_small_office(db)
    chat = Chat(db)
    await add_outsider(chat)
    await open_quarter(chat, "uji", "2026-TW3")
    await chat.new_messages()
    return chat, ids


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("who", [STRANGER, OUTSIDER])
async def test_no_command_of_a_stranger_or_an_outsider_touches_this_office(world, command, who):
    chat, _ = world
    before = await snapshot(chat)
    out = await chat.say(who, f"/{command} TW III 2026")
    after = await snapshot(chat)
    assert out and all(m.text.strip() for m in out)
    if who == STRANGER and command != "start":
        assert "belum terdaftar" in out[0].text
    uji_events = [e for e in after[0] if e not in before[0]]
    assert not [e for e in uji_events if e[2] is not None and e[2] <= 4], uji_events
    assert after[1:4] == before[1:4]


async def test_every_button_is_refused_to_everyone_but_its_owner(world):
    chat, ids = world
    # The Kasi fills and sends; the planner then holds the review buttons.
    await play(chat, ROLES["kasi"], SMALL_PEM[:-1])
    async with chat.db.transaction() as s:
        tokens = list(await s.scalars(select(ButtonToken)))
    owners = {pid: addr for role, addr in ROLES.items() for pid in [ids[role]]}
    assert len({t.action for t in tokens}) >= 4
    for token in tokens:
        for address in [*ROLES.values(), STRANGER, OUTSIDER]:
            if owners.get(token.person_id) == address:
                continue
            before = await snapshot(chat)
            toast, out = await tap(chat, address, token.token)
            assert toast or out, (token.action, address)
            assert await snapshot(chat) == before, (token.action, address)


@pytest.mark.parametrize(
    "forged", ["", "-", "AAAAAAAAAAAAAAAA", "k:abc", "' OR 1=1 --", "x" * 300, "\u0000\u202e"]
)
async def test_forged_callback_data_changes_nothing(world, forged):
    chat, _ = world
    before = await snapshot(chat)
    toast, out = await tap(chat, ROLES["kasi"], forged)
    assert toast or out
    assert await snapshot(chat) == before


async def test_a_replayed_tap_acts_once_and_a_stale_one_not_at_all(world):
    chat, _ = world
    kasi = ROLES["kasi"]
    await play(chat, kasi, SMALL_PEM[:-1])
    token = await chat.button_token(kasi, "Kirim")
    await tap(chat, kasi, token)
    after_first = await snapshot(chat)
    assert any(e[0] == "lembar.kirim" for e in after_first[0])
    toast, _ = await tap(chat, kasi, token)  # replayed (a new update id, same data)
    assert await snapshot(chat) == after_first
    stale = await chat.button_token(kasi, "Ubah")  # the sheet has been sent: Ubah is stale
    toast, out = await tap(chat, kasi, stale)
    assert toast or out
    assert await snapshot(chat) == after_first
