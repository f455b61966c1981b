"""Every step kind; :func:`install` (called by the composition root) puts them in the registry.

A new step kind is one new module in this package with a ``KIND`` and a line in :data:`ALL`.
"""

from __future__ import annotations

from flows.core.router import Router
from flows.sop import step_talk
from flows.sop.kind import FLOW, REGISTRY, Kind
from flows.sop.kinds import (
    approve,
    archive,
    fill,
    forward,
    prepare,
    rekap,
    report,
    roll_up,
    verify,
    write,
)

ALL: tuple[Kind, ...] = (
    forward.KIND,
    prepare.KIND,
    write.KIND,
    fill.KIND,
    verify.KIND,
    rekap.KIND,
    approve.KIND,
    report.KIND,
    archive.KIND,
    roll_up.KIND,
)


def install(router: Router) -> None:
    """Register every kind with the engine and its taps and answers with ``router``."""
    for kind in ALL:
        REGISTRY.add(kind)
        for action, tap in kind.taps.items():
            router.action(action, tap)
    router.conversation(FLOW, step_talk.on_message)
