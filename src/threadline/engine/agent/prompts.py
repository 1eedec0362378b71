"""What the model is asked at each step: the system prompt, the step, the transcript.

Built fresh for every call from the graph and the state, so a job carries no transcript
and an execution pinned to a version always asks what that version says. The current
step travels in the system prompt rather than as a fake assistant turn: every provider
accepts that, and the transcript stays exactly what was said.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from threadline.engine.agent.graph import AgentGraph, AgentNode
from threadline.engine.agent.state import AgentState
from threadline.engine.agent.tools import ASK_USER, MOVE, SEND_NOTIFICATION, offered
from threadline.llm.types import ChatMessage, ModelRequest

#: The transcript the model sees: the last messages, cut where a user turn begins.
HISTORY_LIMIT = 40

_STATIC = {
    1: (
        "You are an assistant talking to a person on WhatsApp, following a graph of "
        "steps. Text you write outside tool calls is private reasoning: the person sees "
        f"only what you send with {SEND_NOTIFICATION} (statements) or {ASK_USER} "
        f"(questions). Use {MOVE} to go to another step, as your last tool call. Never "
        "send media from URLs the person gave you."
    ),
    2: (
        "You are an assistant talking to a person on WhatsApp, following a graph of "
        "steps. Your plain text answers are sent to the person as messages. Use "
        f"{MOVE} to go to another step. Step instructions are for you, not the person."
    ),
}


#: The user turn the model sees when the agent speaks first (nothing was said yet):
#: some providers (Anthropic's) want the transcript to open with the user.
OPENING = "(The conversation starts now: the person has not written yet.)"


def build_request(graph: AgentGraph, state: AgentState, now: datetime) -> ModelRequest:
    """The model call for ``state``'s current step."""
    node = graph.node(state.node)
    messages = recent(state.history)
    if not messages or messages[0].role != "user":
        messages.insert(0, ChatMessage(role="user", content=OPENING))
    return ModelRequest(
        system=system_prompt(graph, state, node, now),
        messages=tuple(messages),
        tools=offered(node, version=graph.version),
    )


def system_prompt(graph: AgentGraph, state: AgentState, node: AgentNode, now: datetime) -> str:
    """Instructions, the agent's own prompt, who the contact is, and the current step."""
    parts = [
        _STATIC[graph.version],
        _block("general_instructions", graph.system_prompt),
        _block("contact_information", _contact(state.metadata)),
        f"Current date and time (UTC): {now.strftime('%Y-%m-%d %H:%M')}",
        step_prompt(graph, state, node),
    ]
    return "\n\n".join(part for part in parts if part)


def step_prompt(graph: AgentGraph, state: AgentState, node: AgentNode) -> str:
    """The current node, its instructions, and where it may go next."""
    options = graph.next_nodes(node.name, returns_to=state.returns_to)
    listed = "\n".join(
        f"- {option.name}" + (f": move here when {option.condition}" if option.condition else "")
        for option in options
    )
    lines = [
        f"<current_node>{node.name}</current_node>",
        _block("instructions", node.prompt),
        _block("available_next_nodes", listed or "none: stay in this step"),
        _templates(node),
        _knowledge(node),
    ]
    return "\n".join(line for line in lines if line)


def recent(history: list[ChatMessage]) -> list[ChatMessage]:
    """The last :data:`HISTORY_LIMIT` messages, starting at a user message so no tool
    result is cut from the call it answers."""
    if len(history) <= HISTORY_LIMIT:
        return list(history)
    tail = history[-HISTORY_LIMIT:]
    first_user = next((i for i, m in enumerate(tail) if m.role == "user"), None)
    return tail[first_user:] if first_user is not None else tail


def _block(tag: str, text: str) -> str:
    return f"<{tag}>\n{text}\n</{tag}>" if text else ""


def _contact(metadata: dict[str, Any]) -> str:
    contact = metadata.get("contact_information") or {}
    lines = [f"{key}: {value}" for key, value in contact.items() if value not in (None, "", {})]
    return "\n".join(lines)


def _templates(node: AgentNode) -> str:
    if not node.templates:
        return ""
    listed = [
        {"template_name": t.template_name, "parameters": t.parameters, "about": t.description}
        for t in node.templates
    ]
    return _block("whatsapp_templates", json.dumps(listed, ensure_ascii=False))


def _knowledge(node: AgentNode) -> str:
    bases = [tool.spec.name for tool in node.tools if tool.kind == "knowledge_base"]
    if not bases:
        return ""
    return _block(
        "knowledge_base",
        f"Answer from the knowledge base with {', '.join(bases)}; never invent facts "
        "it does not contain.",
    )
