"""Resolving a model name (``provider_model_name`` in flows and agents) to a ModelSpec.

The rules, per project, in order:

1. A name the project registered (``project_models.name``) is that model, called on its
   provider with the provider's decrypted key, URL, timeout and retries, and the
   model's sampling settings and prices.
2. No name (``None`` or empty) is the project's default model (``is_default``).
3. Any other name, or no name without a default: when the project has **no providers at
   all** and ``settings.model_server_enabled``, the local model server answers it
   (:func:`local_spec`: provider ``openai``, ``settings.local_model_url("openai")``, the
   name as the model, key ``"local"``), so a fresh install runs flows with AI steps
   before any key is registered. Once a project registers a provider it has chosen its
   models: an unknown name is then :class:`ModelNotConfigured`, never a silent fallback.
4. Otherwise :class:`ModelNotConfigured` (a 422 naming the model and how to register it).

``llm.client.http_for`` picks the HTTP client a resolved spec is called through.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.config import Settings
from threadline.errors import Unprocessable
from threadline.kit.crypto import Cipher
from threadline.llm.types import ModelSettings, ModelSpec, Pricing, ProviderKind, ReasoningEffort
from threadline.models import ModelProvider, ProjectModel
from threadline.models_registry import repository
from threadline.models_registry.cache import cache

#: The key the local model server is called with (it checks none).
LOCAL_API_KEY = "local"
_KINDS: tuple[ProviderKind, ...] = ("openai", "anthropic")


class ModelNotConfigured(Unprocessable):
    """The model is not configured in this project."""

    error = "Model not configured"


async def resolve(
    session: AsyncSession,
    project_id: uuid.UUID,
    name: str | None,
    settings: Settings,
    *,
    cipher: Cipher,
) -> ModelSpec:
    """The spec of the project's model called ``name`` (the rules are the module's),
    kept in the process's cache of resolved models (``models_registry.cache``)."""
    local = settings.local_model_url("openai") if settings.model_server_enabled else None
    key = ("spec", project_id, name or "", local)
    return await cache.get(key, lambda: _resolve(session, project_id, name, settings, cipher))


async def _resolve(
    session: AsyncSession,
    project_id: uuid.UUID,
    name: str | None,
    settings: Settings,
    cipher: Cipher,
) -> ModelSpec:
    found = await (
        repository.model_named(session, project_id, name)
        if name
        else repository.default_model(session, project_id)
    )
    if found is not None:
        return spec_of(*found, cipher=cipher)
    if settings.model_server_enabled and not await repository.has_providers(session, project_id):
        return local_spec(settings, name or "default")
    raise _not_configured(name)


def _not_configured(name: str | None) -> ModelNotConfigured:
    how = (
        "register it with POST /api/v1/project_models (name, provider_id, model), on a "
        "provider made with POST /api/v1/model_providers"
    )
    if not name:
        return ModelNotConfigured(
            f"No model was named and the project has no default model: {how}, with is_default: true"
        )
    return ModelNotConfigured(f"Model {name!r} is not configured in this project: {how}")


def spec_of(model: ProjectModel, provider: ModelProvider, *, cipher: Cipher) -> ModelSpec:
    """The spec of a registered model on its provider (the key decrypted)."""
    key = provider.api_key_encrypted
    effort: ReasoningEffort | None = model.reasoning_effort  # type: ignore[assignment]
    return ModelSpec(
        name=model.name,
        provider=_kind(provider.kind),
        model=model.model,
        api_key="" if key is None else cipher.decrypt(key),
        base_url=provider.base_url,
        settings=ModelSettings(
            temperature=model.temperature, max_tokens=model.max_tokens, reasoning_effort=effort
        ),
        pricing=Pricing(model.input_price_per_million, model.output_price_per_million),
        timeout_seconds=provider.timeout_seconds,
        max_retries=provider.max_retries,
    )


def _kind(kind: str) -> ProviderKind:
    for known in _KINDS:
        if kind == known:
            return known
    raise ValueError(f"unknown provider kind {kind!r}")


def local_spec(settings: Settings, name: str) -> ModelSpec:
    """The local model server answering ``name`` (over the OpenAI wire protocol)."""
    return ModelSpec(
        name=name,
        provider="openai",
        model=name,
        api_key=LOCAL_API_KEY,
        base_url=settings.local_model_url("openai"),
    )
