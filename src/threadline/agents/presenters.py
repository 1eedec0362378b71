"""Agent rows as the API shows them: graphs exactly as they were sent."""

from __future__ import annotations

from threadline.agents.schemas import (
    AgentOut,
    AgentWhatsappConfigOut,
    AgentWithGraphOut,
    SnapshotOut,
)
from threadline.config import Settings
from threadline.models import Agent, AgentSnapshot, AgentWhatsappConfig, WhatsappConfig
from threadline.whatsapp_configs.presenters import describe as describe_config


def agent(row: Agent) -> AgentOut:
    """The reference's ``Agent``."""
    return AgentOut(
        id=row.id,
        name=row.name,
        description=row.description,
        project_id=row.project_id,
        system_prompt=row.system_prompt,
        agent_version=row.agent_version,
        message_debounce_seconds=row.message_debounce_seconds,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def agent_with_graph(row: Agent) -> AgentWithGraphOut:
    """The reference's ``AgentWithGraph``."""
    return AgentWithGraphOut(**agent(row).model_dump(), graph=row.graph)


def snapshot(row: AgentSnapshot) -> SnapshotOut:
    """The reference's ``AgentSnapshot``."""
    return SnapshotOut(
        id=row.id,
        agent_id=row.agent_id,
        name=row.name,
        graph=row.graph,
        system_prompt=row.system_prompt,
        agent_version=row.agent_version,
        message_debounce_seconds=row.message_debounce_seconds,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def whatsapp_config(
    link: AgentWhatsappConfig, config: WhatsappConfig, settings: Settings
) -> AgentWhatsappConfigOut:
    """The reference's ``AgentWhatsappConfig``, its number shown as the configs API does."""
    return AgentWhatsappConfigOut(
        id=link.id,
        agent_id=link.agent_id,
        whatsapp_config_id=link.whatsapp_config_id,
        is_primary=link.is_primary,
        created_at=link.created_at,
        updated_at=link.updated_at,
        whatsapp_config=describe_config(config, settings),
    )
