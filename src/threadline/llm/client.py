"""One model call, whatever the provider: dispatch, metrics, one log line.

The runtime calls :func:`complete` with a resolved :class:`ModelSpec`; the provider
module translates to its SDK and back. Every call is counted in
``threadline_model_call_duration_seconds`` (by provider and outcome: ``ok`` or the
error's class) and ``threadline_model_tokens`` (by provider and direction), and logged
once on ``threadline.llm`` with the model, outcome, duration and tokens: never the key,
never the prompt.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import cast

import httpx
from prometheus_client import Counter, Histogram

from threadline.kit.resources import Resources
from threadline.llm.errors import ModelError, ModelRejected
from threadline.llm.types import ModelReply, ModelRequest, ModelSpec, ProviderKind

log = logging.getLogger("threadline.llm")

ProviderCall = Callable[..., Awaitable[ModelReply]]

#: The module of each provider, imported on first use: the vendors' SDKs take a second
#: or more to import, which a process that never calls a model (and every worker's start)
#: should not pay.
PROVIDER_MODULES: dict[ProviderKind, str] = {
    "openai": "threadline.llm.openai_provider",
    "anthropic": "threadline.llm.anthropic_provider",
}

MODEL_CALL_DURATION = Histogram(
    "threadline_model_call_duration_seconds",
    "Time of a model call (SDK retries included), by provider and outcome.",
    ["provider", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120),
)
MODEL_TOKENS = Counter(
    "threadline_model_tokens",
    "Tokens used by model calls, by provider and direction (input, output).",
    ["provider", "direction"],
)


def http_for(spec: ModelSpec, resources: Resources) -> httpx.AsyncClient:
    """The client ``spec``'s calls go through: the egress-checked ``calls`` for a URL a
    user gave; ``http`` for the vendor's own URL and this deployment's local model
    server (the egress policy refuses this server's own address, by design)."""
    if spec.base_url is None or resources.settings.is_local_model_url(spec.base_url):
        return resources.http
    return resources.calls


async def complete(
    spec: ModelSpec, request: ModelRequest, *, http: httpx.AsyncClient
) -> ModelReply:
    """Ask ``spec``'s model; raises a :class:`~threadline.llm.errors.ModelError`."""
    provider = _provider(spec.provider)
    started = time.perf_counter()
    try:
        if not spec.api_key and spec.base_url is None:
            raise ModelRejected("the model has no API key (the vendor's API needs one)")
        reply = await provider(spec, request, http=http)
    except ModelError as error:
        _record(spec, type(error).__name__, time.perf_counter() - started, None, error)
        raise
    _record(spec, "ok", time.perf_counter() - started, reply, None)
    return reply


def load_providers() -> None:
    """Import every provider's SDK now: a process that will make model calls (a worker)
    pays the import at its start, not by stalling its event loop at the first call."""
    for module in PROVIDER_MODULES.values():
        importlib.import_module(module)


def _provider(kind: ProviderKind) -> ProviderCall:
    module = PROVIDER_MODULES.get(kind)
    if module is None:
        raise ValueError(f"unknown model provider {kind!r}")
    return cast(ProviderCall, importlib.import_module(module).complete)


def _record(
    spec: ModelSpec,
    outcome: str,
    seconds: float,
    reply: ModelReply | None,
    error: ModelError | None,
) -> None:
    MODEL_CALL_DURATION.labels(spec.provider, outcome).observe(seconds)
    facts: dict[str, object] = {
        "provider": spec.provider,
        "model_name": spec.name,
        "model": spec.model,
        "outcome": outcome,
        "duration_ms": round(seconds * 1000, 1),
    }
    if reply is not None:
        MODEL_TOKENS.labels(spec.provider, "input").inc(reply.usage.input_tokens)
        MODEL_TOKENS.labels(spec.provider, "output").inc(reply.usage.output_tokens)
        facts |= {
            "input_tokens": reply.usage.input_tokens,
            "output_tokens": reply.usage.output_tokens,
            "stop_reason": reply.stop_reason,
            "tool_calls": len(reply.tool_calls),
            "request_id": reply.request_id,
        }
    if error is not None:
        facts["error"] = str(error)
    log.log(logging.INFO if error is None else logging.WARNING, "model call", extra=facts)
