"""The registry's endpoints in the OpenAPI document, and their examples valid as bodies."""

from __future__ import annotations

from typing import Any

import httpx

from threadline.models_registry import examples
from threadline.models_registry.schemas import ModelProviderCreate, ProjectModelCreate


def test_the_documented_examples_are_valid_bodies() -> None:
    for example in examples.PROVIDER_BODY.values():
        ModelProviderCreate.model_validate(example["value"])
    for example in examples.MODEL_BODY.values():
        ProjectModelCreate.model_validate(example["value"])


async def test_the_registry_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    schema: dict[str, Any] = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    for path in ("/model_providers", "/project_models", "/model_usage", "/model_calls"):
        assert f"/api/v1{path}" in paths
    create = paths["/api/v1/model_providers"]["post"]["requestBody"]["content"]
    assert set(create["application/json"]["examples"]) == set(examples.PROVIDER_BODY)
    shown = schema["components"]["schemas"]["ModelProviderOut"]["properties"]
    assert "api_key_set" in shown and "api_key" not in shown
