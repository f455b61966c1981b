"""The province load test (issue 14): many people submit on the deadline morning through the real
webhook endpoint of several ``kinerja-bot jalan --peran web`` processes, one of them SIGKILLed
halfway.

Everything is a real OS process against one PostgreSQL database: ``web`` webhook workers (each
its own port, behind :class:`bench.webproxy.WebProxy`, the stand-in for nginx) and one
``--peran pekerja`` (delivery, documents, scheduler). The Bot API is the emulator in this
process; it POSTs updates as Telegram does (up to ``connections`` at once, one per chat at a
time, again after a non-2xx). The bots read "now" from a file (``bot.offline.clocked``): the
deadline morning, after the morning reminder went out.

Each Kasi plays ``/isi``, ``9``, Lewati, Lewati, Kirim, waiting for the bot's answer each time;
``active`` people are mid-script at once (a closed loop: the rate is what the deployment
sustains). Latency of a step: the update queued at the emulator (as Telegram receives it) ->
the first message or edit the bot makes in that chat afterwards. When half of the people are
done, web worker 1 is SIGKILLed; it is started again ``restart_after`` seconds later (systemd's
``Restart=on-failure``, ``RestartSec=5``), or never when that is negative.

Counts: every chat's transcript (messages and edits, digits and names normalised) against the
transcript of one Kasi who went through alone before the load (for Kasi), and against the most
common transcript of the same role (for the camat, sekcam and perencana, told once per office
when the last sheet is in). A missing message is *lost*, an extra one *doubled*, one present but
in another place *out of order*; a step never answered is lost too.

The floor, measured in the same run: the same people, emulator and proxy against a stub webhook
that answers every update at once with one message carrying every button the script needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from sqlalchemy import func, select, text, update

from bench import seed
from bench.common import TOKEN, WIB, Fixed, Result, fresh_db, p99
from bench.webproxy import WebProxy
from bot.bootstrap import build_router
from bot.offline.emulator import BotApiEmulator, SentMessage
from bot.scheduler import ReminderScheduler
from flows.core.context import Ctx
from flows.core.router import Core
from flows.sop import reminders
from storage.db import Database
from storage.models import Cycle, Identity, InboxItem, Outbox, Person, Worksheet

ROOT = Path(__file__).resolve().parent.parent
STARTED = datetime(2026, 10, 5, 9, 0, tzinfo=WIB)  # Monday: the isi step opened
DUE = datetime(2026, 10, 8, 16, 0, tzinfo=WIB)  # Thursday 16:00: the deadline
NOW = datetime(2026, 10, 8, 8, 30, tzinfo=WIB)  # the deadline morning
SECRET = "bench-province_secret"
HOOK_PATH = "/telegram-kinerja"

#: What a Kasi does, and the answer each step waits for: a new message or edit ("any"), a newer
#: message with this button, or a newer message containing this text.
SCRIPT: tuple[tuple[str, str, str, str], ...] = (
    ("text", "/isi", "any", ""),
    ("text", "9", "button", "Lewati"),
    ("tap", "Lewati", "button", "Lewati"),
    ("tap", "Lewati", "button", "Kirim"),
    ("tap", "Kirim", "text", "sudah dikirim"),
)


@dataclass
class Plan:
    """The sizes of one run (``python -m bench --only province --province-people ...``)."""

    people: int = 5_000
    offices: int = 250
    web: int = 3
    active: int = 200
    connections: int = 40
    kill: bool = True
    restart_after: float = 5.0
    step_timeout: float = 120.0
    settle_timeout: float = 180.0
    floor_people: int = 1_000
    #: Stop starting new people after this many seconds (0: everyone plays); the worker is
    #: then killed at half of this time if half the people are not done before.
    budget_s: float = 0.0
    #: Seconds of ``py-spy record`` on a surviving web worker and the pekerja (0: none; needs
    #: py-spy beside the interpreter or on PATH, and ptrace rights).
    profile: float = 0.0


# ---------------------------------------------------------------------------------- emulator


class RecordingEmulator(BotApiEmulator):
    """The Bot API emulator, also keeping every chat's messages and edits with their time and
    waking that chat's waiter (the emulator's own waits scan every chat: too slow for 5,000)."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.log: dict[int, list[tuple[float, str, str]]] = defaultdict(list)
        self._changed: dict[int, asyncio.Event] = {}

    def _record(self, chat: int, kind: str, text: str) -> None:
        self.log[chat].append((time.perf_counter(), kind, text))
        event = self._changed.get(chat)
        if event is not None:
            event.set()

    def _new_bot_message(self, chat: Any, kind: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raw = super()._new_bot_message(chat, kind, *args, **kwargs)
        self._record(chat.id, "send", chat.bot_messages[raw["message_id"]].text)
        return raw

    def _apply_edit(self, chat: Any, message: SentMessage, *args: Any) -> dict[str, Any]:
        raw = super()._apply_edit(chat, message, *args)
        self._record(chat.id, "edit", message.text)
        return raw

    async def until(self, chat: int, done: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``done()`` holds, woken by this chat's changes; False after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        event = self._changed.setdefault(chat, asyncio.Event())
        while not done():
            event.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
        return True

    @property
    def queued(self) -> int:
        return len(self._updates)


# ---------------------------------------------------------------------------------- processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process, from /proc (0 when unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class BotProc:
    """One ``kinerja-bot jalan --peran ...`` process, its log, and the CPU it used."""

    name: str
    role: str
    env: dict[str, str]
    log_path: Path
    port: int = 0
    proc: asyncio.subprocess.Process | None = None
    cpu_before: float = 0.0
    starts: int = 0

    async def start(self) -> None:
        args = ["-m", "bot.offline.clocked", "--jam", self.env["BENCH_CLOCK_FILE"]]
        args += ["jalan", "--peran", self.role]
        env = dict(self.env)
        if self.port:
            env["WEBHOOK_PORT"] = str(self.port)
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, *args, cwd=ROOT, env=env, stdout=log, stderr=log
            )
        self.starts += 1

    def cpu(self) -> float:
        live = _cpu_seconds(self.proc.pid) if self.proc and self.proc.returncode is None else 0
        return self.cpu_before + live

    async def kill(self) -> None:
        """SIGKILL: no clean shutdown, requests in flight cut off."""
        assert self.proc is not None
        self.cpu_before += _cpu_seconds(self.proc.pid)
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.cpu_before += _cpu_seconds(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout=30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _wait(check: Callable[[], Any], what: str, timeout: float = 120.0) -> None:
    """Poll an (async or plain) condition until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"province bench: gave up waiting for {what}")
        await asyncio.sleep(0.1)


# ---------------------------------------------------------------------------------- profiling


def _py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def profile(proc: BotProc, seconds: float, out: Path) -> dict[str, Any]:
    """``py-spy record`` (idle included) on one process; where its samples were."""
    spy = _py_spy()
    if spy is None or proc.proc is None:
        return {"error": "py-spy not found"}
    args = ["record", "--pid", str(proc.proc.pid), "--duration", str(int(seconds))]
    args += ["--idle", "--rate", "50", "--format", "raw", "--output", str(out), "--nonblocking"]
    run = await asyncio.create_subprocess_exec(
        spy, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await run.communicate()
    if run.returncode != 0 or not out.exists():
        return {"error": err.decode(errors="replace")[-300:]}
    return summarise(out.read_text(encoding="utf-8"))


#: Where a sample is a thread waiting: the event loop's select, a pool thread's queue or lock.
_IDLE = ("selectors.py", "threading.py", "queue.py")
#: Frames under which everything runs (left out of "our busiest frames").
_ENTRY = ("(bot/cli.py:", "(bot/offline/clocked.py:", "(bot/workers/drainer.py:")


def summarise(raw: str, top: int = 8) -> dict[str, Any]:
    """Shares of samples: idle in the event loop's select, and the busiest frames of our code
    (inclusive) and of anything (self)."""
    total = idle = 0
    ours: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        if any(f"({where}:" in frames[-1] for where in _IDLE):
            idle += n
            continue
        leaves[frames[-1]] += n
        for frame in set(frames):
            if any(f"({d}/" in frame for d in ("bot", "flows", "storage", "handlers")) and not any(
                entry in frame for entry in _ENTRY
            ):
                ours[frame] += n
    share = {k: round(v / total, 3) for k, v in leaves.most_common(top)} if total else {}
    return {
        "samples": total,
        "idle_share": round(idle / total, 3) if total else 0.0,
        "top_self": share,
        "top_ours_inclusive": (
            {k: round(v / total, 3) for k, v in ours.most_common(top)} if total else {}
        ),
    }


# ---------------------------------------------------------------------------------- the data


@dataclass
class Seeded:
    kasi: list[int]  # chat ids
    office_of: dict[int, int]  # Kasi chat id -> office id
    chain: dict[int, tuple[int, str]]  # chat id -> (office id, role)
    first_office_kasi: list[int]


async def seed_province(db: Database, plan: Plan) -> Seeded:
    """``people`` Kasi in ``offices`` offices, every TW III cycle at its isi step; the morning's
    reminders already went out (their outbox rows are marked sent)."""
    per_office = -(-plan.people // plan.offices)
    await seed.open_sheets(db, plan.people, STARTED, DUE, per_office=per_office)
    core = Core(db, build_router(), Fixed(NOW))
    await ReminderScheduler(core).reconcile()

    async def sweep(ctx: Ctx) -> None:
        await reminders.sweep(ctx)

    await core.run(sweep)
    async with db.transaction() as s:
        await s.execute(
            update(Outbox).where(Outbox.status == "pending").values(status="sent", sent_at=NOW)
        )
        rows = (
            await s.execute(
                select(Identity.external_id, Person.role, Person.office_id)
                .join(Person, Person.id == Identity.person_id)
                .order_by(Person.id)
            )
        ).all()
    kasi = [int(chat) for chat, role, _ in rows if role == "kasi"]
    chain = {int(chat): (office, role) for chat, role, office in rows if role != "kasi"}
    first = min(office for _, _, office in rows)
    office_of = {int(chat): office for chat, role, office in rows if role == "kasi"}
    return Seeded(kasi, office_of, chain, [c for c in kasi if office_of[c] == first])


# ---------------------------------------------------------------------------------- the people


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    updates: int = 0
    unanswered: int = 0  # steps whose answer never came (lost)
    finished: int = 0
    played: list[int] = field(default_factory=list)  # chats whose script started


async def person(emu: RecordingEmulator, chat: int, tally: Tally, timeout: float) -> bool:
    """One Kasi's script; each step waits for its answer. False when a step went unanswered."""
    for kind, what, expect, arg in SCRIPT:
        mark = emu.mark(chat)
        seen = len(emu.log[chat])
        if kind == "text":
            t0 = time.perf_counter()
            emu.user_sends_text(chat, what, first_name=f"Kasi {chat}")
        else:
            found = emu.find_button(chat, what)
            if found is None:
                tally.unanswered += 1
                return False
            t0 = time.perf_counter()
            emu.user_taps(chat, found[0].message_id, str(found[1]))
        tally.updates += 1

        def answered(expect: str = expect, arg: str = arg, mark: int = mark) -> bool:
            if expect == "any":
                return emu.mark(chat) > mark
            if expect == "button":
                hit = emu.find_button(chat, arg)
                return hit is not None and hit[0].seq > mark
            return any(m.seq > mark and arg in m.text for m in emu.chat_messages(chat)[-3:])

        if not await emu.until(chat, answered, timeout):
            tally.unanswered += 1
            return False
        tally.latencies.append(emu.log[chat][seen][0] - t0)
    tally.finished += 1
    return True


async def crowd(
    emu: RecordingEmulator,
    chats: list[int],
    plan: Plan,
    halfway: Callable[[], Any] | None = None,
) -> tuple[Tally, float]:
    """Everyone's script in order, ``active`` at a time, no one new after ``budget_s``;
    ``halfway`` runs once, when half are done (or half the budget has passed)."""
    tally = Tally()
    queue = list(reversed(chats))
    half = len(chats) // 2
    done = 0
    side: list[asyncio.Task[Any]] = []
    t0 = time.perf_counter()

    def over(share: float) -> bool:
        return plan.budget_s > 0 and time.perf_counter() - t0 >= plan.budget_s * share

    async def lane() -> None:
        nonlocal done
        while queue and not over(1.0):
            chat = queue.pop()
            tally.played.append(chat)
            await person(emu, chat, tally, plan.step_timeout)
            done += 1
            if halfway is not None and not side and (done >= half or over(0.5)):
                side.append(asyncio.create_task(halfway()))

    await asyncio.gather(*(lane() for _ in range(min(plan.active, len(chats)))))
    wall = time.perf_counter() - t0
    await asyncio.gather(*side)
    return tally, wall


# ---------------------------------------------------------------------------------- the counts

_DIGITS = re.compile(r"\d+")


def normalised(events: list[tuple[float, str, str]]) -> list[str]:
    return [f"{kind}:{_DIGITS.sub('#', ' '.join(txt.split()))}" for _, kind, txt in events]


def compare(actual: list[str], expected: list[str]) -> tuple[int, int, int]:
    """(lost, doubled, out of order) of one chat's transcript against the expected one."""
    have, want = Counter(actual), Counter(expected)
    lost = sum((want - have).values())
    doubled = sum((have - want).values())
    common = sum((have & want).values())
    matcher = difflib.SequenceMatcher(a=expected, b=actual, autojunk=False)
    in_order = sum(block.size for block in matcher.get_matching_blocks())
    return lost, doubled, max(0, common - in_order)


def count_all(
    emu: RecordingEmulator, seeded: Seeded, reference: list[str], offices: set[int]
) -> dict[str, Any]:
    """Lost, doubled and out-of-order messages of the Kasi in ``seeded.kasi`` and of the
    chain of ``offices`` (those whose every Kasi played)."""
    lost = doubled = disorder = 0
    bad_chats: list[int] = []
    for chat in seeded.kasi:
        triple = compare(normalised(emu.log[chat]), reference)
        lost, doubled, disorder = lost + triple[0], doubled + triple[1], disorder + triple[2]
        if any(triple):
            bad_chats.append(chat)
    by_role: dict[str, list[int]] = defaultdict(list)
    for chat, (office, role) in seeded.chain.items():
        if office in offices:
            by_role[role].append(chat)
    chain_expected: dict[str, int] = {}
    for role, chats in by_role.items():
        common = Counter(tuple(normalised(emu.log[c])) for c in chats).most_common(1)[0][0]
        chain_expected[role] = len(common)
        for chat in chats:
            triple = compare(normalised(emu.log[chat]), list(common))
            lost, doubled, disorder = lost + triple[0], doubled + triple[1], disorder + triple[2]
            if any(triple):
                bad_chats.append(chat)
    expected = len(reference) * len(seeded.kasi) + sum(
        chain_expected[role] * len(chats) for role, chats in by_role.items()
    )
    return {
        "expected_messages": expected,
        "lost": lost,
        "doubled": doubled,
        "out_of_order": disorder,
        "chain_messages_per_role": chain_expected,
        "bad_chats_sample": bad_chats[:10],
    }


async def db_counts(db: Database) -> dict[str, Any]:
    async with db.transaction() as s:
        sheets = dict(
            (await s.execute(select(Worksheet.status, func.count()).group_by(Worksheet.status)))
            .tuples()
            .all()
        )
        steps = dict(
            (await s.execute(select(Cycle.step, func.count()).group_by(Cycle.step))).tuples().all()
        )
        outbox = dict(
            (await s.execute(select(Outbox.status, func.count()).group_by(Outbox.status)))
            .tuples()
            .all()
        )
        inbox = dict(
            (await s.execute(select(InboxItem.status, func.count()).group_by(InboxItem.status)))
            .tuples()
            .all()
        )
    return {"worksheets": sheets, "cycle_steps": steps, "outbox": outbox, "inbox": inbox}


async def _settled(db: Database, emu: RecordingEmulator) -> bool:
    if emu.queued:
        return False
    async with db.transaction() as s:
        pending = await s.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
        )
        waiting = await s.scalar(
            select(func.count()).select_from(InboxItem).where(InboxItem.status == "pending")
        )
    return not pending and not waiting


async def _pg_cpu(db: Database) -> float:
    """CPU seconds of this database's PostgreSQL backends (their pools live for the run)."""
    async with db.transaction() as s:
        pids = (
            await s.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
        ).all()
    return sum(_cpu_seconds(int(p)) for p in pids)


# ---------------------------------------------------------------------------------- the floor


async def floor(plan: Plan, people: list[int]) -> tuple[Tally, float]:
    """The same people, emulator and proxy; the webhook answers each update with one message
    that has every button the script needs (no database, no flows)."""
    emu = RecordingEmulator()
    emu.webhook_connections = plan.connections
    await emu.start()
    for chat in people:
        emu.add_user(chat, f"Kasi {chat}")
    port = _free_port()
    stub = web.Application()
    http = ClientSession()
    markup = {"inline_keyboard": [[{"text": t, "callback_data": t} for t in ("Lewati", "Kirim")]]}

    async def answer(request: web.Request) -> web.Response:
        update = await request.json()
        source = update.get("message") or update["callback_query"]["message"]
        body = {"chat_id": source["chat"]["id"], "text": "sudah dikirim", "reply_markup": markup}
        async with http.post(f"{emu.base_url}{TOKEN}/sendMessage", json=body) as resp:
            await resp.read()
        return web.Response()

    stub.router.add_post(HOOK_PATH, answer)
    runner = web.AppRunner(stub, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    proxy = WebProxy([port], HOOK_PATH)
    await proxy.start()
    try:
        async with http.post(f"{emu.base_url}{TOKEN}/setWebhook", json={"url": proxy.url}):
            pass
        return await crowd(emu, people, plan)
    finally:
        await proxy.stop()
        await runner.cleanup()
        await http.close()
        await emu.stop()


# ---------------------------------------------------------------------------------- the run


async def run(url: str, plan: Plan, workdir: Path) -> dict[str, Any]:
    """Seed, start the processes, play the crowd, kill one worker halfway; return every number."""
    async with fresh_db(url, "province") as db:
        t0 = time.perf_counter()
        seeded = await seed_province(db, plan)
        seed_s = time.perf_counter() - t0
    clock_file = workdir / "province-clock.txt"
    clock_file.write_text(NOW.isoformat(), encoding="utf-8")
    emu = RecordingEmulator()
    emu.webhook_connections = plan.connections
    await emu.start()
    for chat in [*seeded.kasi, *seeded.chain]:
        emu.add_user(chat, f"Kasi {chat}")
    ports = [_free_port() for _ in range(plan.web)]
    proxy = WebProxy(ports, HOOK_PATH)
    await proxy.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.update(
        TELEGRAM_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{emu.port}",
        TELEGRAM_WEBHOOK_URL=proxy.url,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        DATABASE_URL=url,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        BENCH_CLOCK_FILE=str(clock_file),
    )
    webs = [
        BotProc(f"web{i + 1}", "web", env, workdir / f"web{i + 1}.log", port)
        for i, port in enumerate(ports)
    ]
    worker = BotProc("pekerja", "pekerja", env, workdir / "pekerja.log")
    procs = [*webs, worker]
    db = Database(url)
    killed: dict[str, Any] = {}
    try:
        for p in procs:
            await p.start()
        for p in webs:
            await _wait(partial(_port_open, p.port), f"{p.name} to listen (log {p.log_path})")
        await _wait(lambda: len(emu.calls_to("getMe")) >= len(procs), "every process to start")
        await _wait(lambda: emu.webhook_url == proxy.url, "setWebhook")

        # One Kasi alone: the reference transcript (and warm caches).
        warm = seeded.first_office_kasi[0]
        alone = Tally()
        if not await person(emu, warm, alone, plan.step_timeout):
            raise RuntimeError(f"the reference Kasi got no answer; see {workdir}/*.log")
        await _wait(lambda: _settled(db, emu), "the reference Kasi's messages", 60)
        reference = normalised(emu.log[warm])

        async def halfway() -> None:
            if not plan.kill:
                return
            victim = webs[0]
            killed.update(at_s=time.perf_counter() - started, worker=victim.name)
            await victim.kill()
            if plan.restart_after >= 0:
                await asyncio.sleep(plan.restart_after)  # systemd's RestartSec
                await victim.start()
                killed["restarted_after_s"] = plan.restart_after

        people = [c for c in seeded.kasi if c != warm]
        cpu0 = {p.name: p.cpu() for p in procs}
        pg0 = await _pg_cpu(db)
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        spies = [
            asyncio.create_task(profile(p, plan.profile, workdir / f"{p.name}.pyspy.txt"))
            for p in (webs[-1], worker)
            if plan.profile > 0
        ]
        tally, wall = await crowd(emu, people, plan, halfway)
        profiles = dict(
            zip([webs[-1].name, worker.name], await asyncio.gather(*spies), strict=False)
        )
        settle_t0 = time.perf_counter()
        await _wait(lambda: _settled(db, emu), "inbox and outbox to drain", plan.settle_timeout)
        settle_s = time.perf_counter() - settle_t0
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = {p.name: round(p.cpu() - cpu0[p.name], 1) for p in procs}
        cpu["postgres"] = round(await _pg_cpu(db) - pg0, 1)
        cpu["harness"] = round(self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime, 1)
        played = set(tally.played) | {warm}
        whole = {o for o in set(seeded.office_of.values())} - {
            seeded.office_of[c] for c in seeded.kasi if c not in played
        }
        counts = count_all(
            emu, Seeded(tally.played, seeded.office_of, seeded.chain, []), reference, whole
        )
        counts["offices_all_played"] = len(whole)
        counts["lost"] += tally.unanswered
        counts["unanswered_steps"] = tally.unanswered
        stored = await db_counts(db)
    finally:
        for p in procs:
            await p.stop()
        await db.dispose()
        await proxy.stop()
        await emu.stop()
    errors = sum(
        p.log_path.read_text(errors="replace").count("Traceback")
        for p in procs
        if p.log_path.exists()
    )
    lat = sorted(tally.latencies)
    return {
        "plan": plan.__dict__,
        "people": len(people),
        "played": len(tally.played),
        "offices": plan.offices,
        "updates": tally.updates,
        "wall_s": wall,
        "settle_s": settle_s,
        "seed_s": seed_s,
        "updates_per_s": tally.updates / wall,
        "p50_ms": statistics.median(lat) * 1000 if lat else 0.0,
        "p99_ms": p99(lat) * 1000 if lat else 0.0,
        "finished": tally.finished,
        "webhook_posts": emu.webhook_posts,
        "proxy_502": proxy.answered_502,
        "proxy_upstreams": [u.__dict__ for u in proxy.upstreams],
        "killed": killed,
        "cpu_s": cpu,
        "tracebacks_in_logs": errors,
        "counts": counts,
        "database": stored,
        "profile": profiles,
        "reference_transcript": reference,
    }


async def measure(url: str, plan: Plan, workdir: Path) -> list[Result]:
    """The province figures beside the stub-webhook floor of the same run."""
    out = await run(url, plan, workdir)
    played = out["played"]
    people = list(range(seed.CHAT_BASE, seed.CHAT_BASE + min(plan.floor_people, played)))
    base, base_wall = await floor(plan, people)
    base_rate = base.updates / base_wall
    base_lat = sorted(base.latencies)
    size = (
        f"{played:,} of {out['people'] + 1:,} people submitting, {plan.offices} offices, "
        f"{plan.web} web workers{', 1 SIGKILLed' if plan.kill else ''}"
    )
    what = "same crowd, emulator and proxy; stub webhook answering at once"
    c = out["counts"]
    total = c["expected_messages"]
    rows = [
        Result(
            "province updates/s",
            out["updates_per_s"],
            "upd/s",
            base_rate,
            "upd/s",
            what,
            "-",
            size,
            extra=out,
        ),
        Result(
            "province p50",
            out["p50_ms"],
            "ms",
            statistics.median(base_lat) * 1000,
            "ms",
            what,
            "-",
            size,
        ),
        Result("province p99", out["p99_ms"], "ms", p99(base_lat) * 1000, "ms", what, "-", size),
    ]
    for key in ("lost", "doubled", "out_of_order"):
        rows.append(
            Result(
                f"province {key.replace('_', '-')}",
                float(c[key]),
                "msgs",
                float(total),
                "msgs",
                "messages expected",
                "0",
                size,
                met=c[key] == 0,
            )
        )
    return rows
