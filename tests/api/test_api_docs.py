"""Threadline documents its own API: Swagger UI at ``/docs`` and the schema at ``/openapi.json``."""

from __future__ import annotations

import httpx

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
