"""SQL for WhatsApp configs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.listing import CreatedRange, contains, fetch_page
from threadline.kit.schemas import PageParams
from threadline.models import (
    FlowExecution,
    FlowTrigger,
    InboundWebhook,
    MessageStatusEvent,
    SandboxSession,
    WebhookDelivery,
    WhatsappConfig,
    WhatsappConversation,
    WhatsappMessage,
    WhatsappWebhook,
)
from threadline.whatsapp_configs import cache
from threadline.whatsapp_configs.schemas import WhatsappConfigFilters


async def get(
    session: AsyncSession, project_id: uuid.UUID, config_id: uuid.UUID
) -> WhatsappConfig | None:
    """A config of the project, or None."""
    statement = select(WhatsappConfig).where(
        WhatsappConfig.id == config_id, WhatsappConfig.project_id == project_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def default_for(session: AsyncSession, project_id: uuid.UUID) -> WhatsappConfig | None:
    """The project's default config, or None."""
    statement = select(WhatsappConfig).where(
        WhatsappConfig.project_id == project_id, WhatsappConfig.is_default.is_(True)
    )
    return (await session.execute(statement.limit(1))).scalar_one_or_none()


async def make_default(session: AsyncSession, project_id: uuid.UUID, config_id: uuid.UUID) -> None:
    """Make the config the project's one default (every other config of it stops being one)."""
    cache.changed(session)
    await session.execute(
        update(WhatsappConfig)
        .where(WhatsappConfig.project_id == project_id)
        .values(is_default=WhatsappConfig.id == config_id)
        .execution_options(synchronize_session=False)
    )


async def list_for(session: AsyncSession, project_id: uuid.UUID) -> list[WhatsappConfig]:
    """Every config of the project."""
    statement = select(WhatsappConfig).where(WhatsappConfig.project_id == project_id)
    return list((await session.execute(statement)).scalars())


async def list_for_customer(
    session: AsyncSession, project_id: uuid.UUID, customer_id: uuid.UUID
) -> list[WhatsappConfig]:
    """Every config of one customer of the project."""
    statement = select(WhatsappConfig).where(
        WhatsappConfig.project_id == project_id, WhatsappConfig.customer_id == customer_id
    )
    return list((await session.execute(statement.order_by(WhatsappConfig.created_at))).scalars())


async def by_phone_number_id(session: AsyncSession, phone_number_id: str) -> list[WhatsappConfig]:
    """Every config of every project on that number (sandbox configs share one)."""
    statement = select(WhatsappConfig).where(WhatsappConfig.phone_number_id == phone_number_id)
    return list((await session.execute(statement.order_by(WhatsappConfig.created_at))).scalars())


async def by_waba_id(session: AsyncSession, waba_id: str) -> list[WhatsappConfig]:
    """Up to 100 configs on the business account, oldest first (sandbox ones share one)."""
    statement = select(WhatsappConfig).where(WhatsappConfig.waba_id == waba_id)
    statement = statement.order_by(WhatsappConfig.created_at).limit(100)
    return list((await session.execute(statement)).scalars())


async def by_id(session: AsyncSession, config_id: uuid.UUID) -> WhatsappConfig | None:
    """A config by id, whatever its project (for its own webhook URL)."""
    return await session.get(WhatsappConfig, config_id)


def add(session: AsyncSession, config: WhatsappConfig) -> None:
    """Stage a new config row."""
    cache.changed(session)
    session.add(config)


async def list_page(
    session: AsyncSession,
    project_id: uuid.UUID,
    filters: WhatsappConfigFilters,
    created: CreatedRange,
    page: PageParams,
) -> tuple[list[WhatsappConfig], int]:
    """A page of the project's configs, newest first, and how many match in all."""
    conditions = [
        WhatsappConfig.project_id == project_id,
        *created.conditions(WhatsappConfig.created_at),
    ]
    if filters.customer_id is not None:
        conditions.append(WhatsappConfig.customer_id == filters.customer_id)
    for waba_id in (filters.business_account_id, filters.business_account_id_eq):
        if waba_id is not None:
            conditions.append(WhatsappConfig.waba_id == waba_id)
    if filters.name_cont is not None:
        conditions.append(contains(WhatsappConfig.name, filters.name_cont))
    statement = select(WhatsappConfig).where(*conditions)
    ordered = statement.order_by(WhatsappConfig.created_at.desc(), WhatsappConfig.id)
    return await fetch_page(session, ordered, page)


async def production_by_phone_number_id(
    session: AsyncSession, phone_number_id: str
) -> WhatsappConfig | None:
    """The production config (of any project) on that real number, or None."""
    statement = select(WhatsappConfig).where(
        WhatsappConfig.phone_number_id == phone_number_id, WhatsappConfig.kind == "production"
    )
    return (await session.execute(statement)).scalar_one_or_none()


_LIVE = ("running", "waiting")


@dataclass(frozen=True)
class Usage:
    """What still depends on some configs: live executions and open conversations."""

    executions: int
    conversations: int

    @property
    def in_use(self) -> bool:
        """Whether deleting them would cut anything short."""
        return bool(self.executions or self.conversations)


async def usage(session: AsyncSession, config_ids: Sequence[uuid.UUID]) -> Usage:
    """How many live executions and open conversations the configs have."""
    executions = select(func.count()).where(
        FlowExecution.whatsapp_config_id.in_(config_ids), FlowExecution.status.in_(_LIVE)
    )
    conversations = select(func.count()).where(
        WhatsappConversation.whatsapp_config_id.in_(config_ids),
        WhatsappConversation.status == "active",
    )
    return Usage(
        executions=int((await session.execute(executions)).scalar_one()),
        conversations=int((await session.execute(conversations)).scalar_one()),
    )


async def lock_conversations(session: AsyncSession, config_ids: Sequence[uuid.UUID]) -> None:
    """Row-lock the configs' conversations, as their inbox does (``FOR NO KEY UPDATE``).

    Taken before any execution's row, as the lock order says (AGENTS.md), and in id
    order: a delete and an inbox processing one of them wait for each other, never
    deadlock. Not ``FOR UPDATE``: a step holding its execution's lock takes a key-share
    lock on the conversation to insert a message, and must not wait on this one.
    """
    statement = (
        select(WhatsappConversation.id)
        .where(WhatsappConversation.whatsapp_config_id.in_(config_ids))
        .order_by(WhatsappConversation.id)
        .with_for_update(key_share=True)
    )
    await session.execute(statement)


async def live_execution_ids(
    session: AsyncSession, config_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """The configs' running or waiting executions, oldest first."""
    statement = (
        select(FlowExecution.id)
        .where(FlowExecution.whatsapp_config_id.in_(config_ids), FlowExecution.status.in_(_LIVE))
        .order_by(FlowExecution.started_at, FlowExecution.id)
    )
    return list((await session.execute(statement)).scalars())


async def purge(session: AsyncSession, config_ids: Sequence[uuid.UUID]) -> None:
    """Delete the configs and what belongs to them; unlink what is kept as history."""
    cache.changed(session)
    conversations = select(WhatsappConversation.id).where(
        WhatsappConversation.whatsapp_config_id.in_(config_ids)
    )
    statements = [
        update(FlowExecution)
        .where(
            or_(
                FlowExecution.whatsapp_config_id.in_(config_ids),
                FlowExecution.conversation_id.in_(conversations),
            )
        )
        .values(whatsapp_config_id=None, conversation_id=None),
        delete(WhatsappMessage).where(
            or_(
                WhatsappMessage.whatsapp_config_id.in_(config_ids),
                WhatsappMessage.conversation_id.in_(conversations),
            )
        ),
        delete(MessageStatusEvent).where(MessageStatusEvent.whatsapp_config_id.in_(config_ids)),
        delete(WhatsappConversation).where(WhatsappConversation.whatsapp_config_id.in_(config_ids)),
        delete(FlowTrigger).where(FlowTrigger.whatsapp_config_id.in_(config_ids)),
        delete(SandboxSession).where(SandboxSession.whatsapp_config_id.in_(config_ids)),
        update(InboundWebhook)
        .where(InboundWebhook.whatsapp_config_id.in_(config_ids))
        .values(whatsapp_config_id=None),
        delete(WebhookDelivery).where(WebhookDelivery.whatsapp_config_id.in_(config_ids)),
        delete(WhatsappWebhook).where(WhatsappWebhook.whatsapp_config_id.in_(config_ids)),
        delete(WhatsappConfig).where(WhatsappConfig.id.in_(config_ids)),
    ]
    for statement in statements:
        await session.execute(statement.execution_options(synchronize_session=False))


async def save_unless_number_taken(session: AsyncSession, config: WhatsappConfig) -> bool:
    """Write the new or changed row; False (nothing written) if its real number is taken.

    A savepoint around the write: of concurrent requests for one key, the unique index
    lets one win and the others learn it without aborting their transaction.
    """
    cache.changed(session)
    try:
        async with session.begin_nested():
            session.add(config)
            await session.flush()
    except IntegrityError:
        return False
    return True
