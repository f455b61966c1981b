"""telaah / sahkan: the summary is approved (Setujui) or returned with a reason (Kembalikan)."""

from __future__ import annotations

from typing import Any

from flows.core import texts
from flows.core.context import Ctx
from flows.core.conversation import clear_state, set_state
from flows.domain.states import StepKind
from flows.sop.card import checked, current, decide, finish_step
from flows.sop.engine import go_back
from flows.sop.kind import FLOW, Kind
from flows.sop.kinds.rekap import summary_enter
from flows.sop.lifecycle import Note
from flows.sop.review import MAX_REASON

ANSWER = "kembalikan"


async def on_approve(ctx: Ctx, args: dict[str, Any]) -> None:
    """Setujui: the draft moves on."""
    got = await checked(ctx, args)
    if got is None:
        return
    run, _actor = got
    await finish_step(ctx, run, args["v"], "langkah.setujui", "catatan_disetujui")


async def on_return_ask(ctx: Ctx, args: dict[str, Any]) -> None:
    """Kembalikan: ask for the reason (nothing changes until it is given)."""
    got = await checked(ctx, args)
    if got is None:
        return
    run, _actor = got
    target = run.preset.return_target(run.step.id)
    await set_state(ctx, FLOW, {"do": ANSWER, "c": run.cycle.id, "v": args["v"], "s": run.step.id})
    ctx.reply(
        texts.render("siklus/tanya_alasan", ke=run.preset.actor_title(target.id) if target else "")
    )


async def on_reason(ctx: Ctx, state: dict[str, Any]) -> None:
    """The reason arrived: the step goes back to its ``kembali_ke`` step."""
    run = await current(ctx, state)
    if run is None:
        return
    reason = ctx.inbound.text.strip() if ctx.inbound else ""
    if len(reason) < 3 or len(reason) > MAX_REASON:
        ctx.reply(texts.render("siklus/alasan_salah", maks=MAX_REASON))
        return
    target = run.preset.return_target(run.step.id)
    assert target is not None  # telaah / sahkan always name kembali_ke (flows/sop/preset.py checks)
    await clear_state(ctx)
    step = run.step
    actor = await decide(
        ctx,
        run,
        state["v"],
        Note(
            "langkah.kembalikan",
            subject=step.id,
            reason=reason,
            data={"step": step.id, "ke": target.id},
        ),
        lambda by: texts.render(
            "siklus/catatan_dikembalikan", oleh=by, waktu=ctx.now, tz=run.office.tz, alasan=reason
        ),
        answer=True,
    )
    if actor is None:
        return
    ctx.reply(texts.render("siklus/dikembalikan_ke", ke=run.preset.actor_title(target.id)))
    await go_back(ctx, run, target, actor, reason)


KIND = Kind(
    names=(StepKind.TELAAH, StepKind.SAHKAN),
    enter=summary_enter(
        "siklus/minta_persetujuan",
        [("setujui", "sop.setujui", {}), ("kembalikan", "sop.kembalikan", {})],
    ),
    taps={"sop.setujui": on_approve, "sop.kembalikan": on_return_ask},
    answers={ANSWER: on_reason},
)
