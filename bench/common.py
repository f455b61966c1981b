"""What every figure shares: the result row, clocks, timing, throw-away databases."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database, is_sqlite
from storage.migrate import upgrade

WIB = ZoneInfo("Asia/Jakarta")
TOKEN = "123456:BENCH-TOKEN"


@dataclass
class Result:
    """One figure beside its floor, both measured in this run."""

    figure: str
    value: float
    unit: str
    floor: float
    floor_unit: str
    floor_what: str
    target: str
    size: str
    met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.floor if self.floor else float("inf")

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


class Fixed:
    """A clock that stands still (the SOP clock of the seeded data)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment.astimezone(UTC)

    def now(self) -> datetime:
        return self.moment


def p99(samples: list[float]) -> float:
    """The 99th percentile (inclusive method; the maximum for fewer than 100 samples)."""
    if len(samples) < 100:
        return max(samples)
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def max_in_window(stamps: list[float], window: float = 1.0) -> int:
    """The most timestamps inside any sliding window of ``window`` seconds."""
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class Timer:
    """``with Timer() as t: ...``; then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0


async def _reset_postgres(url: str) -> None:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await db.dispose()


@asynccontextmanager
async def fresh_db(url_or_dir: str | Path, name: str) -> AsyncIterator[Database]:
    """A migrated, empty database: a new SQLite file in a folder, or a wiped PostgreSQL one."""
    if isinstance(url_or_dir, Path):
        path = url_or_dir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = url_or_dir
        if make_url(url).database == "test":
            raise SystemExit("BENCH_DATABASE_URL must not be the shared database named 'test'")
        await _reset_postgres(url)
    db = Database(url)
    await upgrade(db.engine)
    try:
        yield db
    finally:
        await db.dispose()


def backend(db: Database) -> str:
    return "SQLite" if is_sqlite(db.url) else "PostgreSQL"
