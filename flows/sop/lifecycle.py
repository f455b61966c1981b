"""The lifecycle of a cycle and of a worksheet: transition tables and the one ``transition()``.

Each machine is a table of rows (state, verb, guard, next state). :func:`transition` is the only
code that writes a cycle's or a worksheet's ``status`` or ``step`` (tests/test_architecture.py
checks): it finds the row, checks its guard, claims the row in the database with a conditional
update on its version (``UPDATE … WHERE id = :id AND version = :v``; rowcount 1 or it lost),
writes the event and closes the buttons of the decided visit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update

from flows.core.context import Ctx
from flows.core.people import Actor
from flows.domain.states import CycleState, SheetState
from flows.sop.reminder_plan import sheet_moved
from flows.sop.run import (
    Run,
    as_owner,
    as_planner,
    as_verifier,
    authority,
    sheet_group,
    visit_group,
)
from storage.models import Cycle, Worksheet


class Verb(StrEnum):
    # a cycle
    DECIDE = "putuskan"  # an actor completes (or returns) the current step
    ENTER = "masuki"  # the engine makes a step current (a new visit)
    FINISH = "selesaikan"  # the last step is done
    REOPEN = "buka_kembali"  # the planner reopens a final cycle
    # a worksheet
    SUBMIT = "kirim"
    ACCEPT = "terima"
    RETURN = "kembalikan"  # the verifier sends a sent sheet back
    RETURN_AT_REKAP = "kembalikan_rekap"  # the rekap's actor sends a sent/accepted sheet back
    CORRECT = "izinkan_ubah"  # the verifier lets the owner correct a sent/accepted sheet
    ASK_LATE = "minta_terlambat"  # the owner asks to send after the filling window closed
    ALLOW_LATE = "izinkan_terlambat"  # the verifier allows it
    REFUSE_LATE = "tolak_terlambat"  # the verifier refuses: the sheet is closed unsent


class Guard(StrEnum):
    SYSTEM = "sistem"  # the engine itself (no speaker needed)
    STEP_ACTOR = "pelaku_langkah"  # may act at the cycle's current step
    PLANNER = "perencana"  # the cycle's planner
    OWNER = "pemilik_lembar"  # owns the worksheet
    VERIFIER = "pemeriksa_lembar"  # checks the worksheet


@dataclass(frozen=True)
class Rule:
    state: str
    verb: Verb
    guard: Guard
    next: str


C, S = CycleState, SheetState

CYCLE: tuple[Rule, ...] = (
    Rule(C.RUNNING, Verb.DECIDE, Guard.STEP_ACTOR, C.RUNNING),
    Rule(C.RUNNING, Verb.ENTER, Guard.SYSTEM, C.RUNNING),
    Rule(C.RUNNING, Verb.FINISH, Guard.SYSTEM, C.SELESAI),
    Rule(C.RUNNING, Verb.REOPEN, Guard.PLANNER, C.RUNNING),  # final but not yet closed
    Rule(C.SELESAI, Verb.REOPEN, Guard.PLANNER, C.RUNNING),
)

WORKSHEET: tuple[Rule, ...] = (
    Rule(S.OPEN, Verb.SUBMIT, Guard.OWNER, S.SUBMITTED),
    Rule(S.RETURNED, Verb.SUBMIT, Guard.OWNER, S.SUBMITTED),
    Rule(S.SUBMITTED, Verb.ACCEPT, Guard.VERIFIER, S.ACCEPTED),
    Rule(S.SUBMITTED, Verb.RETURN, Guard.VERIFIER, S.RETURNED),
    Rule(S.SUBMITTED, Verb.RETURN_AT_REKAP, Guard.STEP_ACTOR, S.RETURNED),
    Rule(S.ACCEPTED, Verb.RETURN_AT_REKAP, Guard.STEP_ACTOR, S.RETURNED),
    Rule(S.SUBMITTED, Verb.CORRECT, Guard.VERIFIER, S.RETURNED),
    Rule(S.ACCEPTED, Verb.CORRECT, Guard.VERIFIER, S.RETURNED),
    Rule(S.OPEN, Verb.ASK_LATE, Guard.OWNER, S.OPEN),
    Rule(S.OPEN, Verb.ALLOW_LATE, Guard.VERIFIER, S.OPEN),
    Rule(S.OPEN, Verb.REFUSE_LATE, Guard.VERIFIER, S.CLOSED),
)


class Outcome(StrEnum):
    DONE = "done"
    STALE = "stale"  # no row of the table: the state is not what the verb needs
    FORBIDDEN = "forbidden"  # the guard said no
    LOST = "lost"  # someone else moved the row first (the version changed)


@dataclass
class Result:
    outcome: Outcome
    actor: Actor | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.DONE


@dataclass(frozen=True)
class Note:
    """The event to write for a transition (``ctx.log`` arguments)."""

    action: str
    subject: str = ""
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class LostRace(RuntimeError):
    """A system transition lost its row: the unit of work must roll back."""


GuardFn = Callable[[Ctx, Run, Worksheet | None], Awaitable[Actor | None]]


async def _step_actor(ctx: Ctx, run: Run, ws: Worksheet | None) -> Actor | None:
    return await authority(ctx, run, run.step)


async def _planner(ctx: Ctx, run: Run, ws: Worksheet | None) -> Actor | None:
    return await as_planner(ctx, run)


async def _owner(ctx: Ctx, run: Run, ws: Worksheet | None) -> Actor | None:
    assert ws is not None
    return await as_owner(ctx, run, ws)


async def _verifier(ctx: Ctx, run: Run, ws: Worksheet | None) -> Actor | None:
    assert ws is not None
    return await as_verifier(ctx, run, ws)


#: How each guard finds the speaker as an actor (``None``: may not). SYSTEM needs nobody.
GUARDS: dict[Guard, GuardFn] = {
    Guard.STEP_ACTOR: _step_actor,
    Guard.PLANNER: _planner,
    Guard.OWNER: _owner,
    Guard.VERIFIER: _verifier,
}


def rule_for(table: tuple[Rule, ...], state: str, verb: Verb) -> Rule | None:
    return next((r for r in table if r.state == state and r.verb == verb), None)


async def lock_cycle(ctx: Ctx, run: Run) -> None:
    """Hold the cycle's row until the unit of work ends, and reload it as committed now.

    ``SELECT … FOR NO KEY UPDATE`` on PostgreSQL, the lock an ``UPDATE`` takes (plain ``FOR
    UPDATE`` would deadlock with the key-share locks of rows inserted pointing at the cycle):
    a concurrent unit of work that locks the same cycle waits until this one commits, then sees
    what it wrote (READ COMMITTED takes a fresh snapshot per statement). SQLite leaves the
    query out: ``BEGIN IMMEDIATE`` already makes every write transaction exclusive. Take it
    before deciding from other rows (all sheets in?) or before writing what a concurrent
    decision on the same visit also writes.
    """
    await ctx.session.flush()
    if ctx.session.get_bind().dialect.name == "sqlite":
        # BEGIN IMMEDIATE: no other writer since this unit of work began, so the cycle as
        # loaded in it is the cycle as committed now; nothing to lock, nothing to reload.
        return
    await ctx.session.execute(
        select(Cycle)
        .where(Cycle.id == run.cycle.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


async def may(ctx: Ctx, run: Run, verb: Verb, ws: Worksheet | None = None) -> Result:
    """Whether the speaker may do ``verb`` now (state and guard), without changing anything."""
    row: Cycle | Worksheet = ws if ws is not None else run.cycle
    rule = rule_for(WORKSHEET if ws is not None else CYCLE, row.status, verb)
    if rule is None:
        return Result(Outcome.STALE)
    if rule.guard is Guard.SYSTEM:
        return Result(Outcome.DONE)
    actor = await GUARDS[rule.guard](ctx, run, ws)
    return Result(Outcome.FORBIDDEN) if actor is None else Result(Outcome.DONE, actor)


async def transition(
    ctx: Ctx,
    run: Run,
    verb: Verb,
    *,
    ws: Worksheet | None = None,
    version: int | None = None,
    step: str | None = None,
    values: dict[str, Any] | None = None,
    note: Note | None = None,
    close: str | Callable[[Actor | None], str] | None = None,
) -> Result:
    """Move the cycle (or ``ws``) by ``verb``: check the guard, claim the row, log, close.

    ``version`` is the version the caller saw (default: the loaded one); ``step`` makes a step
    current (cycle only); ``values`` are further columns written in the same update; ``note``
    is the event; ``close`` replaces the buttons of the claimed visit (its group) by that text
    (or by what it returns for the actor).
    A system verb that loses raises :class:`LostRace`.
    """
    allowed = await may(ctx, run, verb, ws)
    if not allowed.ok:
        return allowed
    model: type[Cycle] | type[Worksheet] = Worksheet if ws is not None else Cycle
    row: Cycle | Worksheet = ws if ws is not None else run.cycle
    rule = rule_for(WORKSHEET if ws is not None else CYCLE, row.status, verb)
    assert rule is not None
    seen = row.version if version is None else version
    changes: dict[str, Any] = {**(values or {}), "status": str(rule.next)}
    if step is not None:
        assert ws is None, "a worksheet has no step"
        changes["step"] = step
    await ctx.session.flush()  # pending changes first: the row is refreshed below
    # The row comes back as written (RETURNING, populate_existing): no second query for it.
    claimed = await ctx.session.scalars(
        update(model)
        .where(model.id == row.id, model.version == seen, model.status == rule.state)
        .values(**changes, version=model.version + 1)
        .returning(model)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    if claimed.first() is None:
        if rule.guard is Guard.SYSTEM:
            raise LostRace(f"{model.__name__} {row.id}: {verb} lost at version {seen}")
        return Result(Outcome.LOST)
    if ws is not None and verb in (
        Verb.SUBMIT,
        Verb.RETURN,
        Verb.RETURN_AT_REKAP,
        Verb.CORRECT,
        Verb.REFUSE_LATE,
    ):
        await sheet_moved(ctx, run, ws)  # its owner's reminder rows, in this same transaction
    actor = allowed.actor
    if note is not None:
        ctx.log(
            note.action,
            office_id=run.office.id,
            cycle_id=run.cycle.id,
            subject=note.subject,
            reason=note.reason,
            data=note.data,
            acting_as=actor.acting_as if actor else "",
        )
    if close is not None:
        group = sheet_group(ws.id, seen) if ws is not None else visit_group(run.cycle.id, seen)
        await ctx.close_group(group, close if isinstance(close, str) else close(actor))
    return Result(Outcome.DONE, actor)
