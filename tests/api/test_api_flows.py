"""Flows through the API: create, read, list, edit, activate, definitions and versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from builders import (
    add_api_trigger,
    ask_and_reply,
    chain,
    count_rows,
    create_flow,
    create_project,
    edge,
    node,
    resume,
    run_jobs,
    start_execution,
)
from threadline.kit.resources import Resources
from threadline.models import Flow, FlowVersion
from threadline.sandbox.state import SandboxState


def _texts(sandbox: SandboxState) -> list[str]:
    return [m.payload["text"]["body"] for m in sandbox.outbox if m.type == "text"]


async def _get(client: httpx.AsyncClient, headers: dict[str, str], path: str) -> dict[str, Any]:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_create_without_definition_is_an_empty_draft(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    created = await create_flow(client, project, name="Onboarding", description="Say hi")

    assert created["name"] == "Onboarding"
    assert created["description"] == "Say hi"
    assert created["status"] == "draft"
    assert created["project_id"] == project.id
    assert created["execution_count"] == 0
    assert created["last_executed_at"] is None
    assert created["created_by"] is None
    assert await _get(client, project.headers, f"/api/v1/flows/{created['id']}") == created

    with_definition = await _get(
        client, project.headers, f"/api/v1/flows/{created['id']}/definition"
    )
    assert with_definition["definition"] == {"nodes": [], "edges": []}
    assert with_definition["version"] is None


async def test_create_with_definition_stores_it_as_version_1(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    definition = {
        "nodes": [
            {
                "id": "start",
                "type": "flow-node",
                "position": {"x": 10, "y": 20.5},
                "data": {"node_type": "start", "config": {}},
            },
            {
                "id": "hello",
                "type": "flow-node",
                "position": {"x": 10, "y": 120},
                "data": {
                    "node_type": "send_text",
                    "display_name": "Say hello",
                    # Keys Threadline does not use are kept verbatim for the builder.
                    "config": {"message": "Hi {{vars.name}}", "provider_model_name": "x"},
                },
            },
        ],
        "edges": [{"id": "e1", "source": "start", "target": "hello", "label": "next"}],
    }
    created = await create_flow(client, project, definition=definition)
    assert created["status"] == "draft"

    stored = await _get(client, project.headers, f"/api/v1/flows/{created['id']}/definition")
    assert stored["version"] == 1
    assert stored["id"] == created["id"]
    nodes = {n["id"]: n for n in stored["definition"]["nodes"]}
    assert list(nodes) == ["start", "hello"]
    assert nodes["start"]["position"] == {"x": 10, "y": 20.5}
    hello = nodes["hello"]["data"]
    assert hello["node_type"] == hello["nodeType"] == "send_text"
    assert hello["display_name"] == hello["displayName"] == "Say hello"
    assert hello["config"] == {"message": "Hi {{vars.name}}", "provider_model_name": "x"}
    assert stored["definition"]["edges"] == [
        {"id": "e1", "source": "start", "target": "hello", "label": "next"}
    ]
    assert [c["phone_number"] for c in stored["whatsapp_configs"]] == ["+15550000001"]


async def test_list_filters_by_status(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    other = await create_project(resources, sandbox_url)
    await create_flow(client, other, name="Not mine")
    draft = await create_flow(client, project, name="Draft")
    active = await create_flow(
        client, project, name="Active", definition=ask_and_reply(), status="active"
    )
    archived = await create_flow(client, project, name="Archived")
    patched = await client.patch(
        f"/api/v1/flows/{archived['id']}",
        headers=project.headers,
        json={"flow": {"status": "archived"}},
    )
    assert patched.status_code == 200

    async def names(params: dict[str, str]) -> set[str]:
        response = await client.get("/api/v1/flows", headers=project.headers, params=params)
        assert response.status_code == 200, response.text
        return {flow["name"] for flow in response.json()["data"]}

    assert await names({}) == {"Draft", "Active", "Archived"}
    assert await names({"q[status_eq]": "draft"}) == {draft["name"]}
    assert await names({"q[status_eq]": "active"}) == {active["name"]}
    assert await names({"q[status_eq]": "archived"}) == {"Archived"}
    bogus = await client.get(
        "/api/v1/flows", headers=project.headers, params={"q[status_eq]": "paused"}
    )
    assert bogus.status_code == 422


async def test_patch_changes_only_the_fields_given(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project, name="Old", description="Old text")
    path = f"/api/v1/flows/{flow['id']}"

    async def patch(fields: dict[str, Any]) -> dict[str, Any]:
        response = await client.patch(path, headers=project.headers, json={"flow": fields})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    renamed = await patch({"name": "New"})
    assert (renamed["name"], renamed["description"]) == ("New", "Old text")
    assert datetime.fromisoformat(renamed["updated_at"]) >= datetime.fromisoformat(
        flow["updated_at"]
    )
    described = await patch({"description": "New text"})
    assert (described["name"], described["description"]) == ("New", "New text")
    cleared = await patch({"description": None})
    assert (cleared["name"], cleared["description"]) == ("New", None)
    assert (await patch({"status": "archived"}))["status"] == "archived"
    assert (await patch({"status": "draft"}))["status"] == "draft"
    untouched = await patch({})
    assert (untouched["name"], untouched["description"], untouched["status"]) == (
        "New",
        None,
        "draft",
    )
    assert await _get(client, project.headers, path) == untouched


async def test_activation_needs_a_definition(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project)
    path = f"/api/v1/flows/{flow['id']}"

    refused = await client.patch(
        path, headers=project.headers, json={"flow": {"status": "active", "name": "Renamed"}}
    )
    assert refused.status_code == 422
    assert "definition" in refused.json()["message"]
    after = await _get(client, project.headers, path)
    assert (after["status"], after["name"]) == ("draft", "Flow")

    created_active = await client.post(
        "/api/v1/flows",
        headers=project.headers,
        json={"flow": {"name": "Eager", "status": "active"}},
    )
    assert created_active.status_code == 422
    assert await count_rows(resources, Flow) == 1

    activated = await client.patch(
        path,
        headers=project.headers,
        json={"flow": {"definition": ask_and_reply(), "status": "active"}},
    )
    assert activated.status_code == 200, activated.text
    assert activated.json()["data"]["status"] == "active"


def _invalid_definition() -> dict[str, Any]:
    return {
        "nodes": [
            node("start", "start"),
            node("ask", "send_text"),
            node("wait", "wait_for_response", timeout_seconds=5, save_response_to="1st"),
            node(
                "menu",
                "send_interactive",
                body_text="Pick one",
                buttons=[{"id": "a", "title": "A"}, {"id": "a", "title": "B"}],
            ),
            node("orphan", "send_text", message="Nobody gets here"),
        ],
        "edges": [
            edge("start", "ask"),
            edge("ask", "wait"),
            edge("wait", "menu"),
            edge("menu", "ghost"),
        ],
    }


EXPECTED_PROBLEMS = {
    ("ask", "config.message"),
    ("wait", "config.timeout_seconds"),
    ("wait", "config.save_response_to"),
    ("menu", "config.buttons"),
    ("menu", "edges[3].target"),
    ("orphan", "id"),
}


def _problems(response: httpx.Response) -> set[tuple[str | None, str]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "Invalid flow definition"
    assert body["status"] == 422
    assert body["message"].startswith(f"{len(body['errors'])} problems")
    for detail in body["errors"]:
        assert isinstance(detail["message"], str) and detail["message"]
    return {(d["node_id"], d["field"]) for d in body["errors"]}


async def test_invalid_definition_on_create_lists_every_problem_and_stores_nothing(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    response = await client.post(
        "/api/v1/flows",
        headers=project.headers,
        json={"flow": {"name": "Broken", "definition": _invalid_definition()}},
    )
    assert _problems(response) == EXPECTED_PROBLEMS
    assert await count_rows(resources, Flow) == 0
    assert await count_rows(resources, FlowVersion) == 0


async def test_invalid_definition_on_patch_keeps_the_stored_one(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project, name="Good", definition=ask_and_reply())
    response = await client.patch(
        f"/api/v1/flows/{flow['id']}",
        headers=project.headers,
        json={"flow": {"name": "Renamed", "definition": _invalid_definition()}},
    )
    assert _problems(response) == EXPECTED_PROBLEMS

    stored = await _get(client, project.headers, f"/api/v1/flows/{flow['id']}/definition")
    assert (stored["name"], stored["version"]) == ("Good", 1)
    assert [n["id"] for n in stored["definition"]["nodes"]] == ["start", "ask", "wait", "reply"]
    assert await count_rows(resources, FlowVersion) == 1


MODEL_REQUIRED = "is required for AI decisions"


@pytest.mark.parametrize(
    ("ai_node", "field", "fragment"),
    [
        (
            node("think", "agent", system_prompt="Be helpful"),
            "config.provider_model_name",
            "Field required",
        ),
        (
            node("think", "decide", decision_type="ai", conditions=[{"label": "next"}]),
            "config.provider_model_name",
            MODEL_REQUIRED,
        ),
        (
            node("think", "decide", conditions=[{"label": "next"}]),
            "config.provider_model_name",
            MODEL_REQUIRED,
        ),
    ],
    ids=["agent", "decide-ai-without-model", "decide-default-ai-without-model"],
)
async def test_ai_nodes_missing_what_they_need_are_refused_with_a_clear_message(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox_url: str,
    ai_node: dict[str, Any],
    field: str,
    fragment: str,
) -> None:
    project = await create_project(resources, sandbox_url)
    definition = chain(node("start", "start"), ai_node, node("bye", "send_text", message="Bye"))
    response = await client.post(
        "/api/v1/flows",
        headers=project.headers,
        json={"flow": {"name": "AI", "definition": definition}},
    )
    assert response.status_code == 422, response.text
    details = response.json()["errors"]
    assert [(d["node_id"], d["field"]) for d in details] == [("think", field)]
    assert fragment in details[0]["message"]
    assert fragment in response.json()["message"]
    assert await count_rows(resources, Flow) == 0


async def test_an_ai_decide_with_its_model_and_an_error_edge_is_accepted(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    route = node(
        "route",
        "decide",
        provider_model_name="router",
        llm_temperature=0.0,
        llm_max_tokens=100,
        conditions=[{"label": "yes", "description": "agrees"}, {"label": "no"}],
    )
    definition = {
        "nodes": [
            node("start", "start"),
            route,
            *[node(n, "send_text", message=n) for n in ("yes", "no", "oops")],
        ],
        "edges": [
            edge("start", "route"),
            *[edge("route", n, n) for n in ("yes", "no")],
            edge("route", "oops", "error"),
        ],
    }
    response = await client.post(
        "/api/v1/flows",
        headers=project.headers,
        json={"flow": {"name": "AI", "definition": definition}},
    )
    assert response.status_code == 201, response.text


async def test_a_new_definition_is_a_new_version_and_running_executions_keep_theirs(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(
        client, project, definition=ask_and_reply(reply="v1 got {{vars.answer}}")
    )
    await add_api_trigger(client, project, flow["id"])
    activate = {"flow": {"status": "active"}}
    path = f"/api/v1/flows/{flow['id']}"
    assert (await client.patch(path, headers=project.headers, json=activate)).status_code == 200
    old = await start_execution(client, project, flow["id"], phone="+15550000011")

    edited = await client.patch(
        path,
        headers=project.headers,
        json={"flow": {"definition": ask_and_reply(reply="v2 got {{vars.answer}}")}},
    )
    assert edited.status_code == 200, edited.text
    stored = await _get(client, project.headers, f"{path}/definition")
    assert stored["version"] == 2
    assert stored["definition"]["nodes"][-1]["data"]["config"]["message"] == (
        "v2 got {{vars.answer}}"
    )
    assert await count_rows(resources, FlowVersion) == 2

    new = await start_execution(client, project, flow["id"], phone="+15550000022")
    assert (await resume(client, project, old["id"], {"input": "old"})).status_code == 200
    assert (await resume(client, project, new["id"], {"input": "new"})).status_code == 200
    await run_jobs(resources)
    assert sorted(t for t in _texts(sandbox) if "got" in t) == ["v1 got old", "v2 got new"]


async def test_execution_count_and_last_executed_at_follow_executions(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project, definition=ask_and_reply(), status="active")
    await add_api_trigger(client, project, flow["id"])
    fresh = await _get(client, project.headers, f"/api/v1/flows/{flow['id']}")
    assert (fresh["execution_count"], fresh["last_executed_at"]) == (0, None)

    await start_execution(client, project, flow["id"])
    latest = await start_execution(client, project, flow["id"])

    for data in (
        await _get(client, project.headers, f"/api/v1/flows/{flow['id']}"),
        await _get(client, project.headers, f"/api/v1/flows/{flow['id']}/definition"),
        (await client.get("/api/v1/flows", headers=project.headers)).json()["data"][0],
    ):
        assert data["execution_count"] == 2
        assert datetime.fromisoformat(data["last_executed_at"]) == datetime.fromisoformat(
            latest["started_at"]
        )
