"""How a reminder sweep grows with the number of running worksheets (10 vs 1000).

Seeds one office per size with N Kasi, each with an open worksheet of a cycle at its isi step,
overdue on a working morning (so every owner gets a reminder, the planner and the Sekcam an
escalation, the Camat a digest). Measures, in this process and on a fresh SQLite file each:

* the first sweep (plans, inserts and sends ~N reminders),
* a second sweep at the same moment (everything already sent: the idle cost),

and prints each as a ratio to the 10-sheet case (the baseline), plus per-sheet milliseconds.
No assertion on time: this is a measurement. Run: ``python -m bench.bench_sweep``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.bootstrap import build_router  # noqa: E402
from flows.core.context import Ctx  # noqa: E402
from flows.core.router import Core  # noqa: E402
from flows.sop import reminders  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    Cycle,
    Identity,
    Office,
    Person,
    Reminder,
    Section,
    StepDeadline,
    Worksheet,
)

WIB = ZoneInfo("Asia/Jakarta")
STARTED = datetime(2026, 10, 5, 9, 0, tzinfo=WIB)
DUE = datetime(2026, 10, 8, 16, 0, tzinfo=WIB)
FRIDAY_MORNING = datetime(2026, 10, 9, 7, 30, tzinfo=WIB)


class Fixed:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment.astimezone(UTC)

    def now(self) -> datetime:
        return self.moment


async def seed(db: Database, sheets: int) -> None:
    """One office, its chain, ``sheets`` Kasi with open sheets, the isi step overdue."""
    async with db.transaction() as s:
        office = Office(
            code="bench",
            nama="Kecamatan Bench",
            preset="kebasen-pengumpulan",
            tahun=2026,
            settings={},
        )
        s.add(office)
        await s.flush()
        section = Section(office_id=office.id, kode="PEM", nama="Seksi Pemerintahan")
        s.add(section)
        await s.flush()
        chain = [
            Person(
                office_id=office.id,
                nip=f"1970010119900{i}1001",
                nama=role.title(),
                jabatan=role.title(),
                role=role,
            )
            for i, role in enumerate(("camat", "sekcam", "perencana"))
        ]
        kasi = [
            Person(
                office_id=office.id,
                nip=f"19800101200501{i:04d}",
                nama=f"Kasi {i}",
                jabatan="Kasi",
                role="kasi",
                section_id=section.id,
            )
            for i in range(sheets)
        ]
        s.add_all(chain + kasi)
        await s.flush()
        for p in chain + kasi:
            s.add(Identity(person_id=p.id, channel="telegram", external_id=str(10_000 + p.id)))
        cycle = Cycle(
            office_id=office.id,
            period_key="2026-TW3",
            preset="kebasen-pengumpulan",
            step="sampaikan_data",
            status="running",
            created_at=STARTED,
            version=1,
        )
        s.add(cycle)
        await s.flush()
        s.add(
            StepDeadline(cycle_id=cycle.id, step="sampaikan_data", started_at=STARTED, due_at=DUE)
        )
        s.add_all(Worksheet(cycle_id=cycle.id, person_id=p.id, section_id=section.id) for p in kasi)


async def measure(sheets: int, workdir: Path) -> tuple[float, float, int]:
    """(first sweep s, idle sweep s, reminders sent) for ``sheets`` open worksheets."""
    db = Database(f"sqlite+aiosqlite:///{workdir / f'bench-{sheets}.db'}")
    await upgrade(db.engine)
    await seed(db, sheets)
    core = Core(db, build_router(), Fixed(FRIDAY_MORNING))

    async def work(ctx: Ctx) -> None:
        await reminders.sweep(ctx)

    reminders.office_calendar(Office(tz="Asia/Jakarta", settings={})).is_working_day(DUE.date())
    t0 = time.perf_counter()
    await core.run(work)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    await core.run(work)
    idle = time.perf_counter() - t0
    async with db.transaction() as s:
        from sqlalchemy import func, select

        sent = await s.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.status == "sent")
        )
    await db.dispose()
    return first, idle, int(sent or 0)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "warm").mkdir()
        await measure(10, workdir / "warm")  # imports, holiday tables, template cache
        base_first, base_idle, base_sent = await measure(10, workdir)
        big_first, big_idle, big_sent = await measure(1000, workdir)
    print("reminder sweep, SQLite, one office, isi step overdue on a working morning")
    print(
        f"{'sheets':>7} {'sent':>6} {'first sweep':>12} {'idle sweep':>11} "
        f"{'first/10':>9} {'idle/10':>8} {'ms/sheet':>9}"
    )
    for n, first, idle, sent in (
        (10, base_first, base_idle, base_sent),
        (1000, big_first, big_idle, big_sent),
    ):
        print(
            f"{n:>7} {sent:>6} {first * 1000:>10.1f}ms {idle * 1000:>9.1f}ms "
            f"{first / base_first:>9.1f} {idle / base_idle:>8.1f} {first * 1000 / n:>9.2f}"
        )
    print(
        f"100x the sheets -> first sweep x{big_first / base_first:.1f}, "
        f"idle sweep x{big_idle / base_idle:.1f} (linear would be x100)"
    )


if __name__ == "__main__":
    asyncio.run(main())
