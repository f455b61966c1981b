"""perintah / disposisi: the order or disposition is passed on with Teruskan."""

from __future__ import annotations

from flows.core import texts
from flows.core.context import Ctx
from flows.domain.states import StepKind
from flows.sop.card import on_next, to_actors
from flows.sop.kind import Kind
from flows.sop.preset import Step
from flows.sop.run import Run


async def enter(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    body = texts.render("siklus/tekan_teruskan", jenis=step.jenis)
    await to_actors(ctx, run, step, body, [("teruskan", "sop.lanjut", {})], returned)


KIND = Kind(
    names=(StepKind.PERINTAH, StepKind.DISPOSISI),
    enter=enter,
    taps={"sop.lanjut": on_next},
    done_event="langkah.teruskan",
)
