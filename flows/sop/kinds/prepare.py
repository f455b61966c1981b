"""siapkan / bagikan: the planner previews who gets which indicators, then hands sheets out."""

from __future__ import annotations

from typing import Any

from flows.core import texts
from flows.core.context import Ctx
from flows.domain.states import StepKind
from flows.sop.card import checked, finish_step, on_next, to_actors
from flows.sop.engine import hand_out_once, preview
from flows.sop.kind import Kind
from flows.sop.preset import Step
from flows.sop.run import Run


async def enter(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    owners = [
        {"seksi": section, "orang": person, "indikator": inds}
        for section, person, inds in await preview(ctx, run)
    ]
    later_bagikan = any(s.jenis == StepKind.BAGIKAN for s in run.steps[run.preset.index(step.id) :])
    hands_out = step.jenis == StepKind.BAGIKAN or not later_bagikan
    body = texts.render("siklus/pratinjau", pemilik=owners, bagikan=hands_out)
    key, action = ("bagikan", "sop.bagikan") if hands_out else ("selesai", "sop.lanjut")
    await to_actors(ctx, run, step, body, [(key, action, {})], returned)


async def _hand_out(ctx: Ctx, run: Run, step: Step) -> None:
    count = await hand_out_once(ctx, run)
    ctx.reply(texts.render("siklus/dibagikan", jumlah=count))


async def on_hand_out(ctx: Ctx, args: dict[str, Any]) -> None:
    """Bagikan: the worksheets go out to the fillers."""
    got = await checked(ctx, args)
    if got is None:
        return
    run, _actor = got
    await finish_step(ctx, run, args["v"], "langkah.bagikan", "catatan_dibagikan", then=_hand_out)


KIND = Kind(
    names=(StepKind.SIAPKAN, StepKind.BAGIKAN),
    enter=enter,
    taps={"sop.bagikan": on_hand_out, "sop.lanjut": on_next},
)
