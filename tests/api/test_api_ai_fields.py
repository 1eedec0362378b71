"""AI fields of send nodes: the node's model writes them (real HTTP to the local model
server) and the message reaches the sandbox user; a model that cannot write them fails
the execution with the reason; a definition with broken AI fields is refused whole."""

from __future__ import annotations

from typing import Any

import httpx

from agent_builders import script as replies
from builders import (
    AI_FIELD,
    ai_fields,
    chain,
    create_project,
    execution_events,
    node,
    run_flow,
)
from llm_builders import LiveModelServer, text_reply, tool_reply
from model_builders import create_provider
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

MODEL = "writer"
WRITE = "write_fields"


def _texts(sandbox: SandboxState) -> list[str]:
    return [m.payload["text"]["body"] for m in sandbox.outbox if m.type == "text"]


def _ai_text(prompt: str = "Greet the customer by name") -> dict[str, Any]:
    return node("greet", "send_text", message=AI_FIELD, **ai_fields(MODEL, {"message": prompt}))


async def _events(
    client: httpx.AsyncClient, project: Any, execution: dict[str, Any], kind: str
) -> list[dict[str, Any]]:
    events = await execution_events(client, project, execution["id"])
    return [e["data"] for e in events if e["kind"] == kind]


async def test_an_ai_message_reaches_the_user_as_the_model_wrote_it(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    # The written text is sent as it is: a {{...}} in it is not a template.
    written = "Hello Ana, your order {{vars.order}} ships today!"
    await model_server.load_script(MODEL, replies(tool_reply(WRITE, {"message": written})))
    project = await create_project(resources, sandbox_url)
    definition = chain(node("start", "start"), _ai_text(), node("bye", "send_text", message="Bye"))
    execution = await run_flow(
        client, resources, project, definition, variables={"name": "Ana", "order": "A-7"}
    )
    assert execution["status"] == "ended", execution
    assert _texts(sandbox) == [written, "Bye"]

    [asked] = await model_server.received()
    body = asked["body"]
    assert body["model"] == MODEL
    [tool] = body["tools"]
    parameters = tool["function"]["parameters"]
    assert parameters["required"] == ["message"]
    assert parameters["properties"]["message"]["maxLength"] == 4096
    assert "Greet the customer by name" in body["messages"][0]["content"]
    assert '"name": "Ana"' in body["messages"][-1]["content"]
    [logged] = await _events(client, project, execution, "ai_fields_written")
    assert logged == {"model": MODEL, "fields": {"message": written}}


async def test_an_ai_template_parameter_is_sent_with_the_rendered_ones(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.load_script(MODEL, replies(tool_reply(WRITE, {"parameters.1": "Friday"})))
    project = await create_project(resources, sandbox_url)
    parameters = ["{{vars.name}}", AI_FIELD]
    prompts = {"parameters.1": "When will it arrive?", "template_params.1": "When will it arrive?"}
    template = node(
        "update",
        "send_template",
        template_id="order_update",
        parameters=parameters,
        template_params=parameters,
        **ai_fields(MODEL, prompts),
    )
    definition = chain(node("start", "start"), template)
    execution = await run_flow(client, resources, project, definition, variables={"name": "Ana"})
    assert execution["status"] == "ended", execution
    [sent] = sandbox.outbox
    [component] = sent.payload["template"]["components"]
    assert component["parameters"] == [
        {"type": "text", "text": "Ana"},
        {"type": "text", "text": "Friday"},
    ]
    [asked] = await model_server.received()
    [tool] = asked["body"]["tools"]
    assert tool["function"]["parameters"]["required"] == ["parameters.1"]
    assert tool["function"]["parameters"]["properties"]["parameters.1"]["maxLength"] == 1024


async def test_an_ai_interactive_body_and_footer_are_written_at_once(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    answer = {"body_text": "Ana, pick a size", "footer_text": "Sizes run small"}
    await model_server.load_script(MODEL, replies(tool_reply(WRITE, answer)))
    project = await create_project(resources, sandbox_url)
    menu = node(
        "menu",
        "send_interactive",
        interactive_type="button",
        body_text=AI_FIELD,
        header_text="For {{vars.name}}",
        footer_text=AI_FIELD,
        buttons=[{"id": "s", "title": "Small"}, {"id": "l", "title": "Large"}],
        **ai_fields(MODEL, {"body_text": "Ask for a size", "footer_text": "A sizing tip"}),
    )
    execution = await run_flow(
        client, resources, project, chain(node("start", "start"), menu), variables={"name": "Ana"}
    )
    assert execution["status"] == "ended", execution
    [sent] = sandbox.outbox
    interactive = sent.payload["interactive"]
    assert interactive["body"] == {"text": "Ana, pick a size"}
    assert interactive["header"] == {"type": "text", "text": "For Ana"}
    assert interactive["footer"] == {"text": "Sizes run small"}
    [asked] = await model_server.received()
    [tool] = asked["body"]["tools"]
    properties = tool["function"]["parameters"]["properties"]
    assert {p: properties[p]["maxLength"] for p in properties} == {
        "body_text": 1024,
        "footer_text": 60,
    }


async def test_a_model_that_writes_no_fields_fails_the_execution_with_the_reason(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.load_script(MODEL, replies(text_reply("I cannot help with that.")))
    project = await create_project(resources, sandbox_url)
    definition = chain(node("start", "start"), _ai_text())
    execution = await run_flow(client, resources, project, definition)
    assert execution["status"] == "failed", execution
    message = execution["error"]["message"]
    assert f"model {MODEL} did not write the AI fields message" in message
    assert "I cannot help with that." in message
    assert execution["error"]["node_id"] == "greet"
    assert sandbox.outbox == []
    [logged] = await _events(client, project, execution, "error")
    assert logged["message"] == message


async def test_a_model_the_project_has_not_configured_fails_the_execution_with_how_to(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    project = await create_project(resources, sandbox_url)
    await create_provider(client, project)  # a registry of its own: no local model fallback
    execution = await run_flow(
        client, resources, project, chain(node("start", "start"), _ai_text())
    )
    assert execution["status"] == "failed", execution
    message = execution["error"]["message"]
    assert message.startswith("node 'greet' could not have its AI fields written: ")
    assert f"Model {MODEL!r} is not configured in this project" in message
    assert sandbox.outbox == [] and await model_server.received() == []


async def test_a_model_that_keeps_failing_fails_the_execution_with_the_reason(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    await model_server.inject("server_error", times=100)
    project = await create_project(resources, sandbox_url)
    execution = await run_flow(
        client, resources, project, chain(node("start", "start"), _ai_text())
    )
    assert execution["status"] == "failed", execution
    assert "could not have its AI fields written" in execution["error"]["message"]
    assert f"model {MODEL}" in execution["error"]["message"]
    assert sandbox.outbox == []


async def test_a_rate_limited_model_is_asked_again_and_the_message_sent(
    client: httpx.AsyncClient,
    resources: Resources,
    sandbox: SandboxState,
    sandbox_url: str,
    model_server: LiveModelServer,
) -> None:
    # The SDK's own retries (1 + max_retries attempts) all meet the 429: the job retries.
    await model_server.inject("rate_limited", times=3, retry_after=0)
    await model_server.load_script(MODEL, replies(tool_reply(WRITE, {"message": "Hi there"})))
    project = await create_project(resources, sandbox_url)
    execution = await run_flow(
        client, resources, project, chain(node("start", "start"), _ai_text())
    )
    assert execution["status"] == "ended", execution
    assert _texts(sandbox) == ["Hi there"]
    usage = await client.get(
        "/api/v1/model_usage",
        headers=project.headers,
        params={"q[subject_kind_eq]": "flow_execution", "q[subject_id_eq]": execution["id"]},
    )
    assert usage.status_code == 200, usage.text
    assert usage.json()["data"]["calls"] == 2  # the rate-limited call, then the answered one
    assert len(await model_server.received()) == 4


async def test_broken_ai_fields_are_refused_with_every_problem(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    menu = node(
        "menu",
        "send_interactive",
        body_text=AI_FIELD,
        header_text=AI_FIELD,
        buttons=[{"id": "a", "title": AI_FIELD}],
        ai_field_config={"body_text": {"mode": "generate", "prompt": " "}, "footer_text": {}},
    )
    definition = chain(node("start", "start"), _ai_text(prompt=""), menu)
    response = await client.post(
        "/api/v1/flows",
        headers=project.headers,
        json={"flow": {"name": "AI", "definition": definition}},
    )
    assert response.status_code == 422, response.text
    found = [(e["node_id"], e["field"]) for e in response.json()["errors"]]
    assert found == [
        ("greet", "config.ai_field_config.message.prompt"),
        ("menu", "config.buttons[0].title"),
        ("menu", "config.header_text"),
        ("menu", "config.ai_field_config.body_text.mode"),
        ("menu", "config.ai_field_config.body_text.prompt"),
        ("menu", "config.ai_field_config.footer_text"),
        ("menu", "config.ai_field_config.footer_text.prompt"),
        ("menu", "config.provider_model_name"),
    ]
