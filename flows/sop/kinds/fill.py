"""isi: the worksheets go out (once) and everyone else who fills is told to fill.

Its taps decide a late sheet (:mod:`flows.sop.late`): Izinkan terlambat / Tolak.
"""

from __future__ import annotations

from flows.core import texts
from flows.core.context import Ctx
from flows.domain.states import StepKind
from flows.sop import late
from flows.sop.engine import hand_out_once, progress
from flows.sop.kind import Kind
from flows.sop.preset import Step
from flows.sop.run import Run, role_holders, worksheets


async def enter(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    await hand_out_once(ctx, run)
    owners = {w.person_id for w in await worksheets(ctx, run)}
    note = texts.render(
        "siklus/isi_semua_asn", periode=run.period, metode=run.cycle.data.get("metode", "")
    )
    for role in run.preset.pengisi:
        for actor in await role_holders(ctx, run, role):
            if actor.person.id not in owners:
                ctx.send(actor.person.id, note)
    await progress(ctx, run)


KIND = Kind(
    names=(StepKind.ISI,),
    enter=enter,
    taps={"lembar.izin_terlambat": late.on_allow, "lembar.tolak_terlambat": late.on_refuse_ask},
    answers={late.ANSWER: late.on_refuse_reason},
)
