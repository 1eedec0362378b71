"""wait_for_response: park until the user answers, the API resumes, or time runs out."""

from __future__ import annotations

from typing import Any

from threadline.engine.nodes.base import NodeHandler
from threadline.engine.state import Resume
from threadline.engine.steps import Next, Park, Step, StepContext
from threadline.flows.node_configs import WaitForResponseConfig


def _config(ctx: StepContext) -> WaitForResponseConfig:
    config = ctx.node.config
    assert isinstance(config, WaitForResponseConfig)
    return config


def _enter(ctx: StepContext) -> Step:
    return Park("user_input", wait_seconds=_config(ctx).timeout_seconds)


def _answer(event: Resume) -> Any:
    if event.input is not None:
        return event.input
    return event.message


def _resume(ctx: StepContext, event: Resume) -> Step:
    config = _config(ctx)
    if event.reason == "timeout":
        return Next("timeout" if ctx.has_edge("timeout") else "next")
    answer = _answer(event)
    ctx.state.system["last_user_input"] = answer
    if event.message is not None:
        ctx.state.system["last_message"] = event.message
    if config.save_response_to:
        ctx.state.variables[config.save_response_to] = answer
    return Next()


WAIT_FOR_RESPONSE = NodeHandler(enter=_enter, resume=_resume)
