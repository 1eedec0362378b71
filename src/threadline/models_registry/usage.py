"""Model calls, recorded one by one and added up per project.

The runtime records a call after it returned (ok or failed), in a transaction of its
own: never one held across the call. ``cost`` comes from the spec's prices
(:meth:`Usage.cost`); a model without prices leaves it empty, and the totals say how
many calls that leaves out.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.kit.clock import utcnow
from threadline.kit.listing import fetch_page
from threadline.kit.schemas import PageParams
from threadline.llm.types import ModelReply, ModelSpec, Usage
from threadline.models import ModelCall
from threadline.models_registry.schemas import (
    ModelCallFilters,
    ModelUsageLine,
    ModelUsageOut,
    UsageTotals,
)

#: How much of a failure's message is kept.
MESSAGE_LIMIT = 1000
_INSERT_CALL = insert(cast(Table, ModelCall.__table__))  # every model call runs it


async def record_call(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    spec: ModelSpec,
    reply: ModelReply | None,
    error: Exception | None,
    duration_ms: float,
    subject_kind: str,
    subject_id: uuid.UUID | str | None,
) -> None:
    """Record one call: ``error`` set means it failed (a reply may still carry usage).

    Names are cut to their columns' lengths (the local model server answers any name a
    flow gives, however long), so recording never fails a call that succeeded.
    """
    used = reply.usage if reply is not None else Usage()
    row = {
        "project_id": project_id,
        "model_name": spec.name[:200],
        "provider": spec.provider,
        "model": (reply.model if reply is not None and reply.model else spec.model)[:200],
        "subject_kind": subject_kind[:40],
        "subject_id": None if subject_id is None else str(subject_id)[:100],
        "status": "ok" if error is None else "error",
        "error_class": None if error is None else type(error).__name__,
        "error_message": None if error is None else _message(error, spec),
        "input_tokens": used.input_tokens,
        "output_tokens": used.output_tokens,
        "cost": used.cost(spec.pricing) if reply is not None else None,
        "duration_ms": max(0, round(duration_ms)),
        "created_at": utcnow(),
    }
    await session.execute(_INSERT_CALL, [row])  # Core: no unit of work for a log row


def _message(error: Exception, spec: ModelSpec) -> str:
    """The failure's text, cut short, and without the key should a provider echo it."""
    text = str(error) or type(error).__name__
    if len(spec.api_key) >= 8:
        text = text.replace(spec.api_key, "[redacted]")
    return text[:MESSAGE_LIMIT]


def _conditions(project_id: uuid.UUID, filters: ModelCallFilters) -> list[ColumnElement[bool]]:
    conditions = [ModelCall.project_id == project_id]
    for column, value in (
        (ModelCall.subject_kind, filters.subject_kind),
        (ModelCall.subject_id, filters.subject_id),
        (ModelCall.model_name, filters.model_name),
        (ModelCall.model, filters.model),
        (ModelCall.status, filters.status),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.created_gteq is not None:
        conditions.append(ModelCall.created_at >= filters.created_gteq)
    if filters.created_lteq is not None:
        conditions.append(ModelCall.created_at <= filters.created_lteq)
    return conditions


async def _per_model(
    session: AsyncSession, project_id: uuid.UUID, filters: ModelCallFilters
) -> list[tuple[Any, ...]]:
    statement = (
        select(
            ModelCall.model_name,
            func.count(),
            func.sum(case((ModelCall.status == "error", 1), else_=0)),
            func.sum(ModelCall.input_tokens),
            func.sum(ModelCall.output_tokens),
            func.sum(ModelCall.cost),
            func.sum(case((ModelCall.cost.is_(None), 1), else_=0)),
        )
        .where(*_conditions(project_id, filters))
        .group_by(ModelCall.model_name)
        .order_by(ModelCall.model_name)
    )
    return [tuple(row) for row in (await session.execute(statement)).all()]


async def totals(
    session: AsyncSession, project_id: uuid.UUID, filters: ModelCallFilters
) -> ModelUsageOut:
    """Calls, errors, tokens and cost of the project's calls that match, in all and per
    model name (one grouped query; the total adds up the groups exactly)."""
    rows = await _per_model(session, project_id, filters)
    lines = [_line(*row) for row in rows]
    costs = [Decimal(row[5]) for row in rows if row[5] is not None]
    return ModelUsageOut(
        calls=sum(line.calls for line in lines),
        errors=sum(line.errors for line in lines),
        input_tokens=sum(line.input_tokens for line in lines),
        output_tokens=sum(line.output_tokens for line in lines),
        total_tokens=sum(line.total_tokens for line in lines),
        cost=float(sum(costs, Decimal(0))) if costs else None,
        unpriced_calls=sum(line.unpriced_calls for line in lines),
        by_model=lines,
    )


def _line(
    name: str, calls: int, errors: Any, tokens_in: Any, tokens_out: Any, cost: Any, unpriced: Any
) -> ModelUsageLine:
    totals = UsageTotals(
        calls=int(calls),
        errors=int(errors or 0),
        input_tokens=int(tokens_in or 0),
        output_tokens=int(tokens_out or 0),
        total_tokens=int(tokens_in or 0) + int(tokens_out or 0),
        cost=None if cost is None else float(cost),
        unpriced_calls=int(unpriced or 0),
    )
    return ModelUsageLine(model_name=name, **totals.model_dump())


async def calls_page(
    session: AsyncSession, project_id: uuid.UUID, filters: ModelCallFilters, page: PageParams
) -> tuple[list[ModelCall], int]:
    """One page of the project's calls that match, newest first."""
    statement = select(ModelCall).where(*_conditions(project_id, filters))
    ordered = statement.order_by(ModelCall.created_at.desc(), ModelCall.id.desc())
    return await fetch_page(session, ordered, page)
