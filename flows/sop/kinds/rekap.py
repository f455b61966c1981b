"""rekap: the chat summary per section with Teruskan / Kembalikan lembar.

The rekap xlsx goes along (the PDF only when final). :func:`summary_enter` makes the same card
for the approving kinds (:mod:`flows.sop.kinds.approve`).
"""

from __future__ import annotations

from flows.core import texts
from flows.core.context import Ctx
from flows.domain.states import StepKind
from flows.sop import documents, review
from flows.sop.card import ButtonSpec, on_next, to_actors
from flows.sop.kind import Enter, Kind
from flows.sop.preset import Step
from flows.sop.rekap_view import section_summaries
from flows.sop.run import Run


def summary_enter(template: str, buttons: list[ButtonSpec]) -> Enter:
    """The entry action of a summary card: ``template`` with the sections, and ``buttons``."""

    async def enter(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
        body = texts.render(template, seksi=await section_summaries(ctx, run))
        people = await to_actors(ctx, run, step, body, buttons, returned)
        await documents.request(ctx, run.cycle, "rekap", [a.person.id for a in people])

    return enter


KIND = Kind(
    names=(StepKind.REKAP,),
    enter=summary_enter(
        "siklus/rekap",
        [("teruskan", "sop.lanjut", {}), ("kembalikan_lembar", "sop.pilih_lembar", {})],
    ),
    taps={
        "sop.lanjut": on_next,
        "sop.pilih_lembar": review.on_pick_sheet,
        "sop.lembar": review.on_sheet_picked,
    },
    answers={review.ANSWER: review.on_reason},
)
