"""Registry rows as the API shows them: never a provider's key, only whether one is set."""

from __future__ import annotations

from decimal import Decimal

from threadline.models import ModelCall, ModelProvider, ProjectModel
from threadline.models_registry.schemas import ModelCallOut, ModelProviderOut, ProjectModelOut


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def describe_provider(provider: ModelProvider) -> ModelProviderOut:
    """One provider."""
    return ModelProviderOut(
        id=provider.id,
        name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        api_key_set=provider.api_key_encrypted is not None,
        api_key_hint=provider.api_key_hint,
        timeout_seconds=provider.timeout_seconds,
        max_retries=provider.max_retries,
        created_at=provider.created_at,
        updated_at=provider.updated_at,
    )


def describe_model(model: ProjectModel) -> ProjectModelOut:
    """One project model."""
    return ProjectModelOut(
        id=model.id,
        name=model.name,
        provider_id=model.provider_id,
        model=model.model,
        temperature=model.temperature,
        max_tokens=model.max_tokens,
        reasoning_effort=model.reasoning_effort,
        input_price_per_million=_number(model.input_price_per_million),
        output_price_per_million=_number(model.output_price_per_million),
        is_default=model.is_default,
        created_at=model.created_at,
        updated_at=model.updated_at,
    )


def describe_call(call: ModelCall) -> ModelCallOut:
    """One recorded call."""
    return ModelCallOut(
        id=call.id,
        model_name=call.model_name,
        provider=call.provider,
        model=call.model,
        subject_kind=call.subject_kind,
        subject_id=call.subject_id,
        status=call.status,
        error_class=call.error_class,
        error_message=call.error_message,
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens,
        cost=_number(call.cost),
        duration_ms=call.duration_ms,
        created_at=call.created_at,
    )
