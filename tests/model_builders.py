"""Typed builders of the model registry's test data: providers, models, recorded calls."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from builders import TestProject
from threadline.kit.resources import Resources
from threadline.llm.types import ModelReply, ModelSpec, Pricing, Usage
from threadline.models_registry import usage

PROVIDERS = "/api/v1/model_providers"
MODELS = "/api/v1/project_models"


async def create_provider(
    client: httpx.AsyncClient, project: TestProject, **fields: Any
) -> dict[str, Any]:
    """A provider made through the API (an OpenAI one with a key unless told), as answered."""
    body = {"name": "openai", "kind": "openai", "api_key": "sk-test-0123456789abcd"} | fields
    response = await client.post(PROVIDERS, headers=project.headers, json={"model_provider": body})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def create_model(
    client: httpx.AsyncClient, project: TestProject, provider_id: str, **fields: Any
) -> dict[str, Any]:
    """A project model made through the API on ``provider_id``, as answered."""
    body = {"name": "gpt", "provider_id": provider_id, "model": "gpt-4o-mini"} | fields
    response = await client.post(MODELS, headers=project.headers, json={"project_model": body})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def spec(
    name: str = "gpt",
    *,
    model: str = "gpt-4o-mini",
    prices: tuple[str, str] | None = ("1", "2"),
    api_key: str = "sk-test-0123456789abcd",
) -> ModelSpec:
    """A spec as resolution would make it, priced per million tokens unless ``None``."""
    pricing = Pricing() if prices is None else Pricing(Decimal(prices[0]), Decimal(prices[1]))
    return ModelSpec(name=name, provider="openai", model=model, api_key=api_key, pricing=pricing)


def reply(input_tokens: int, output_tokens: int, *, model: str = "gpt-4o-mini") -> ModelReply:
    """A model's text answer that used these tokens."""
    return ModelReply(
        text="hi", tool_calls=(), usage=Usage(input_tokens, output_tokens), model=model
    )


async def record(
    resources: Resources,
    project: TestProject,
    model_spec: ModelSpec,
    *,
    answer: ModelReply | None = None,
    error: Exception | None = None,
    subject: tuple[str, uuid.UUID | str | None] = ("flow_execution", None),
    duration_ms: float = 12.5,
) -> None:
    """Record one call in a transaction of its own, as the runtime does after a call."""
    async with resources.db.transaction() as session:
        await usage.record_call(
            session,
            project_id=uuid.UUID(project.id),
            spec=model_spec,
            reply=answer,
            error=error,
            duration_ms=duration_ms,
            subject_kind=subject[0],
            subject_id=subject[1],
        )
