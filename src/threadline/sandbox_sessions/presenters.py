"""Sandbox session rows as the API shows them."""

from __future__ import annotations

from typing import Literal, cast

from threadline.contacts import phones
from threadline.models import SandboxSession
from threadline.sandbox_sessions import service
from threadline.sandbox_sessions.schemas import SandboxSessionOut

Status = Literal["pending_activation", "active"]


def present(row: SandboxSession) -> SandboxSessionOut:
    """A sandbox session, with the message and link to hand to the tester."""
    return SandboxSessionOut(
        id=row.id,
        phone_number=phones.display(row.phone_number),
        status=cast(Status, row.status),
        activation_code=row.activation_code,
        activation_message=service.activation_message(row),
        activation_link=service.activation_link(row),
        activated_at=row.activated_at,
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        agent_id=row.agent_id,
        whatsapp_config_id=row.whatsapp_config_id,
    )
