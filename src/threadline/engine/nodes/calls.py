"""Nodes that call out: webhook, function, and decide (by a function or by a model).

The engine only describes the call; a job makes it and feeds the answer back, so
the execution holds no task while the call is in flight.
"""

from __future__ import annotations

from typing import Any

from threadline.engine.nodes.base import NodeHandler
from threadline.engine.state import CallResult, HttpCall
from threadline.engine.steps import Fail, Next, Park, Step, StepContext
from threadline.engine.template import UnsafeValue, render_body, render_header, render_url
from threadline.flows.node_configs import DecideConfig, FunctionConfig, WebhookConfig


def failed(ctx: StepContext, result: CallResult) -> Step:
    """A call that failed: take the node's ``error`` edge, or fail the execution."""
    ctx.state.system["last_error"] = result.error
    if ctx.has_edge("error"):
        return Next("error")
    return Fail(
        f"call from node '{ctx.node.id}' failed: {result.error}", {"status": result.status_code}
    )


def _save(ctx: StepContext, name: str | None, value: Any) -> None:
    if name:
        ctx.state.variables[name] = value


def _content_type(headers: dict[str, str]) -> str:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), "")


def _webhook_request(config: WebhookConfig, scope: dict[str, Any]) -> dict[str, Any]:
    return {
        "method": config.method,
        "url": render_url(config.url, scope),
        "headers": {k: render_header(k, v, scope) for k, v in config.headers.items()},
        "body": render_body(config.body, scope, content_type=_content_type(config.headers)),
        "timeout_seconds": config.timeout_seconds,
        "retries": config.retries,
    }


def _webhook_enter(ctx: StepContext) -> Step:
    config = ctx.node.config
    assert isinstance(config, WebhookConfig)
    try:
        request = _webhook_request(config, ctx.state.scope())
    except UnsafeValue as refused:
        ctx.log("call_refused", {"error": str(refused)})
        return failed(ctx, CallResult(ok=False, error=str(refused)))
    return Park("call", call=HttpCall(ctx.node.id, "webhook", request))


def _webhook_result(ctx: StepContext, result: CallResult) -> Step:
    config = ctx.node.config
    assert isinstance(config, WebhookConfig)
    if not result.ok:
        return failed(ctx, result)
    ctx.state.system["last_webhook_status"] = result.status_code
    _save(ctx, config.save_response_to, result.body)
    return Next()


def _function_request(ctx: StepContext, function_id: str) -> dict[str, Any]:
    edges = [edge.label for edge in ctx.definition.edges_from(ctx.node.id)]
    return {"function_id": function_id, "available_edges": edges}


def _function_enter(ctx: StepContext) -> Step:
    config = ctx.node.config
    assert isinstance(config, FunctionConfig)
    request = _function_request(ctx, config.function_id)
    return Park("call", call=HttpCall(ctx.node.id, "function", request))


def _merge_vars(ctx: StepContext, body: Any) -> None:
    if isinstance(body, dict) and isinstance(body.get("vars"), dict):
        ctx.state.variables.update(body["vars"])


def _chosen_edge(body: Any) -> str | None:
    edge = body.get("next_edge") if isinstance(body, dict) else None
    return edge if isinstance(edge, str) else None


def _function_result(ctx: StepContext, result: CallResult) -> Step:
    config = ctx.node.config
    assert isinstance(config, FunctionConfig)
    if not result.ok:
        return failed(ctx, result)
    _merge_vars(ctx, result.body)
    _save(ctx, config.save_response_to, result.body)
    edge = _chosen_edge(result.body)
    return Next(edge if edge and ctx.has_edge(edge) else "next")


def _ai_decide_request(ctx: StepContext, config: DecideConfig) -> dict[str, Any]:
    """What the model is shown: the conditions, the last user input and the variables."""
    return {
        "provider_model_name": config.provider_model_name,
        "conditions": [{"label": c.label, "description": c.description} for c in config.conditions],
        "temperature": config.llm_temperature,
        "max_tokens": config.llm_max_tokens,
        "last_user_input": ctx.state.system.get("last_user_input"),
        "variables": ctx.state.variables,
    }


def _decide_enter(ctx: StepContext) -> Step:
    config = ctx.node.config
    assert isinstance(config, DecideConfig)
    if config.decision_type == "ai":
        request = _ai_decide_request(ctx, config)
        return Park("call", call=HttpCall(ctx.node.id, "ai_decide", request))
    assert config.function_id is not None  # the config requires it for function decisions
    request = _function_request(ctx, config.function_id)
    return Park("call", call=HttpCall(ctx.node.id, "decide", request))


def _decided_label(config: DecideConfig, result: CallResult) -> str | None:
    """The condition the call chose: a function's ``next_edge``, a model's ``label``."""
    body = result.body
    if config.decision_type == "ai":
        label = body.get("label") if isinstance(body, dict) else None
        return label if isinstance(label, str) else None
    return _chosen_edge(body)


def _decide_result(ctx: StepContext, result: CallResult) -> Step:
    config = ctx.node.config
    assert isinstance(config, DecideConfig)
    if not result.ok:
        return failed(ctx, result)
    _merge_vars(ctx, result.body)
    edge = _decided_label(config, result)
    if edge is None or edge not in config.labels or not ctx.has_edge(edge):
        chosen = CallResult(ok=False, error=f"chose {edge!r}, not one of {list(config.labels)}")
        return failed(ctx, chosen)
    ctx.log("decided", {"edge": edge, "by": config.decision_type})
    return Next(edge)


WEBHOOK = NodeHandler(enter=_webhook_enter, on_result=_webhook_result)
FUNCTION = NodeHandler(enter=_function_enter, on_result=_function_result)
DECIDE = NodeHandler(enter=_decide_enter, on_result=_decide_result)
