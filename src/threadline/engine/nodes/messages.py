"""Nodes that send WhatsApp messages: text, interactive (buttons, lists) and templates.

A node with AI fields first has its model write them (:mod:`.ai_fields`), then sends
as any other: its plain fields rendered, the written values as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from threadline.engine.nodes import ai_fields
from threadline.engine.nodes.base import NodeHandler
from threadline.engine.state import CallResult, Resume
from threadline.engine.steps import Fail, Next, Park, Step, StepContext
from threadline.flows.ai_fields import PARAMETERS, AIField, AIFieldsConfig
from threadline.flows.node_configs import (
    SendInteractiveConfig,
    SendTemplateConfig,
    SendTextConfig,
)
from threadline.whatsapp import payloads

#: The AI fields' written values, by field path (empty for a node without any).
Written = Mapping[str, str]
Send = Callable[[StepContext, Written], Step]


def _text(ctx: StepContext, written: Written, path: str, value: str | AIField) -> str:
    return written[path] if isinstance(value, AIField) else ctx.render(value)


def _optional(
    ctx: StepContext, written: Written, path: str, value: str | AIField | None
) -> str | None:
    return _text(ctx, written, path, value) if value else None


def _over_limit(ctx: StepContext, error: ValueError) -> Step:
    # Limits are checked again after interpolation: a variable can make a text too long.
    return Fail(f"node '{ctx.node.id}' built a message WhatsApp would refuse: {error}")


def _send_text(ctx: StepContext, written: Written) -> Step:
    config = ctx.node.config
    assert isinstance(config, SendTextConfig)
    message = _text(ctx, written, "message", config.message)
    try:
        payload = payloads.text_message(ctx.state.phone_number, message)
    except ValueError as error:
        return _over_limit(ctx, error)
    ctx.send(payload, whatsapp_config_id=config.whatsapp_config_id)
    return Next()


def _texts(ctx: StepContext, config: SendInteractiveConfig, written: Written) -> dict[str, Any]:
    return {
        "body_text": _text(ctx, written, "body_text", config.body_text),
        "header_text": _optional(ctx, written, "header_text", config.header_text),
        "footer_text": _optional(ctx, written, "footer_text", config.footer_text),
    }


def _buttons(ctx: StepContext, config: SendInteractiveConfig, written: Written) -> dict[str, Any]:
    buttons = [(b.id, ctx.render(b.title)) for b in config.buttons or []]
    texts = _texts(ctx, config, written)
    body = texts.pop("body_text")
    return payloads.button_message(ctx.state.phone_number, body, buttons, **texts)


def _list(ctx: StepContext, config: SendInteractiveConfig, written: Written) -> dict[str, Any]:
    sections = [section.model_dump(exclude_none=True) for section in config.list_sections or []]
    texts = _texts(ctx, config, written)
    return payloads.list_message(
        ctx.state.phone_number,
        texts.pop("body_text"),
        ctx.render(config.list_button_text or ""),
        ctx.render_value(sections),
        **texts,
    )


def _send_interactive(ctx: StepContext, written: Written) -> Step:
    config = ctx.node.config
    assert isinstance(config, SendInteractiveConfig)
    build = _buttons if config.interactive_type == "button" else _list
    try:
        payload = build(ctx, config, written)
    except ValueError as error:
        return _over_limit(ctx, error)
    ctx.send(payload, whatsapp_config_id=config.whatsapp_config_id)
    if any(ctx.has_edge(option) for option in config.options):
        return Park("user_input")
    return Next()


def _reply_ids(message: dict[str, Any]) -> list[Any]:
    nested = [message.get(key) for key in ("button_reply", "list_reply")]
    return [message.get("button_id"), message.get("id"), message.get("payload")] + [
        reply.get("id") for reply in nested if isinstance(reply, dict)
    ]


def _choice(config: SendInteractiveConfig, event: Resume) -> str | None:
    """The option a reply picked: by id in a structured message, or by id or title in text."""
    options = config.options
    for candidate in _reply_ids(event.message or {}):
        if isinstance(candidate, str) and candidate in options:
            return candidate
    text = (event.input or "").strip().casefold()
    for option_id, title in options.items():
        if text and text in (option_id.casefold(), title.casefold()):
            return option_id
    return None


def _interactive_reply(ctx: StepContext, event: Resume) -> Step:
    config = ctx.node.config
    assert isinstance(config, SendInteractiveConfig)
    ctx.state.system["last_user_input"] = event.input if event.input is not None else event.message
    choice = _choice(config, event)
    if choice is not None and ctx.has_edge(choice):
        ctx.log("option_chosen", {"option": choice})
        return Next(choice)
    if ctx.has_edge("next"):
        return Next()
    ctx.log("reply_unmatched", {"input": event.input})
    return Park("user_input")


def _as_text(parameters: Any) -> list[str] | dict[str, str]:
    if isinstance(parameters, dict):
        return {str(name): _plain(value) for name, value in parameters.items()}
    return [_plain(value) for value in parameters]


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def _parameters(
    ctx: StepContext, config: SendTemplateConfig, written: Written
) -> list[str] | dict[str, str]:
    if not config.parameters:
        return []
    rendered = ctx.render_value(config.parameters)
    return _as_text(ai_fields.fill_markers(rendered, written, (PARAMETERS,)))


def _send_template(ctx: StepContext, written: Written) -> Step:
    config = ctx.node.config
    assert isinstance(config, SendTemplateConfig)
    parameters = _parameters(ctx, config, written)
    try:
        payload = payloads.template_message(
            ctx.state.phone_number, config.template_name, config.language, parameters
        )
    except ValueError as error:
        return _over_limit(ctx, error)
    ctx.send(payload, whatsapp_config_id=config.whatsapp_config_id)
    return Next()


def _sender(send: Send, **handlers: Any) -> NodeHandler:
    """A send node's handler: it sends at once, or once its model wrote its AI fields."""

    def enter(ctx: StepContext) -> Step:
        config = ctx.node.config
        assert isinstance(config, AIFieldsConfig)
        return ai_fields.ask(ctx, config) if config.ai_field_paths else send(ctx, {})

    def on_result(ctx: StepContext, result: CallResult) -> Step:
        config = ctx.node.config
        assert isinstance(config, AIFieldsConfig)
        written = ai_fields.written(ctx, config, result)
        return written if isinstance(written, Fail) else send(ctx, written)

    return NodeHandler(enter=enter, on_result=on_result, **handlers)


SEND_TEXT = _sender(_send_text)
SEND_INTERACTIVE = _sender(_send_interactive, resume=_interactive_reply)
SEND_TEMPLATE = _sender(_send_template)
