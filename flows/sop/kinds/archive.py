"""arsip: the actor confirms the documents are filed.

A step that inputs into the application ("input ke aplikasi", e-SAKIP / SIPD) also sends its
actors the upload-ready e-SAKIP xlsx (a document job), and the confirming tap is logged as
``esakip.diinput``.
"""

from __future__ import annotations

from flows.core import texts
from flows.core.context import Ctx
from flows.domain.states import StepKind
from flows.sop import documents
from flows.sop.card import on_next, to_actors
from flows.sop.kind import Kind
from flows.sop.preset import Step
from flows.sop.run import Run


def inputs_to_application(step: Step) -> bool:
    """The SOP's own words say the step enters the values in the application."""
    return "aplikasi" in step.nama.casefold()


async def enter(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    if not inputs_to_application(step):
        body = texts.render("siklus/minta_arsip")
        await to_actors(ctx, run, step, body, [("selesai", "sop.lanjut", {})], returned)
        return
    body = texts.render("siklus/minta_input_aplikasi", periode=run.period)
    people = await to_actors(ctx, run, step, body, [("sudah_diinput", "sop.lanjut", {})], returned)
    await documents.request(ctx, run.cycle, "esakip", [a.person.id for a in people])


async def on_done(ctx: Ctx, run: Run, step: Step) -> None:
    """Mark in the audit log that the approved values were entered in the application."""
    if inputs_to_application(step):
        ctx.log("esakip.diinput", cycle_id=run.cycle.id, subject=step.id)


KIND = Kind(names=(StepKind.ARSIP,), enter=enter, taps={"sop.lanjut": on_next}, on_done=on_done)
