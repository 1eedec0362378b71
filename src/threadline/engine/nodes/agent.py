"""The ``agent`` node: the flow hands the conversation to an LLM agent, then carries on.

Entering the node parks on a call of kind ``agent``. No job makes that call: the runtime
runs the agent interpreter (``engine/agent``) in the same execution, turn after turn
(model calls, tools, the contact's replies), and when the agent is done it feeds the
outcome back here as the call's result. The flow then leaves by ``next``, or by ``error``
(else fails) when the agent failed. ``{{system.last_agent}}`` holds how it ended.
"""

from __future__ import annotations

from threadline.engine.nodes.base import NodeHandler
from threadline.engine.nodes.calls import failed
from threadline.engine.state import CallKind, CallResult, HttpCall
from threadline.engine.steps import Next, Park, Step, StepContext

#: The call kind the runtime runs as an embedded agent (never as a job).
AGENT_CALL: CallKind = "agent"


def _enter(ctx: StepContext) -> Step:
    return Park("call", call=HttpCall(ctx.node.id, AGENT_CALL, {}))


def _finished(ctx: StepContext, result: CallResult) -> Step:
    if not result.ok:
        return failed(ctx, result)
    body = result.body if isinstance(result.body, dict) else {}
    ctx.state.system["last_agent"] = {"node_id": ctx.node.id, **body}
    ctx.log("agent_finished", {"reason": body.get("reason")})
    return Next("next")


AGENT = NodeHandler(enter=_enter, on_result=_finished)
