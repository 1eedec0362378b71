"""Nodes that send WhatsApp messages: text, interactive (buttons, lists) and templates."""

from __future__ import annotations

from typing import Any

from threadline.engine.nodes.base import NodeHandler
from threadline.engine.state import Resume
from threadline.engine.steps import Fail, Next, Park, Step, StepContext
from threadline.flows.node_configs import (
    SendInteractiveConfig,
    SendTemplateConfig,
    SendTextConfig,
)
from threadline.whatsapp import payloads


def _optional(ctx: StepContext, text: str | None) -> str | None:
    return ctx.render(text) if text else None


def _over_limit(ctx: StepContext, error: ValueError) -> Step:
    # Limits are checked again after interpolation: a variable can make a text too long.
    return Fail(f"node '{ctx.node.id}' built a message WhatsApp would refuse: {error}")


def _send_text(ctx: StepContext) -> Step:
    config = ctx.node.config
    assert isinstance(config, SendTextConfig)
    try:
        payload = payloads.text_message(ctx.state.phone_number, ctx.render(config.message))
    except ValueError as error:
        return _over_limit(ctx, error)
    ctx.send(payload, whatsapp_config_id=config.whatsapp_config_id)
    return Next()


def _buttons(ctx: StepContext, config: SendInteractiveConfig) -> dict[str, Any]:
    buttons = [(b.id, ctx.render(b.title)) for b in config.buttons or []]
    return payloads.button_message(
        ctx.state.phone_number,
        ctx.render(config.body_text),
        buttons,
        header_text=_optional(ctx, config.header_text),
        footer_text=_optional(ctx, config.footer_text),
    )


def _list(ctx: StepContext, config: SendInteractiveConfig) -> dict[str, Any]:
    sections = [section.model_dump(exclude_none=True) for section in config.list_sections or []]
    return payloads.list_message(
        ctx.state.phone_number,
        ctx.render(config.body_text),
        ctx.render(config.list_button_text or ""),
        ctx.render_value(sections),
        header_text=_optional(ctx, config.header_text),
        footer_text=_optional(ctx, config.footer_text),
    )


def _send_interactive(ctx: StepContext) -> Step:
    config = ctx.node.config
    assert isinstance(config, SendInteractiveConfig)
    build = _buttons if config.interactive_type == "button" else _list
    try:
        payload = build(ctx, config)
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
        return {str(name): _text(value) for name, value in parameters.items()}
    return [_text(value) for value in parameters]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _send_template(ctx: StepContext) -> Step:
    config = ctx.node.config
    assert isinstance(config, SendTemplateConfig)
    parameters = _as_text(ctx.render_value(config.parameters)) if config.parameters else []
    try:
        payload = payloads.template_message(
            ctx.state.phone_number, config.template_name, config.language, parameters
        )
    except ValueError as error:
        return _over_limit(ctx, error)
    ctx.send(payload, whatsapp_config_id=config.whatsapp_config_id)
    return Next()


SEND_TEXT = NodeHandler(enter=_send_text)
SEND_INTERACTIVE = NodeHandler(enter=_send_interactive, resume=_interactive_reply)
SEND_TEMPLATE = NodeHandler(enter=_send_template)
