"""A step's card and the taps every kind shares: who may tap, Teruskan/Selesai, the answers.

The guard (who may act) is :mod:`flows.sop.lifecycle`'s; this module turns its verdict into
the polite Indonesian answer, the same for buttons and typed answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flows.core import texts
from flows.core.context import Ctx
from flows.core.conversation import clear_state
from flows.core.messages import Button
from flows.core.people import Actor
from flows.sop import engine
from flows.sop.kind import REGISTRY, Done
from flows.sop.lifecycle import Note, Outcome, Verb, may, transition
from flows.sop.preset import Step
from flows.sop.run import Run, deadline_of, load, step_actors

ButtonSpec = tuple[str, str, dict[str, Any]]


async def to_actors(
    ctx: Ctx,
    run: Run,
    step: Step,
    body: str,
    buttons: list[ButtonSpec],
    returned: dict[str, str],
) -> list[Actor]:
    """Send the step's card with its buttons to everyone who may act at it."""
    deadline = await deadline_of(ctx, run, step.id)
    head = texts.render(
        "siklus/langkah",
        periode=run.period,
        langkah=step,
        pelaku=run.preset.actor_title(step.id),
        catatan=run.cycle.note,
        dikembalikan=returned,
        batas=deadline.due_at if deadline else None,
        tz=run.office.tz,
        waktu=step.waktu_teks or run.preset.waktu_bawaan.label,
        waktu_kerja=run.preset.duration(step.id).unit == "menit",
    )
    people = await step_actors(ctx, run, step)
    for actor in people:
        row: list[Button] = []
        for key, action, extra in buttons:
            args = {"c": run.cycle.id, "v": run.cycle.version, "s": step.id, **extra}
            row.append(
                await ctx.button(
                    texts.label(key), action, args, person_id=actor.person.id, group=run.group
                )
            )
        ctx.send(
            actor.person.id, f"{head}\n\n{body}".strip(), [row] if row else [], group=run.group
        )
    return people


def _not_allowed(run: Run) -> str:
    return texts.render("siklus/bukan_wewenang", pelaku=run.preset.actor_title(run.step.id))


async def checked(ctx: Ctx, args: dict[str, Any]) -> tuple[Run, Actor] | None:
    """The tap is for the current visit of the step and the tapper may act; else say why."""
    run = await load(ctx, int(args.get("c", 0)))
    if run is None:
        ctx.refuse(texts.render("umum/tombol_kedaluwarsa"))
        return None
    if not run.is_visit(args.get("v"), args.get("s")):
        ctx.refuse(texts.render("siklus/sudah_diputuskan"))
        return None
    allowed = await may(ctx, run, Verb.DECIDE)
    if allowed.actor is None:
        ctx.refuse(_not_allowed(run))
        return None
    return run, allowed.actor


async def decide(
    ctx: Ctx,
    run: Run,
    version: int,
    note: Note,
    close: Callable[[Actor | None], str],
    *,
    answer: bool = False,
) -> Actor | None:
    """Claim the visit ``version`` of the current step, log ``note``, close its buttons.

    ``None`` when that fails, said as a toast on the button (or, for a typed ``answer``, in
    the chat).
    """
    result = await transition(ctx, run, Verb.DECIDE, version=version, note=note, close=close)
    if result.ok:
        return result.actor
    why = (
        _not_allowed(run)
        if result.outcome is Outcome.FORBIDDEN
        else texts.render("siklus/sudah_diputuskan")
    )
    if answer:
        ctx.reply(why)
    else:
        ctx.toast = why
    return None


async def finish_step(
    ctx: Ctx,
    run: Run,
    version: int,
    action: str,
    note: str,
    *,
    then: Done | None = None,
    answer: bool = False,
) -> Actor | None:
    """Claim the visit, log the decision, replace its buttons with it, and move on.

    ``then`` is the step's own work, done once the claim is won and before the next step.
    """
    step = run.step
    deadline = await deadline_of(ctx, run, step.id)
    on_time = deadline is None or ctx.now <= deadline.due_at
    actor = await decide(
        ctx,
        run,
        version,
        Note(
            action,
            subject=step.id,
            data={
                "step": step.id,
                "tepat_waktu": on_time,
                "batas": deadline.due_at.isoformat() if deadline else None,
            },
        ),
        lambda by: texts.render(f"siklus/{note}", oleh=by, waktu=ctx.now, tz=run.office.tz),
        answer=answer,
    )
    if actor is None:
        return None
    if then is not None:
        await then(ctx, run, step)
    await engine.advance(ctx, run)
    return actor


async def on_next(ctx: Ctx, args: dict[str, Any]) -> None:
    """Teruskan / Selesai / Laporkan / Lewati: the step is done."""
    got = await checked(ctx, args)
    if got is None:
        return
    run, _actor = got
    kind = REGISTRY.of(run.step.jenis)
    await finish_step(ctx, run, args["v"], kind.done_event, "catatan_selesai", then=kind.on_done)


# --- typed answers -------------------------------------------------------------------------


async def current(ctx: Ctx, state: dict[str, Any]) -> Run | None:
    """The cycle is still at the visit the question was asked for; else the question dies."""
    run = await load(ctx, int(state["c"]))
    if run is None or not run.is_visit(state["v"], state["s"]):
        await clear_state(ctx)
        ctx.reply(texts.render("siklus/sudah_diputuskan"))
        return None
    return run
