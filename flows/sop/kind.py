"""The registry of step kinds: what the engine does on entering a step, and the taps it offers.

A step kind lives in one module under :mod:`flows.sop.kinds` that builds a :class:`Kind`;
the composition root installs every kind (:func:`flows.sop.kinds.install`), and the engine
and the SOP's buttons read this registry. A new step kind is one new module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.core.context import Ctx
from flows.domain.states import StepKind
from flows.sop.preset import Step
from flows.sop.run import Run

#: The conversation flow of the SOP's typed answers (a reason, a meeting, a text).
FLOW = "sop"

Enter = Callable[[Ctx, Run, Step, dict[str, str]], Awaitable[None]]
Tap = Callable[[Ctx, dict[str, Any]], Awaitable[None]]
Answer = Callable[[Ctx, dict[str, Any]], Awaitable[None]]
Done = Callable[[Ctx, Run, Step], Awaitable[None]]


@dataclass(frozen=True)
class Kind:
    """One kind of step (or a few that behave alike).

    ``enter`` tells the step's actors what is asked (its card); ``taps`` are the button
    actions it offers; ``answers`` handle typed answers by the ``do`` of the SOP conversation;
    ``on_done`` runs when the step is completed with the generic Teruskan/Selesai tap;
    ``done_event`` names that event.
    """

    names: tuple[StepKind, ...]
    enter: Enter
    taps: Mapping[str, Tap] = field(default_factory=dict)
    answers: Mapping[str, Answer] = field(default_factory=dict)
    on_done: Done | None = None
    done_event: str = "langkah.selesai"


@dataclass
class Registry:
    kinds: dict[str, Kind] = field(default_factory=dict)
    answers: dict[str, Answer] = field(default_factory=dict)

    def add(self, kind: Kind) -> None:
        for name in kind.names:
            self.kinds[name] = kind
        self.answers.update(kind.answers)

    def of(self, jenis: str) -> Kind:
        try:
            return self.kinds[jenis]
        except KeyError:
            raise LookupError(f"step kind {jenis!r} is not installed") from None


#: Filled by :func:`flows.sop.kinds.install` from the composition root.
REGISTRY = Registry()
