"""Request examples of the model registry, shown in the OpenAPI document."""

from __future__ import annotations

from typing import Any

PROVIDER_BODY: dict[str, Any] = {
    "anthropic": {
        "summary": "Anthropic's API, with a key (write-only: never shown again)",
        "value": {
            "model_provider": {"name": "anthropic", "kind": "anthropic", "api_key": "sk-..."}
        },
    },
    "compatible": {
        "summary": "An OpenAI-compatible server at a public URL",
        "value": {
            "model_provider": {
                "name": "together",
                "kind": "openai",
                "base_url": "https://api.together.xyz/v1",
                "api_key": "tg-...",
                "timeout_seconds": 30,
                "max_retries": 2,
            }
        },
    },
}

MODEL_BODY: dict[str, Any] = {
    "default": {
        "summary": "The name flows and agents use, made the project's default",
        "value": {
            "project_model": {
                "name": "claude-sonnet",
                "provider_id": "0b6a4f0e-3f7e-4c3e-9d0a-2f6f1c9e8a11",
                "model": "claude-sonnet-4-5",
                "temperature": 0.2,
                "max_tokens": 4096,
                "input_price_per_million": 3,
                "output_price_per_million": 15,
                "is_default": True,
            }
        },
    }
}
