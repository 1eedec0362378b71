"""AI fields of send nodes: the call that asks the node's model to write them, and its answer.

A send node with AI fields parks on one ``ai_fields`` call for all of them (the job asks
the model, ``executions/ai_fields.py``); the answer's values go into the message as
they are, never through ``{{...}}`` rendering. A send node has no error exit, so a call
that failed, or a model that left a field unwritten, fails the execution with the reason.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any, Final

from threadline.engine.state import CallResult, HttpCall
from threadline.engine.steps import Fail, Park, StepContext
from threadline.flows.ai_fields import AIFieldsConfig, dotted, is_marker
from threadline.whatsapp import limits

FILL_CALL: Final = "ai_fields"
#: How much of the run the model is shown: this many variables, each this long as JSON.
VARIABLES_SHOWN = 50
VALUE_CHARS_SHOWN = 500
#: How much of each written value the event log keeps.
LOGGED_CHARS = 200

_MAX_LENGTHS: Mapping[str, int] = {
    "message": limits.TEXT_BODY_MAX,
    "body_text": limits.INTERACTIVE_BODY_MAX,
    "header_text": limits.INTERACTIVE_HEADER_MAX,
    "footer_text": limits.INTERACTIVE_FOOTER_MAX,
}


def max_length(path: str) -> int:
    """WhatsApp's limit for the field at ``path`` (a template parameter's, by default)."""
    return _MAX_LENGTHS.get(path, limits.TEMPLATE_TEXT_PARAM_MAX)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _shown(value: Any) -> Any:
    """A fact for the model, as itself when short and as clipped JSON text otherwise."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return value if len(text) <= VALUE_CHARS_SHOWN else _clip(text, VALUE_CHARS_SHOWN)


def fill_request(ctx: StepContext, config: AIFieldsConfig) -> dict[str, Any]:
    """The call's request: the fields and their prompts, the model, and bounded facts."""
    fields = [
        {"path": path, "prompt": prompt, "max_length": max_length(path)}
        for path, prompt in config.ai_fields.items()
    ]
    variables = itertools.islice(ctx.state.variables.items(), VARIABLES_SHOWN)
    return {
        "provider_model_name": config.provider_model_name,
        "node_type": ctx.node.node_type,
        "fields": fields,
        "last_user_input": _shown(ctx.state.system.get("last_user_input")),
        "variables": {name: _shown(value) for name, value in variables},
    }


def ask(ctx: StepContext, config: AIFieldsConfig) -> Park:
    """Park on the call that has the node's model write its AI fields."""
    return Park("call", call=HttpCall(ctx.node.id, FILL_CALL, fill_request(ctx, config)))


def _missing(paths: list[str], values: Mapping[str, Any]) -> list[str]:
    return [p for p in paths if not isinstance(values.get(p), str) or not values[p].strip()]


def _unwritten(ctx: StepContext, body: Mapping[str, Any], missing: list[str]) -> Fail:
    model = body.get("model")
    said = body.get("text")
    reason = f"; it answered {said!r}" if isinstance(said, str) and said else ""
    return Fail(
        f"node '{ctx.node.id}': model {model} did not write the AI fields "
        f"{', '.join(missing)}{reason}",
        {"model": model},
    )


def written(ctx: StepContext, config: AIFieldsConfig, result: CallResult) -> dict[str, str] | Fail:
    """The values the model wrote, by field path, or why the node cannot send."""
    if not result.ok:
        return Fail(f"node '{ctx.node.id}' could not have its AI fields written: {result.error}")
    body = result.body if isinstance(result.body, dict) else {}
    values = body.get("values") if isinstance(body.get("values"), dict) else {}
    assert isinstance(values, dict)
    paths = config.ai_field_paths
    if missing := _missing(paths, values):
        return _unwritten(ctx, body, missing)
    filled = {path: str(values[path]) for path in paths}
    logged = {path: _clip(value, LOGGED_CHARS) for path, value in filled.items()}
    ctx.log("ai_fields_written", {"model": body.get("model"), "fields": logged})
    return filled


def fill_markers(value: Any, values: Mapping[str, str], path: tuple[str | int, ...]) -> Any:
    """``value`` (found at ``path``) with each AI-field marker replaced by its written value."""
    if is_marker(value):
        return values.get(dotted(path), value)  # a marker a variable brought is not a field
    if isinstance(value, dict):
        return {key: fill_markers(item, values, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_markers(item, values, (*path, i)) for i, item in enumerate(value)]
    return value
