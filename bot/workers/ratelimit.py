"""Send limits per channel: never more than N messages in any window, per bot, chat and group.

PTB's ``AIORateLimiter`` (a leaky bucket via aiolimiter) lets a full bucket out at once and then
refills it, so 30 go at t=0 and ~29 more before t=1: up to 59 in one second. ``limits``'s
moving window counts a hit when it is taken, not when the request has left. Here a send holds
a slot from before its request until ``window`` seconds after its answer, so however late the
request leaves, no window of that length ever holds more than ``limit`` of them.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

#: Past this many chats remembered, the idle ones are forgotten (memory stays bounded).
_MAX_CHATS = 10_000


@dataclass(frozen=True)
class Limits:
    """A channel's limits: bot-wide per second, one chat, one group chat."""

    per_second: int
    chat_interval: float = 1.0
    group_per_minute: int = 0
    #: A chat may get this many at once (a reply and the next question), then one per
    #: ``chat_interval`` (a token bucket of this size, refilled one per interval).
    chat_burst: int = 1

    def share(self, workers: int) -> Limits:
        """This worker's part of the bot-wide budget when ``workers`` processes send at once."""
        return replace(self, per_second=max(1, self.per_second // max(1, workers)))


#: Telegram's documented limits: 30 messages a second, about one a second per chat (short
#: bursts allowed), 20 a minute in a group.
TELEGRAM = Limits(per_second=30, chat_interval=1.0, group_per_minute=20, chat_burst=3)
#: WhatsApp Cloud API: 80 messages a second per number by default; about one a second per
#: person, short bursts allowed.
WHATSAPP = Limits(per_second=80, chat_interval=1.0, chat_burst=3)


class SlidingWindow:
    """At most ``limit`` uses in any ``window`` seconds; a use counts from its start until
    ``window`` seconds after its end."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.busy = 0
        self.ends: deque[float] = deque()

    def wait(self, now: float) -> float | None:
        """Seconds until a slot is free (0: now; None: only once a use ends)."""
        while self.ends and self.ends[0] + self.window <= now:
            self.ends.popleft()
        if self.busy + len(self.ends) < self.limit:
            return 0.0
        if self.ends:
            return self.ends[0] + self.window - now
        return None

    def take(self, now: float) -> None:
        self.busy += 1

    def give(self, now: float) -> None:
        self.busy -= 1
        self.ends.append(now)

    def idle(self, now: float) -> bool:
        return self.busy == 0 and (not self.ends or self.ends[-1] + self.window <= now)


class Pace:
    """One use per ``interval`` on average, ``burst`` at once at most (a token bucket)."""

    def __init__(self, interval: float, burst: int) -> None:
        self.interval = interval
        self.slack = (burst - 1) * interval
        self.due = float("-inf")  # when the bucket is full again

    def wait(self, now: float) -> float | None:
        ahead = self.due - now - self.slack
        return ahead if ahead > 0 else 0.0

    def take(self, now: float) -> None:
        self.due = max(self.due, now) + self.interval

    def give(self, now: float) -> None:
        return None

    def idle(self, now: float) -> bool:
        return self.due <= now


Window = SlidingWindow | Pace


class Limiter:
    """One channel's limiter in one process: ``async with limiter.slot(address): send()``.

    ``now`` and ``sleep`` are injectable (simulated time in tests); ``is_group`` tells a group
    chat's address (Telegram: a negative chat id).
    """

    def __init__(
        self,
        limits: Limits,
        *,
        is_group: Callable[[str], bool] = lambda address: False,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self.is_group = is_group
        self.now = now
        self.sleep = sleep
        self.bot = SlidingWindow(limits.per_second, 1.0)
        self.chats: dict[str, Window] = {}
        self._released = asyncio.Event()

    def _windows(self, address: str) -> list[Window]:
        windows: list[Window] = [self.bot]
        if self.limits.chat_interval > 0:
            pace = self.chats.get(address)
            if pace is None:
                pace = self.chats[address] = Pace(self.limits.chat_interval, self.limits.chat_burst)
            windows.append(pace)
        if self.limits.group_per_minute and self.is_group(address):
            key = "group:" + address
            group = self.chats.get(key)
            if group is None:
                group = self.chats[key] = SlidingWindow(self.limits.group_per_minute, 60.0)
            windows.append(group)
        return windows

    @asynccontextmanager
    async def slot(self, address: str) -> AsyncIterator[None]:
        """Wait until this chat may be sent to, hold the slot during the send."""
        windows = await self._acquire(address)
        try:
            yield
        finally:
            now = self.now()
            for w in windows:
                w.give(now)
            self._released.set()
            self._released = asyncio.Event()
            if len(self.chats) > _MAX_CHATS:
                self._forget(now)

    async def _acquire(self, address: str) -> list[Window]:
        while True:
            windows = self._windows(address)
            now = self.now()
            waits = [w.wait(now) for w in windows]
            timed = [s for s in waits if s is not None]
            if all(s == 0.0 for s in waits):
                for w in windows:
                    w.take(now)
                return windows
            if any(s for s in timed):
                await self.sleep(max(timed))
            else:  # every slot is held by a send still under way
                await self._released.wait()

    def _forget(self, now: float) -> None:
        for key in [k for k, w in self.chats.items() if w.idle(now)]:
            del self.chats[key]


def channel_limiters(workers: int = 1) -> dict[str, Limiter]:
    """A limiter per channel for one of ``workers`` delivery processes (each its share)."""
    return {
        "telegram": Limiter(
            TELEGRAM.share(workers), is_group=lambda address: address.startswith("-")
        ),
        "whatsapp": Limiter(WHATSAPP.share(workers)),
    }
