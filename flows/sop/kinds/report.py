"""laporkan: the laporan and the rekap go to the head (or whoever ``kepada`` names)."""

from __future__ import annotations

from flows.core import texts
from flows.core.context import Ctx
from flows.domain.roles import Role
from flows.domain.states import StepKind
from flows.sop import documents
from flows.sop.card import on_next, to_actors
from flows.sop.kind import Kind
from flows.sop.kinds.roll_up import roll_up_period
from flows.sop.preset import Step
from flows.sop.run import Run, role_holders


async def enter(ctx: Ctx, run: Run, step: Step, returned: dict[str, str]) -> None:
    titles = [run.preset.title(r) for r in (step.kepada or (Role.CAMAT,))]
    body = texts.render("siklus/minta_laporkan", kepada=titles)
    await to_actors(ctx, run, step, body, [("laporkan", "sop.lanjut", {})], returned)


async def deliver(ctx: Ctx, run: Run, step: Step) -> None:
    """Laporkan was tapped: queue the laporan and rekap for the recipients."""
    ids: list[int] = []
    for role in step.kepada or (Role.CAMAT,):
        ids += [a.person.id for a in await role_holders(ctx, run, role)]
    period = roll_up_period(run, step).key if step.periode else None
    for kind in ("laporan", "rekap"):
        await documents.request(ctx, run.cycle, kind, sorted(set(ids)), period_key=period)


KIND = Kind(names=(StepKind.LAPORKAN,), enter=enter, taps={"sop.lanjut": on_next}, on_done=deliver)
