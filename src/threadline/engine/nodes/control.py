"""Nodes that only steer: start, set_variable and handoff."""

from __future__ import annotations

from threadline.engine.nodes.base import NodeHandler
from threadline.engine.state import Resume
from threadline.engine.steps import Next, Park, Step, StepContext
from threadline.flows.node_configs import SetVariableConfig


def _start(_ctx: StepContext) -> Step:
    return Next()


def _set_variable(ctx: StepContext) -> Step:
    config = ctx.node.config
    assert isinstance(config, SetVariableConfig)
    for name, value in config.variables.items():
        ctx.state.variables[name] = ctx.render_value(value)
    ctx.log("variables_set", {"names": sorted(config.variables)})
    return Next()


def _handoff(_ctx: StepContext) -> Step:
    return Park("handoff")


def _handoff_resume(ctx: StepContext, event: Resume) -> Step:
    # A person releases the conversation (its assignment ended), or the API says go on.
    if event.reason not in ("api", "handoff_released"):
        return Park("handoff")
    return Next()


START = NodeHandler(enter=_start)
SET_VARIABLE = NodeHandler(enter=_set_variable)
HANDOFF = NodeHandler(enter=_handoff, resume=_handoff_resume)
