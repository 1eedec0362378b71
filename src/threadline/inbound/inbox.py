"""A conversation's inbound messages, processed one at a time in the order Meta stamped them.

For each pending message, under the conversation's row lock (then its execution's):

* an execution waiting for the user is resumed with it (reason ``user_input``);
* an execution waiting on ``handoff`` is left parked: the message is for the person who
  took the conversation over (``processing_status`` ``handoff``);
* an execution still running (a call in flight) keeps the message
  pending: when it parks or ends, ``executions.runtime`` wakes this inbox again;
* with no execution, the agent the number is attached to starts (agents own the
  numbers they answer); else the first matching ``inbound_message`` trigger of the
  number starts its flow (``no_flow`` when none matches).

On a number attached to an agent, the agent's ``message_debounce_seconds`` lets a burst
gather: the inbox waits until that long after the first pending message, then hands the
texts to the agent as one turn, joined by newlines.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.agent_executions import service as agent_executions
from threadline.conversations import repository as conversation_rows
from threadline.conversations import service as conversations
from threadline.executions import turns
from threadline.inbound.items import InboundMessage
from threadline.models import Agent, WhatsappConversation, WhatsappMessage
from threadline.triggers import service as triggers

log = logging.getLogger("threadline.inbound")
#: When a resume lost its compare-and-set, how soon the inbox looks at the message again.
RETRY_BLOCKED = timedelta(seconds=1)


class Step(Enum):
    """What one pass over the inbox did."""

    DONE = "done"  # nothing pending: the job may end
    HANDLED = "handled"  # one message (or a debounced group) processed
    BLOCKED = "blocked"  # the execution is running: wait for it to park


async def process_next(
    session: AsyncSession, conversation_id: Any, now: datetime, *, debounce: timedelta
) -> Step:
    """Process the conversation's oldest pending message, if it can be now."""
    conversation = await conversation_rows.lock(session, conversation_id)
    if conversation is None:
        return Step.DONE
    first = await conversation_rows.next_pending_inbound(session, conversation.id)
    if first is None:
        return Step.DONE
    agent = await agent_executions.bound_agent(session, conversation.whatsapp_config_id)
    gather = agent_executions.debounce_of(agent)
    if gather and first.created_at + gather > now:
        # Let the burst gather: this job ends, a new one looks when the window closes.
        await conversations.wake_inbox(
            session, conversation.id, delay=first.created_at + gather - now
        )
        return Step.DONE
    group = await _group(session, first, max(debounce, gather))
    execution = await turns.active(session, conversation.id)
    if execution is None:
        execution = await turns.adopt(session, conversation)
    if execution is None and agent is not None:
        await _start_agent(session, agent, conversation, group, now)
    elif execution is None:
        await _start(session, conversation, group, now)
    elif first.created_at < execution.started_at:
        # Received before this run began (it was started through the API meanwhile): not
        # an answer to it, and no reason to start a second run either.
        _mark(group, "skipped", now, None)
    elif execution.status == "waiting" and execution.wait_reason == "user_input":
        resumed = await turns.resume(session, execution, _turn(conversation, group), now)
        _mark(group, "processed" if resumed else "pending", now, execution.id)
        if not resumed:
            # Not expected (the execution's row is locked since ``active``), but the winner
            # claimed a wait and will not look for held-back messages: look again later.
            await conversations.wake_inbox(session, conversation.id, delay=RETRY_BLOCKED)
            return Step.BLOCKED
    elif execution.status == "waiting" and execution.wait_reason == "handoff":
        _mark(group, "handoff", now, execution.id)
    else:
        await turns.hold(session, execution)
        return Step.BLOCKED
    return Step.HANDLED


async def _group(
    session: AsyncSession, first: WhatsappMessage, debounce: timedelta
) -> list[WhatsappMessage]:
    """The message, and the texts the debounce window folds into it."""
    if not debounce or first.message_type != "text" or first.meta_timestamp is None:
        return [first]
    later = await conversation_rows.pending_inbound_after(
        session, first, first.meta_timestamp + debounce
    )
    texts = []
    for message in later:
        if message.message_type != "text":
            break
        texts.append(message)
    return [first, *texts]


async def _start(
    session: AsyncSession,
    conversation: WhatsappConversation,
    group: list[WhatsappMessage],
    now: datetime,
) -> None:
    turn = _turn(conversation, group)
    for trigger in await triggers.inbound_for_config(session, conversation.whatsapp_config_id):
        if not triggers.matches(trigger, turn.text):
            continue
        execution = await turns.start(session, trigger, conversation, turn, now)
        if execution is not None:
            log.info(
                "flow started by an inbound message",
                extra={"execution_id": str(execution.id), "flow_id": str(trigger.flow_id)},
            )
            _mark(group, "processed", now, execution.id)
            return
    _mark(group, "no_flow", now, None)


async def _start_agent(
    session: AsyncSession,
    agent: Agent,
    conversation: WhatsappConversation,
    group: list[WhatsappMessage],
    now: datetime,
) -> None:
    turn = _turn(conversation, group)
    execution = await agent_executions.start_from_inbound(
        session, agent, conversation, turn.text, turn.ids, now
    )
    log.info(
        "agent started by an inbound message",
        extra={"execution_id": str(execution.id), "agent_id": str(agent.id)},
    )
    _mark(group, "processed", now, execution.id)


def _mark(group: list[WhatsappMessage], status: str, now: datetime, execution_id: Any) -> None:
    for position, message in enumerate(group):
        message.processing_status = status if position == 0 or status != "processed" else "combined"
        message.execution_id = execution_id
        message.updated_at = now


def _turn(conversation: WhatsappConversation, group: list[WhatsappMessage]) -> turns.Turn:
    """The engine's view of the message: its text and its structured form."""
    first = InboundMessage.model_validate(group[0].payload)
    reply = first.reply()
    message: dict[str, Any] = dict(reply) if reply else {"type": first.type, **_part(first)}
    message["wamid"] = first.id
    message["message_id"] = group[0].id
    texts = [_text(InboundMessage.model_validate(m.payload)) for m in group]
    text = "\n".join(t for t in texts if t) or None
    if reply and reply.get("title") is not None:
        text = str(reply["title"])
    ids = {
        "contact_id": str(conversation.contact_id),
        "conversation_id": str(conversation.id),
        "whatsapp_message_id": str(group[0].id),
    }
    return turns.Turn(text=text, message=message, ids=ids)


def _part(message: InboundMessage) -> dict[str, Any]:
    part = message.raw.get(message.type)
    return {message.type: part} if part is not None else {}


def _text(message: InboundMessage) -> str | None:
    raw = message.raw
    part = raw.get(message.type)
    if not isinstance(part, dict):
        return None
    if message.type == "text":
        body = part.get("body")
        return body if isinstance(body, str) else None
    caption = part.get("caption")
    return caption if isinstance(caption, str) else None
