"""The shape of a node handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from threadline.engine.state import CallResult, Resume
from threadline.engine.steps import Fail, Step, StepContext


def _cannot_resume(ctx: StepContext, _event: Resume) -> Step:
    return Fail(f"node '{ctx.node.id}' of type {ctx.node.node_type} does not wait for input")


def _no_call(ctx: StepContext, _event: CallResult) -> Step:
    return Fail(f"node '{ctx.node.id}' of type {ctx.node.node_type} made no call")


@dataclass(frozen=True)
class NodeHandler:
    """``enter`` runs when the flow reaches the node; ``resume``/``on_result`` when it parked."""

    enter: Callable[[StepContext], Step]
    resume: Callable[[StepContext, Resume], Step] = _cannot_resume
    on_result: Callable[[StepContext, CallResult], Step] = _no_call
