"""The built-in tools an agent's model is offered, by node type (Kapso's tool reference).

Their names and arguments are Kapso's, so prompts written for Kapso keep working. The
interrupt tools (asking, idling, waiting, stopping, a template that waits) park the
execution until the user writes; the others answer at once.
"""

from __future__ import annotations

from typing import Any

from threadline.engine.agent.graph import AgentNode
from threadline.llm.types import ToolSpec

SEND_NOTIFICATION = "send_notification_to_user"
SEND_MEDIA = "send_media_message"
ASK_USER = "AskUserForInput"
MOVE = "MoveToNextNode"
IDLE = "EnterIdleState"
WAIT = "WaitForUser"
STOP = "StopExecution"
METADATA = "get_execution_metadata"
SEND_TEMPLATE = "SendWhatsappTemplateMessage"

MEDIA_TYPES = ("image", "video", "audio", "document")


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


def _text(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


BUILTINS: dict[str, ToolSpec] = {
    SEND_NOTIFICATION: ToolSpec(
        SEND_NOTIFICATION,
        "Send the user a message that expects no answer.",
        _object({"message": _text("The text to send.")}, ["message"]),
    ),
    SEND_MEDIA: ToolSpec(
        SEND_MEDIA,
        "Send the user an image, video, audio or document by its URL.",
        _object(
            {
                "media_url": _text("A public URL of the file."),
                "media_type": {"type": "string", "enum": list(MEDIA_TYPES)},
                "caption": _text("A caption (not for audio)."),
                "filename": _text("The file name shown (documents only)."),
            },
            ["media_url", "media_type"],
        ),
    ),
    ASK_USER: ToolSpec(
        ASK_USER,
        "Ask the user a question and wait for the answer.",
        _object({"message": _text("The question, ending with '?'.")}, ["message"]),
    ),
    MOVE: ToolSpec(
        MOVE,
        "Move the conversation to one of the available next nodes. Call it last.",
        _object(
            {
                "next_node": _text("The name of an available next node."),
                "reason": _text("Why, in a few words."),
            },
            [],
        ),
    ),
    IDLE: ToolSpec(
        IDLE,
        "Wait for the user's next message, optionally sending a last message first.",
        _object({"message": _text("A message to send before waiting.")}, []),
    ),
    WAIT: ToolSpec(WAIT, "Wait for the user's next message.", _object({}, [])),
    STOP: ToolSpec(STOP, "End the conversation.", _object({"reason": _text("Why it ends.")}, [])),
    METADATA: ToolSpec(
        METADATA,
        "Get this execution's ids and the contact's information.",
        _object({}, []),
    ),
    SEND_TEMPLATE: ToolSpec(
        SEND_TEMPLATE,
        "Send one of this step's approved WhatsApp templates.",
        _object(
            {
                "template_name": _text("The template's name."),
                "phone_number": _text("Whom to send it to (default: this contact)."),
                "template_parameters": {"type": "object", "description": "Parameter values."},
            },
            ["template_name"],
        ),
    ),
}

#: Tools that park the execution until the user writes.
INTERRUPTS = frozenset({ASK_USER, IDLE, WAIT, STOP})

_MESSAGING = (SEND_NOTIFICATION, SEND_MEDIA, ASK_USER)
_BASE = (*_MESSAGING, MOVE, STOP, IDLE, METADATA)
_BY_TYPE: dict[str, tuple[str, ...]] = {
    "DefaultNode": _BASE,
    "WebhookNode": _BASE,
    "KnowledgeBaseNode": _BASE,
    "WarmEndNode": _BASE,
    "WhatsappTemplateNode": (*_BASE, SEND_TEMPLATE),
    "SubagentNode": (*_BASE, SEND_TEMPLATE),
    "HandoffNode": (),
}


def builtin_names(node: AgentNode, *, version: int) -> tuple[str, ...]:
    """The built-in tools of ``node``: version 2 waits with ``WaitForUser`` instead of
    asking or idling through tools (its plain text is the message)."""
    names = _BY_TYPE.get(node.type, _BASE)
    if node.type in ("WhatsappTemplateNode", "SubagentNode") and not node.templates:
        names = tuple(n for n in names if n != SEND_TEMPLATE)
    if version == 2:
        names = (*(n for n in names if n not in (ASK_USER, IDLE)), WAIT)
    return names


def offered(node: AgentNode, *, version: int) -> tuple[ToolSpec, ...]:
    """Every tool the model may call at ``node``: built-ins, then the node's own."""
    if node.type == "HandoffNode":
        return ()
    own = tuple(tool.spec for tool in node.tools)
    return tuple(BUILTINS[name] for name in builtin_names(node, version=version)) + own
