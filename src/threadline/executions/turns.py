"""A user's message in a conversation: it resumes the waiting execution or starts a flow.

Called by the inbound processor with the conversation's row lock held (it is taken
before any execution's, everywhere), so one conversation's turns never run in parallel.
The engine runs in the caller's transaction: the resume, its effects and the message's
``processed`` mark commit together or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.engine.state import Resume, Start
from threadline.executions import repository
from threadline.executions.runtime import resume_claimed, run_engine
from threadline.flows import service as flows
from threadline.models import FlowExecution, FlowTrigger, WhatsappConversation


@dataclass(frozen=True)
class Turn:
    """What the user said: its text (or a reply's title), and the structured message."""

    text: str | None
    message: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)  # contact, conversation, message ids


async def active(session: AsyncSession, conversation_id: uuid.UUID) -> FlowExecution | None:
    """The conversation's running or waiting execution, row-locked."""
    return await repository.active_in_conversation(session, conversation_id)


async def hold(session: AsyncSession, execution: FlowExecution) -> None:
    """The inbox leaves a message pending for ``execution``, busy (row-locked by
    :func:`active`): the step that stops it wakes the inbox again."""
    if not execution.holds_inbound:
        await repository.hold_inbound(session, execution)


async def adopt(session: AsyncSession, conversation: WhatsappConversation) -> FlowExecution | None:
    """A run still waiting in an earlier conversation with the same phone joins this one.

    A wait may last longer than a conversation's inactivity period: the reply then opens
    a new conversation, and must still reach the run that asked.
    """
    execution = await repository.active_in_earlier_conversation(session, conversation)
    if execution is not None:
        execution.conversation_id = conversation.id
        execution.system = {**execution.system, "conversation_id": str(conversation.id)}
    return execution


async def resume(
    session: AsyncSession, execution: FlowExecution, turn: Turn, now: datetime
) -> bool:
    """Resume an execution waiting for the user; False if it moved on first (the CAS lost)."""
    claimed = await repository.claim_waiting(
        session, execution.id, reasons=("user_input",), now=now, expected_seq=execution.step_seq
    )
    if claimed is None:
        return False
    event = Resume(reason="user_input", input=turn.text, message=turn.message)
    await resume_claimed(session, claimed, event, now)
    return True


async def release_handoff(
    session: AsyncSession, conversation_id: uuid.UUID, now: datetime
) -> FlowExecution | None:
    """The person who had the conversation let it go: its execution parked on ``handoff``
    goes on (reason ``handoff_released``), through the API resume's compare-and-set.

    The caller holds the conversation's row lock. None when no execution waits on handoff.
    """
    execution = await active(session, conversation_id)
    if execution is None or execution.status != "waiting" or execution.wait_reason != "handoff":
        return None
    claimed = await repository.claim_waiting(
        session, execution.id, reasons=("handoff",), now=now, expected_seq=execution.step_seq
    )
    if claimed is None:
        return None
    await resume_claimed(session, claimed, Resume(reason="handoff_released"), now)
    return claimed


async def start(
    session: AsyncSession,
    trigger: FlowTrigger,
    conversation: WhatsappConversation,
    turn: Turn,
    now: datetime,
) -> FlowExecution | None:
    """Start the trigger's flow for the conversation; None if the flow cannot run now."""
    flow = await flows.find(session, trigger.project_id, trigger.flow_id)
    if flow is None or flow.status != "active" or flow.current_version_id is None:
        return None
    execution = _new_execution(flow.current_version_id, trigger, conversation, turn, now)
    repository.add(session, execution)
    await flows.record_execution(session, flow, now)
    await run_engine(session, execution, Start(), now)
    return execution


def _new_execution(
    version_id: uuid.UUID,
    trigger: FlowTrigger,
    conversation: WhatsappConversation,
    turn: Turn,
    now: datetime,
) -> FlowExecution:
    execution_id = uuid.uuid4()
    system = {
        "execution_id": str(execution_id),
        "flow_id": str(trigger.flow_id),
        "phone_number": conversation.phone_number,
        "started_at": now.isoformat(),
        "trigger": {"type": "inbound_message", "id": str(trigger.id)},
        "last_user_input": turn.text,
        "last_message": turn.message,
        **turn.ids,
    }
    context = {"source": "inbound_message", "message": turn.message, **turn.ids}
    return FlowExecution(
        id=execution_id,
        project_id=trigger.project_id,
        flow_id=trigger.flow_id,
        flow_version_id=version_id,
        whatsapp_config_id=conversation.whatsapp_config_id,
        conversation_id=conversation.id,
        tracking_id=uuid.uuid4(),
        phone_number=conversation.phone_number,
        status="running",
        current_node_id="",
        step_seq=0,
        variables={},
        context=context,
        system=system,
        started_at=now,
        last_event_at=now,
    )
