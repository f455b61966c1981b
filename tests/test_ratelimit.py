"""The send limiter in simulated time: never more than 30 in any second, per chat about one a
second, 20 a minute per group, and still close to 30 a second sustained."""

from __future__ import annotations

import asyncio
import random

from bench.common import max_in_window
from bot.workers.ratelimit import TELEGRAM, Limiter, Limits, SlidingWindow, channel_limiters


class SimTime:
    """A clock that only moves when someone sleeps (time shared by every sleeper)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)
        await asyncio.sleep(0)


def limiter(sim: SimTime, limits: Limits = TELEGRAM) -> Limiter:
    return Limiter(limits, is_group=lambda a: a.startswith("-"), now=sim.now, sleep=sim.sleep)


async def send_all(lim: Limiter, sim: SimTime, addresses: list[str], latency: float = 0.0):
    """Send to each address in turn; returns the simulated moments the sends left."""
    stamps: list[float] = []
    for address in addresses:
        async with lim.slot(address):
            stamps.append(sim.now())
            await sim.sleep(latency)
    return stamps


async def test_a_fan_out_never_has_more_than_30_in_any_second_and_keeps_the_pace():
    sim = SimTime()
    stamps = await send_all(limiter(sim), sim, [str(1000 + i) for i in range(10_000)])
    assert max_in_window(stamps) == 30
    rate = len(stamps) / (stamps[-1] - stamps[0] + 1.0)  # the last send's second counts
    assert rate >= 28.5


async def test_slow_answers_still_keep_every_second_within_30():
    """A slot is held until a second after the answer, however long the request took."""
    sim = SimTime()
    rng = random.Random(7)
    lim = limiter(sim)
    stamps: list[float] = []

    async def sender(chats: list[str]) -> None:
        for address in chats:
            async with lim.slot(address):
                stamps.append(sim.now())
                await sim.sleep(rng.random() * 0.3)

    chats = [str(5000 + i) for i in range(2_000)]
    await asyncio.gather(*(sender(chats[i::8]) for i in range(8)))
    assert len(stamps) == 2_000
    assert max_in_window(stamps) <= 30


async def test_one_chat_gets_a_short_burst_then_one_message_a_second():
    sim = SimTime()
    stamps = await send_all(limiter(sim), sim, ["42"] * 20)
    assert stamps[:3] == [stamps[0]] * 3  # a reply and the next question at once
    gaps = [b - a for a, b in zip(stamps[3:], stamps[4:], strict=False)]
    assert stamps[3] - stamps[0] == 1.0 and all(abs(g - 1.0) < 1e-9 for g in gaps)
    assert max_in_window(stamps[3:]) == 1


async def test_a_quiet_chat_gets_its_burst_back():
    sim = SimTime()
    lim = limiter(sim)
    await send_all(lim, sim, ["42"] * 6)
    await sim.sleep(10)
    t0 = sim.now()
    await send_all(lim, sim, ["42"] * 3)
    assert sim.now() == t0


async def test_a_group_gets_at_most_20_a_minute():
    sim = SimTime()
    stamps = await send_all(limiter(sim), sim, ["-100123"] * 45)
    assert max_in_window(stamps, 60.0) == 20
    assert stamps[-1] - stamps[0] < 150  # 45 messages: two full minutes and a bit


async def test_a_busy_group_does_not_hold_back_other_chats():
    sim = SimTime()
    lim = limiter(sim)
    await send_all(lim, sim, ["-100123"] * 20)
    t0 = sim.now()
    await send_all(lim, sim, ["7"])
    assert sim.now() - t0 < 1.0


def test_sliding_window_frees_a_slot_exactly_a_window_after_the_use_ended():
    w = SlidingWindow(2, 1.0)
    w.take(0.0)
    w.take(0.0)
    assert w.wait(0.0) is None  # both under way
    w.give(0.5)
    w.give(0.7)
    wait = w.wait(1.2)
    assert wait is not None and abs(wait - 0.3) < 1e-9  # the first ended at 0.5
    assert w.wait(1.5) == 0.0


def test_workers_share_the_bot_wide_budget():
    assert TELEGRAM.share(3).per_second == 10
    assert TELEGRAM.share(1).per_second == 30
    three = [channel_limiters(3)["telegram"] for _ in range(3)]
    assert sum(lim.limits.per_second for lim in three) <= 30
    assert channel_limiters()["whatsapp"].limits.per_second == 80
