"""verifikasi: sheets are checked as they arrive (Terima / Kembalikan, :mod:`flows.sop.review`).

Entering the step only moves on when every sheet is already checked.
"""

from __future__ import annotations

from flows.core.context import Ctx
from flows.domain.states import StepKind
from flows.sop import review
from flows.sop.engine import progress
from flows.sop.kind import Kind
from flows.sop.preset import Step
from flows.sop.run import Run


async def enter(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    await progress(ctx, run)


KIND = Kind(
    names=(StepKind.VERIFIKASI,),
    enter=enter,
    taps={"lembar.terima": review.on_accept, "lembar.kembalikan": review.on_return_ask},
    answers={review.ANSWER: review.on_reason},
)
