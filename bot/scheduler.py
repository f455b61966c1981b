"""The reminder scheduler: APScheduler 3.11 in the bot's event loop, a fixed set of two jobs.

The database is the source of truth and the queue (``Reminder`` and ``StepDeadline`` rows); the
scheduler only decides *when* to sweep it:

* ``sweep-next``: a ``DateTrigger`` at the next due time the last sweep returned, re-armed
  (``replace_existing=True``) after every sweep;
* ``sweep-tick``: an ``IntervalTrigger`` every ``SWEEP_INTERVAL_SECONDS``, a safety net for work
  that appeared between sweeps (a new step, an extension, a clock jump);
* ``lead`` (only with a :class:`bot.leader.Leader`): every ``LEAD_SECONDS`` a follower tries
  to take the scheduler lock; the process that takes it replans and sweeps at once;
* and, after start-up, in the background (:attr:`ReminderScheduler.warm_up`): one replan of
  every running cycle (a transaction per cycle, the safety net of ``reminders.reconcile_cycle``)
  and one sweep, which also sends reminders whose time passed while the bot was down.

There is never one job per reminder, and start-up never waits for a sweep, so it does not grow
with the number of pending reminders. A sweep handles ``reminders.BATCH`` due rows per
transaction and goes on in a new one while rows are due (no long write transaction).
Jobs use ``misfire_grace_time=None`` (APScheduler's default of 1 s would silently skip
a late run), ``coalesce=True`` and ``max_instances=1``; sweeps never overlap (a lock).

The sweep's clock may not be the wall clock (the file clock of the test-only
``bot.offline.clocked``): the next due time is turned into a delay on the sweep's clock and
scheduled that far from the wall clock.

With many worker processes on one PostgreSQL database only the leader sweeps (the others'
sweeps return at once); the sweep also claims its rows with ``FOR UPDATE SKIP LOCKED``, so a
leader that lost its lock mid-batch and the new one never send the same reminder.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.leader import Leader
from flows.core.context import Clock, Ctx
from flows.core.router import Core
from flows.sop import reminders

log = logging.getLogger(__name__)

JOB_NEXT = "sweep-next"
JOB_TICK = "sweep-tick"
JOB_LEAD = "lead"
#: How often a follower tries to become the leader (a dead leader is replaced within this).
LEAD_SECONDS = 20
#: The shortest delay before ``sweep-next`` (no busy loop if a due time does not move on).
MIN_DELAY = timedelta(seconds=1)

Sweep = Callable[[Ctx], Awaitable[datetime | None]]
#: At most this many batches per sweep (a guard; the next tick goes on).
MAX_BATCHES = 1_000


async def _replan(ctx: Ctx, cycle_id: int) -> None:
    await reminders.reconcile_cycle(ctx, cycle_id)


class ReminderScheduler:
    """Runs :func:`flows.reminders.sweep` through ``Core.run`` at the right times."""

    def __init__(
        self,
        core: Core,
        interval_seconds: int = 300,
        *,
        clock: Clock | None = None,
        sweep: Sweep = reminders.sweep_batch,
        replan: bool = True,
        leader: Leader | None = None,
    ) -> None:
        self.core = core
        self.clock = clock or core.clock
        self.interval = max(1, int(interval_seconds))
        self.sweep = sweep
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._lock = asyncio.Lock()
        self.next_due: datetime | None = None
        self.sweeps = 0
        self.replan = replan
        self.warm_up: asyncio.Task[None] | None = None
        self.leader = leader

    async def start(self) -> None:
        """Start in the running loop, add the tick; replan and sweep in the background."""
        self.scheduler.start()
        self.scheduler.add_job(
            self.run_sweep,
            IntervalTrigger(seconds=self.interval, timezone=UTC),
            id=JOB_TICK,
            name="reminder safety tick",
            replace_existing=True,
        )
        if self.leader is not None:
            self.scheduler.add_job(
                self.try_lead,
                IntervalTrigger(seconds=LEAD_SECONDS, timezone=UTC),
                id=JOB_LEAD,
                name="scheduler leader election",
                replace_existing=True,
            )
        self.warm_up = asyncio.create_task(self._warm_up(), name="reminders-warm-up")

    async def leads(self) -> bool:
        """Whether this process may sweep now (always, without a leader)."""
        if self.leader is None:
            return True
        try:
            return await self.leader.check()
        except Exception:  # the database is away: nobody sweeps from here for now
            log.exception("scheduler leader check failed")
            return False

    async def try_lead(self) -> bool:
        """A follower tries to take over; on success it replans and sweeps at once."""
        was = self.leader is not None and self.leader.leading
        now = await self.leads()
        if now and not was:
            await self._warm_up()
        return now

    async def _warm_up(self) -> None:
        if not await self.leads():
            return  # a follower: the leader replans; :meth:`try_lead` does it on takeover
        if self.replan:
            await self.reconcile()
        await self.run_sweep()

    async def reconcile(self) -> int:
        """Replan every running cycle, one transaction each; the number of cycles replanned."""
        ids: list[int] = []

        async def running(ctx: Ctx) -> None:
            ids.extend(await reminders.running_cycles(ctx))

        try:
            await self.core.run(running)
            for cycle_id in ids:
                await self.core.run(functools.partial(_replan, cycle_id=cycle_id))
        except Exception:  # the sweep still runs; a failing replan must not kill the bot
            log.exception("reminder replan failed")
        return len(ids)

    def stop(self) -> None:
        if self.warm_up is not None and not self.warm_up.done():
            self.warm_up.cancel()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self.scheduler.get_jobs())

    async def run_sweep(self) -> datetime | None:
        """Sweep batch after batch (a transaction each) while rows are due; re-arms
        ``sweep-next``. Errors are logged, not raised."""
        async with self._lock:
            if not await self.leads():
                return None
            found: list[datetime | None] = [None]

            async def work(ctx: Ctx) -> None:
                found[0] = await self.sweep(ctx)

            try:
                for _ in range(MAX_BATCHES):
                    await self.core.run(work)
                    if found[0] is None or found[0] > self.clock.now():
                        break
            except Exception:  # the tick retries; a failing sweep must not kill the bot
                log.exception("reminder sweep failed")
                return None
            self.sweeps += 1
            self.next_due = found[0]
            self.arm(found[0])
            return found[0]

    def arm(self, due: datetime | None) -> None:
        """Point ``sweep-next`` at ``due`` (on the sweep's clock); none → remove it."""
        if due is None:
            if self.scheduler.get_job(JOB_NEXT) is not None:
                self.scheduler.remove_job(JOB_NEXT)
            return
        delay = max(due - self.clock.now(), MIN_DELAY)
        self.scheduler.add_job(
            self.run_sweep,
            DateTrigger(run_date=datetime.now(UTC) + delay, timezone=UTC),
            id=JOB_NEXT,
            name="reminder sweep at the next due time",
            replace_existing=True,
        )
