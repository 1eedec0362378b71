"""Threadline documents its own API: Swagger UI at ``/docs`` and the schema at ``/openapi.json``."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from threadline.executions import examples as execution_examples
from threadline.executions.schemas import ExecutionCreate, ExecutionOut
from threadline.flows import examples as flow_examples
from threadline.flows.definition import validate_definition
from threadline.flows.node_configs import NODE_CONFIGS

# Every operation of the flows API, as Threadline's own schema must list it.
OPERATIONS = {
    "/api/v1/projects/{project_id}": {"get"},
    "/api/v1/flows": {"get", "post"},
    "/api/v1/flows/{flow_id}": {"get", "patch"},
    "/api/v1/flows/{flow_id}/definition": {"get"},
    "/api/v1/flows/{flow_id}/triggers": {"get", "post"},
    "/api/v1/triggers/{trigger_id}": {"patch", "delete"},
    "/api/v1/flows/{flow_id}/executions": {"get", "post"},
    "/api/v1/flow_executions/{execution_id}": {"get"},
    "/api/v1/flow_executions/{execution_id}/resume": {"post"},
    "/api/v1/flow_executions/{execution_id}/events": {"get"},
    "/api/v1/functions": {"get", "post"},
}


async def test_swagger_ui_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text
    assert "/openapi.json" in response.text


async def test_openapi_schema_lists_the_flows_api(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Threadline"
    paths = schema["paths"]
    for path, methods in OPERATIONS.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    create = paths["/api/v1/flows/{flow_id}/executions"]["post"]
    assert "202" in create["responses"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    listing = paths["/api/v1/flows/{flow_id}/executions"]["get"]
    assert {"q[status_eq]", "q[started_at_gteq]", "q[started_at_lteq]", "page", "per_page"} <= {
        p["name"] for p in listing["parameters"]
    }
    # Internal routes stay out of the schema.
    assert "/health" not in paths


# --- Offline docs and a documented contract (issue 5, item 15) ---

ERROR_STATUSES = {"401", "404", "409", "413", "422"}


async def _schema(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def _api_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
    ]


def _local_assets(html: str) -> list[str]:
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)
    assert urls, html
    return urls


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/sandbox/_sandbox/docs"])
async def test_docs_pages_load_every_asset_from_the_server(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert "cdn." not in response.text and "fonts.googleapis" not in response.text
    for url in _local_assets(response.text):
        assert url.startswith("/"), f"{page} loads {url} from another host"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url


async def test_openapi_declares_the_api_key_scheme_on_every_operation(
    client: httpx.AsyncClient,
) -> None:
    schema = await _schema(client)
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "apiKey", "in": "header", "name": "X-API-Key"}.items() <= next(
        iter(schemes.values())
    ).items()
    name = next(iter(schemes))
    for path, method, operation in _api_operations(schema):
        assert {name: []} in operation.get("security", []), (method, path)


async def test_every_operation_documents_the_error_answers(client: httpx.AsyncClient) -> None:
    schema = await _schema(client)
    components = schema["components"]["schemas"]
    for path, method, operation in _api_operations(schema):
        responses = operation["responses"]
        assert set(responses) >= ERROR_STATUSES, (method, path, set(responses))
        for status in ERROR_STATUSES:
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            error_schema = components[ref.rsplit("/", 1)[-1]]
            assert {"error", "status", "message"} <= set(error_schema["required"]), ref
        invalid = responses["422"]["content"]["application/json"]["schema"]["$ref"]
        assert {"details", "errors"} <= set(components[invalid.rsplit("/", 1)[-1]]["properties"])
    assert "HTTPValidationError" not in components, "FastAPI's 422 shape is not what we answer"


async def test_unauthorized_keeps_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/flows")
    assert response.status_code == 401
    assert set(response.json()) == {"error", "status", "message"}


def _example(content: dict[str, Any]) -> Any:
    media = content["application/json"]
    return media.get("example") or next(iter(media.get("examples", {}).values()))["value"]


async def test_main_operations_carry_request_and_response_examples(
    client: httpx.AsyncClient,
) -> None:
    paths = (await _schema(client))["paths"]
    create = paths["/api/v1/flows/{flow_id}/executions"]["post"]
    assert _example(create["requestBody"]["content"])["phone_number"].startswith("+")
    assert "tracking_id" in _example(create["responses"]["202"]["content"])
    resume = paths["/api/v1/flow_executions/{execution_id}/resume"]["post"]
    assert "input" in _example(resume["requestBody"]["content"])
    assert _example(resume["responses"]["200"]["content"])["data"]["status"]
    flow = paths["/api/v1/flows"]["post"]
    assert _example(flow["requestBody"]["content"])["flow"]["definition"]["nodes"]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


async def test_flow_definitions_have_a_schema_per_node_type(client: httpx.AsyncClient) -> None:
    schema = await _schema(client)
    fields = schema["components"]["schemas"]["FlowCreateFields"]["properties"]
    documented = next(o for o in fields["definition"]["anyOf"] if o.get("type") != "null")
    definition = _resolve(schema, documented)
    node = _resolve(schema, definition["properties"]["nodes"]["items"])
    data = node["properties"]["data"]
    mapping = data["discriminator"]["mapping"]
    assert set(mapping) == set(NODE_CONFIGS)
    send_text = _resolve(schema, {"$ref": mapping["send_text"]})
    config = _resolve(schema, send_text["properties"]["config"])
    text, ai_field = config["properties"]["message"]["oneOf"]  # a text, or an AI field
    assert text["maxLength"] == 4096 and ai_field["$ref"].endswith("/AIField")
    assert "message" in config["required"]


async def test_sandbox_control_plane_is_documented(client: httpx.AsyncClient) -> None:
    response = await client.get("/sandbox/_sandbox/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/_sandbox/outbox", "/_sandbox/failures", "/_sandbox/config", "/_sandbox/reset"} <= (
        set(paths)
    )
    main = await _schema(client)
    assert "/sandbox/_sandbox/docs" in main["info"]["description"]


def test_documented_examples_are_accepted_by_the_api() -> None:
    # The module's examples, not the rendered ones: FastAPI drops null members when it
    # renders the document, so required-but-null fields are missing from the JSON.
    flow = flow_examples.CREATE_BODY["with_definition"]["value"]
    validate_definition(flow["flow"]["definition"])
    ExecutionCreate.model_validate(execution_examples.CREATE_BODY["start"]["value"])
    resumed = execution_examples.RESUME_RESPONSES[200]["content"]["application/json"]
    ExecutionOut.model_validate(resumed["example"]["data"])
