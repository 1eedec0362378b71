"""Whose messages one delivery job sends: a conversation's, else an execution's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from threadline.models import FlowExecution

DELIVER_TASK = "messaging.deliver"


class TransientDeliveryError(Exception):
    """The Graph API did not accept the message this time; the job retries later."""


def outbox_key(execution_id: uuid.UUID | str) -> str:
    """Dedupe and lock key of an execution's delivery job."""
    return f"outbox:{execution_id}"


def conversation_outbox_key(conversation_id: uuid.UUID | str) -> str:
    """Dedupe and lock key of a conversation's delivery job."""
    return f"outbox:conversation:{conversation_id}"


@dataclass(frozen=True)
class Scope:
    """Whose messages one delivery job sends, in order: a conversation's, else an execution's.

    A message with a ``conversation_id`` is delivered by its conversation's job, whoever
    queued it (a flow or the API), so one conversation's messages leave in one line.
    """

    id: uuid.UUID
    conversation: bool

    @classmethod
    def of_execution(cls, execution: FlowExecution) -> Scope:
        """The scope of an execution's messages."""
        if execution.conversation_id is not None:
            return cls(execution.conversation_id, conversation=True)
        return cls(execution.id, conversation=False)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Scope:
        """The scope a delivery job's payload names."""
        if "conversation_id" in payload:
            return cls(uuid.UUID(payload["conversation_id"]), conversation=True)
        return cls(uuid.UUID(payload["execution_id"]), conversation=False)

    @property
    def key(self) -> str:
        """The job's dedupe and lock key."""
        return conversation_outbox_key(self.id) if self.conversation else outbox_key(self.id)

    @property
    def payload(self) -> dict[str, str]:
        """The job's payload."""
        return {("conversation_id" if self.conversation else "execution_id"): str(self.id)}
