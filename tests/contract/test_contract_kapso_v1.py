"""Threadline's real responses, checked against the Kapso v1 reference OpenAPI specs.

The YAML files are read in place from ``<repo>/../shared/reference/kapso-v1/openapi``.
Without them these tests are skipped, except under ``CI=true``, where that is a failure.

:func:`assert_matches` finds the response schema the spec declares for an operation and a
status and validates a body with ``OAS30Validator`` (``nullable``, ``format: uuid`` and
``date-time`` included), resolving ``$ref`` inside the spec file with ``referencing``. The
reference schemas declare almost no ``required`` lists, so it also checks that every field
they declare is present, down to the fields of the fields of ``data``.
"""

from __future__ import annotations

import copy
import functools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from builders import (
    add_api_trigger,
    ask_and_reply,
    chain,
    create_active_flow,
    create_flow,
    create_project,
    node,
    resume,
    run_jobs,
    start_execution,
)
from threadline.kit.resources import Resources

REPO_ROOT = Path(__file__).parents[2]
REFERENCE = REPO_ROOT.parent / "shared" / "reference"
OPENAPI_DIR = REFERENCE / "kapso-v1" / "openapi"
IN_CI = os.environ.get("CI", "").lower() == "true"

AGENTS = "openapi-agents.yaml"  # flows, triggers, executions
CORE = "openapi.yaml"  # projects
PLATFORM = "openapi-platform.yaml"

#: How deep declared fields must be present: the envelope (0), ``data`` (1), its fields (2).
PRESENCE_DEPTH = 2


# The reference specs


@dataclass(frozen=True)
class Spec:
    """One reference OpenAPI document and a registry to resolve ``$ref`` within it."""

    name: str
    document: dict[str, Any]

    @property
    def uri(self) -> str:
        return f"urn:kapso-v1:{self.name}"

    @functools.cached_property
    def registry(self) -> Registry[Any]:
        return Registry().with_resource(
            self.uri, Resource(contents=self.document, specification=DRAFT4)
        )

    @property
    def schemas(self) -> dict[str, Any]:
        schemas: dict[str, Any] = self.document.get("components", {}).get("schemas", {})
        return schemas

    def with_schemas(self, extra: dict[str, Any]) -> Spec:
        """A copy whose ``components/schemas`` also holds ``extra``."""
        document = copy.deepcopy(self.document)
        document.setdefault("components", {}).setdefault("schemas", {}).update(extra)
        return Spec(self.name, document)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """``schema`` with its (local) ``$ref`` followed."""
        while "$ref" in schema:
            ref = schema["$ref"]
            assert ref.startswith("#/"), f"{self.name}: non-local $ref {ref}"
            target: Any = self.document
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    pytest.fail(f"{self.name}: dangling $ref {ref}")
                target = target[part]
            schema = target
        return schema


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


@functools.cache
def _read(name: str) -> Spec | str:
    path = OPENAPI_DIR / name
    if not path.is_file():
        return f"Kapso v1 reference spec not found at {path}"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return Spec(name, yaml.load(path.read_text(encoding="utf-8"), Loader=loader))


def load_spec(name: str) -> Spec:
    """A reference spec; skips the test without it (fails under ``CI=true``)."""
    spec = _read(name)
    if isinstance(spec, str):
        if IN_CI:
            pytest.fail(f"{spec} (the reference is required under CI=true)")
        pytest.skip(spec)
    return spec


def _referenced_schemas(spec: Spec, schema: Any) -> set[str]:
    """Names of the component schemas ``schema`` refers to, transitively."""
    found: set[str] = set()
    pending = [schema]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            prefix = "#/components/schemas/"
            if isinstance(ref, str) and ref.startswith(prefix):
                name = ref[len(prefix) :]
                if name not in found and name in spec.schemas:
                    found.add(name)
                    pending.append(spec.schemas[name])
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def project_spec() -> Spec:
    """``openapi.yaml`` with its ``Project`` schema made resolvable, explicitly.

    ``GET /projects/{project_id}`` answers ``{data: {$ref: '#/components/schemas/Project'}}``
    but ``openapi.yaml`` defines no ``Project`` schema: the ``$ref`` dangles. If the core
    spec gains one, it is used. Else, if the platform spec defines ``Project``, that
    definition (and the schemas it refers to) is borrowed. Neither did when this was
    written, so ``Project`` is then taken as any object: only ``{data: object}`` is checked.
    """
    core = load_spec(CORE)
    if "Project" in core.schemas:
        return core
    platform = load_spec(PLATFORM)
    if "Project" in platform.schemas:
        names = {"Project"} | _referenced_schemas(platform, platform.schemas["Project"])
        borrowed = {name: platform.schemas[name] for name in names if name not in core.schemas}
        return core.with_schemas(borrowed)
    return core.with_schemas({"Project": {"type": "object"}})


# The assertion


def _declared(spec: Spec, schema: dict[str, Any]) -> dict[str, Any]:
    """The properties an object schema declares, through ``$ref`` and ``allOf``."""
    schema = spec.resolve(schema)
    declared = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        declared.update(_declared(spec, part))
    return declared


def _absent(
    spec: Spec, schema: dict[str, Any], value: Any, where: str, depth: int
) -> Iterator[str]:
    schema = spec.resolve(schema)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from _absent(spec, schema["items"], item, f"{where}[{index}]", depth)
    elif isinstance(value, dict) and depth <= PRESENCE_DEPTH:
        for name, field_schema in _declared(spec, schema).items():
            if name not in value:
                yield f"{where}.{name}"
            else:
                yield from _absent(spec, field_schema, value[name], f"{where}.{name}", depth + 1)


def assert_matches(spec: Spec, path_template: str, method: str, status: int, body: Any) -> None:
    """``body`` is what ``spec`` declares for the ``status`` answer of ``method path_template``.

    Fails loudly when the spec has no such operation or declares no such status, when the
    spec declares no body but one came (or the reverse), when the body does not validate,
    and when a field the schema declares is absent (see ``PRESENCE_DEPTH``).
    """
    method = method.lower()
    operation = spec.document.get("paths", {}).get(path_template, {}).get(method)
    if operation is None:
        pytest.fail(f"{spec.name} has no operation {method.upper()} {path_template}")
    responses = {str(code): answer for code, answer in operation.get("responses", {}).items()}
    if str(status) not in responses:
        pytest.fail(
            f"{spec.name}: {method.upper()} {path_template} declares no {status} response "
            f"(it declares {sorted(responses)})"
        )
    content = responses[str(status)].get("content")
    if not content:
        assert body in (None, b"", ""), f"{status} declares no body, but got {body!r}"
        return
    if "application/json" not in content or "schema" not in content["application/json"]:
        pytest.fail(f"{spec.name}: {status} of {method.upper()} {path_template} has no JSON schema")
    pointer = _pointer(
        "paths", path_template, method, "responses", str(status), "content", "application/json"
    )
    schema_ref = {"$ref": f"{spec.uri}#{quote(pointer + '/schema')}"}
    validator = OAS30Validator(
        schema_ref, registry=spec.registry, format_checker=oas30_format_checker
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [
            f"  {'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}" for e in errors
        ]
        pytest.fail(
            f"{status} of {method.upper()} {path_template} does not match {spec.name}:\n"
            + "\n".join(lines)
        )
    schema = content["application/json"]["schema"]
    absent = list(_absent(spec, schema, body, "<body>", 0))
    assert not absent, f"{status} of {method.upper()} {path_template} lacks declared {absent}"


def check(spec: Spec, path_template: str, response: httpx.Response) -> None:
    """:func:`assert_matches` for a real response (its method, status and body)."""
    body = response.json() if response.content else None
    assert_matches(spec, path_template, response.request.method, response.status_code, body)


# The helper itself fails loudly


def test_assert_matches_fails_loudly() -> None:
    spec = load_spec(AGENTS)
    flow = {
        "id": str(uuid.uuid4()),
        "name": "F",
        "description": None,
        "status": "draft",
        "project_id": str(uuid.uuid4()),
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "created_by": None,
        "last_executed_at": None,
        "execution_count": 0,
    }
    assert_matches(spec, "/flows/{flow_id}", "GET", 200, {"data": flow})
    assert_matches(spec, "/triggers/{id}", "DELETE", 204, None)

    failures: list[tuple[str, str, int, Any]] = [
        ("/flows/{flow_id}/nothing", "GET", 200, {}),  # no such path
        ("/flows/{flow_id}", "DELETE", 200, {}),  # no such method
        ("/flows/{flow_id}", "GET", 418, {}),  # undeclared status
        ("/flows/{flow_id}", "GET", 200, {"data": {**flow, "status": "paused"}}),
        ("/flows/{flow_id}", "GET", 200, {"data": {**flow, "id": "flow-123abc"}}),
        ("/flows/{flow_id}", "GET", 200, {"data": {**flow, "created_at": "yesterday"}}),
        ("/flows/{flow_id}", "GET", 200, {"data": {**flow, "name": None}}),
        ("/flows/{flow_id}", "GET", 200, {"data": {k: v for k, v in flow.items() if k != "name"}}),
        ("/flows/{flow_id}", "GET", 404, {"error": "x", "status": "404", "message": "m"}),
        ("/triggers/{id}", "DELETE", 204, {"data": {}}),  # a body where none is declared
    ]
    for path, method, status, body in failures:
        with pytest.raises((pytest.fail.Exception, AssertionError)):
            assert_matches(spec, path, method, status, body)


def test_a_missing_reference_skips_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(globals(), "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="not found"):
        load_spec("no-such-spec.yaml")
    monkeypatch.setitem(globals(), "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        load_spec("no-such-spec.yaml")


def test_the_project_schema_is_resolved_explicitly() -> None:
    spec = project_spec()
    assert "Project" in spec.schemas
    assert_matches(spec, "/projects/{project_id}", "GET", 200, {"data": {"id": "p"}})
    with pytest.raises((pytest.fail.Exception, AssertionError)):
        assert_matches(spec, "/projects/{project_id}", "GET", 200, {"data": "not an object"})


# The endpoints


NO_KEY = {"X-API-Key": "tl_wrong"}


async def test_contract_get_project(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = project_spec()
    project = await create_project(resources, sandbox_url)
    path = "/projects/{project_id}"
    ok = await client.get(f"/api/v1/projects/{project.id}", headers=project.headers)
    assert ok.status_code == 200
    check(spec, path, ok)
    missing = await client.get(f"/api/v1/projects/{uuid.uuid4()}", headers=project.headers)
    assert missing.status_code == 404
    check(spec, path, missing)
    unauthorized = await client.get(f"/api/v1/projects/{project.id}", headers=NO_KEY)
    assert unauthorized.status_code == 401
    check(spec, path, unauthorized)


async def test_contract_flows_list_and_create(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = load_spec(AGENTS)
    project = await create_project(resources, sandbox_url)
    h = project.headers

    bare = await client.post("/api/v1/flows", headers=h, json={"flow": {"name": "Bare"}})
    assert bare.status_code == 201
    check(spec, "/flows", bare)
    full = await client.post(
        "/api/v1/flows",
        headers=h,
        json={"flow": {"name": "Full", "description": "d", "definition": ask_and_reply()}},
    )
    assert full.status_code == 201
    check(spec, "/flows", full)
    flow_id = full.json()["data"]["id"]
    await add_api_trigger(client, project, flow_id)
    activate = {"flow": {"status": "active"}}
    await client.patch(f"/api/v1/flows/{flow_id}", headers=h, json=activate)
    await start_execution(client, project, flow_id)

    for params in ({}, {"q[status_eq]": "active"}, {"q[status_eq]": "archived"}):
        listed = await client.get("/api/v1/flows", headers=h, params=params)
        assert listed.status_code == 200
        check(spec, "/flows", listed)
    assert len((await client.get("/api/v1/flows", headers=h)).json()["data"]) == 2

    invalid_bodies = [
        {"flow": {"name": "Broken", "definition": {"nodes": [node("a", "send_text")]}}},
        {"flow": {"name": 5}},
        {"flow": {"description": "no name"}},
        {"name": "no root key"},
    ]
    for body in invalid_bodies:
        invalid = await client.post("/api/v1/flows", headers=h, json=body)
        assert invalid.status_code == 422
        check(spec, "/flows", invalid)
    for method in ("GET", "POST"):
        unauthorized = await client.request(
            method, "/api/v1/flows", headers=NO_KEY, json={"flow": {"name": "x"}}
        )
        assert unauthorized.status_code == 401
        check(spec, "/flows", unauthorized)


async def test_contract_flow_get_patch_and_definition(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = load_spec(AGENTS)
    project = await create_project(resources, sandbox_url)
    h = project.headers
    empty = await create_flow(client, project, name="Empty")
    definition = ask_and_reply()
    definition["nodes"][1]["position"] = {"x": 1, "y": 2.5}
    definition["nodes"][1]["data"]["display_name"] = "Ask"
    definition["edges"][0]["id"] = "e1"
    full = await create_flow(client, project, name="Full", definition=definition)
    unknown = uuid.uuid4()

    for flow in (empty, full):
        got = await client.get(f"/api/v1/flows/{flow['id']}", headers=h)
        assert got.status_code == 200
        check(spec, "/flows/{flow_id}", got)
        with_definition = await client.get(f"/api/v1/flows/{flow['id']}/definition", headers=h)
        assert with_definition.status_code == 200
        check(spec, "/flows/{flow_id}/definition", with_definition)

    for fields in ({"name": "Renamed"}, {"description": None}, {"status": "active"}, {}):
        patched = await client.patch(
            f"/api/v1/flows/{full['id']}", headers=h, json={"flow": fields}
        )
        assert patched.status_code == 200
        check(spec, "/flows/{flow_id}", patched)
    for body in (
        {"flow": {"status": "active"}},  # no definition yet
        {"flow": {"definition": {"nodes": []}}},
        {"flow": {"name": ""}},
    ):
        refused = await client.patch(f"/api/v1/flows/{empty['id']}", headers=h, json=body)
        assert refused.status_code == 422
        check(spec, "/flows/{flow_id}", refused)

    for method, suffix in (("GET", ""), ("PATCH", ""), ("GET", "/definition")):
        template = "/flows/{flow_id}" + suffix
        body = {"flow": {"name": "x"}} if method == "PATCH" else None
        missing = await client.request(
            method, f"/api/v1/flows/{unknown}{suffix}", headers=h, json=body
        )
        assert missing.status_code == 404
        check(spec, template, missing)
        unauthorized = await client.request(
            method, f"/api/v1/flows/{full['id']}{suffix}", headers=NO_KEY, json=body
        )
        assert unauthorized.status_code == 401
        check(spec, template, unauthorized)


#: AI fields as the builder SDK 0.4.0 emits them (kapso_sdk.md 1.2, 1.3 and 1.5): the
#: marker, each prompt by field path, a template's keyed under both parameter names.
_SDK_AI_FIELDS: dict[str, Any] = {
    "nodes": [
        {"id": "start", "type": "flow-node", "data": {"node_type": "start", "config": {}}},
        {
            "id": "reply",
            "type": "flow-node",
            "data": {
                "node_type": "send_text",
                "config": {
                    "message": {"$ai": {}},
                    "ai_field_config": {
                        "message": {"mode": "prompt", "prompt": "Summarize the order status"}
                    },
                    "provider_model_name": "claude-sonnet-4-20250514",
                },
            },
        },
        {
            "id": "update",
            "type": "flow-node",
            "data": {
                "node_type": "send_template",
                "config": {
                    "template_id": "tmpl_1",
                    "parameters": {"1": "John", "2": {"$ai": {}}},
                    "template_params": {"1": "John", "2": {"$ai": {}}},
                    "ai_field_config": {
                        "parameters.2": {"mode": "prompt", "prompt": "order id"},
                        "template_params.2": {"mode": "prompt", "prompt": "order id"},
                    },
                    "provider_model_name": "m",
                },
            },
        },
        {
            "id": "menu",
            "type": "flow-node",
            "data": {
                "node_type": "send_interactive",
                "config": {
                    "interactive_type": "button",
                    "body_text": {"$ai": {}},
                    "header_type": "text",
                    "header_text": "Support Menu",
                    "footer_text": {"$ai": {}},
                    "buttons": [{"id": "support", "title": "Support"}],
                    "ai_field_config": {
                        "body_text": {"mode": "prompt", "prompt": "Create a greeting"},
                        "footer_text": {"mode": "prompt", "prompt": "A short sign-off"},
                    },
                    "provider_model_name": "m",
                },
            },
        },
    ],
    "edges": [
        {"source": "start", "target": "reply", "label": "next"},
        {"source": "reply", "target": "update", "label": "next"},
        {"source": "update", "target": "menu", "label": "next"},
    ],
}


async def test_contract_sdk_ai_fields_are_accepted_and_round_trip(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = load_spec(AGENTS)
    project = await create_project(resources, sandbox_url)
    body = {"flow": {"name": "AI fields", "definition": copy.deepcopy(_SDK_AI_FIELDS)}}
    created = await client.post("/api/v1/flows", headers=project.headers, json=body)
    assert created.status_code == 201, created.text
    check(spec, "/flows", created)
    flow_id = created.json()["data"]["id"]
    stored = await client.get(f"/api/v1/flows/{flow_id}/definition", headers=project.headers)
    assert stored.status_code == 200
    check(spec, "/flows/{flow_id}/definition", stored)
    definition = stored.json()["data"]["definition"]
    assert definition["edges"] == _SDK_AI_FIELDS["edges"]
    sent = {n["id"]: n["data"] for n in _SDK_AI_FIELDS["nodes"]}
    assert {
        n["id"]: {k: n["data"][k] for k in ("node_type", "config")} for n in definition["nodes"]
    } == sent


async def test_contract_triggers(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = load_spec(AGENTS)
    project = await create_project(resources, sandbox_url)
    h = project.headers
    flow = await create_flow(client, project)
    collection = f"/api/v1/flows/{flow['id']}/triggers"

    created = await client.post(
        collection, headers=h, json={"trigger": {"trigger_type": "api_call"}}
    )
    assert created.status_code == 201
    check(spec, "/flows/{flow_id}/triggers", created)
    trigger_id = created.json()["data"]["id"]
    for body in (
        {"trigger": {"trigger_type": "inbound_message", "pattern": "("}},
        {"trigger": {"trigger_type": "cron"}},
        {"trigger_type": "api_call"},
    ):
        refused = await client.post(collection, headers=h, json=body)
        assert refused.status_code == 422
        check(spec, "/flows/{flow_id}/triggers", refused)
    listed = await client.get(collection, headers=h)
    assert listed.status_code == 200
    check(spec, "/flows/{flow_id}/triggers", listed)

    item = f"/api/v1/triggers/{trigger_id}"
    patched = await client.patch(item, headers=h, json={"trigger": {"active": False}})
    assert patched.status_code == 200
    check(spec, "/triggers/{id}", patched)
    refused = await client.patch(item, headers=h, json={"trigger": {"active": "maybe"}})
    assert refused.status_code == 422
    check(spec, "/triggers/{id}", refused)

    for method in ("PATCH", "DELETE"):
        body = {"trigger": {"active": True}} if method == "PATCH" else None
        unauthorized = await client.request(method, item, headers=NO_KEY, json=body)
        assert unauthorized.status_code == 401
        check(spec, "/triggers/{id}", unauthorized)
    deleted = await client.delete(item, headers=h)
    assert deleted.status_code == 204
    check(spec, "/triggers/{id}", deleted)
    for method in ("PATCH", "DELETE"):
        body = {"trigger": {"active": True}} if method == "PATCH" else None
        gone = await client.request(method, item, headers=h, json=body)
        assert gone.status_code == 404
        check(spec, "/triggers/{id}", gone)

    unknown_flow = f"/api/v1/flows/{uuid.uuid4()}/triggers"
    for method in ("GET", "POST"):
        body = {"trigger": {"trigger_type": "api_call"}} if method == "POST" else None
        missing = await client.request(method, unknown_flow, headers=h, json=body)
        assert missing.status_code == 404
        check(spec, "/flows/{flow_id}/triggers", missing)
        unauthorized = await client.request(method, collection, headers=NO_KEY, json=body)
        assert unauthorized.status_code == 401
        check(spec, "/flows/{flow_id}/triggers", unauthorized)


async def test_contract_executions(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = load_spec(AGENTS)
    project = await create_project(resources, sandbox_url)
    h = project.headers
    flow_id = await create_active_flow(client, project, ask_and_reply())
    collection = f"/api/v1/flows/{flow_id}/executions"
    body = {"phone_number": "+15550001111", "variables": {"a": 1}, "context": {"b": [1]}}

    created = await client.post(collection, headers=h, json=body)
    assert created.status_code == 202
    check(spec, "/flows/{flow_id}/executions", created)
    waiting = await start_execution(client, project, flow_id)
    to_end = await start_execution(client, project, flow_id)
    assert (await resume(client, project, to_end["id"], {"input": "x"})).status_code == 200
    await run_jobs(resources)

    for params in ({}, {"q[status_eq]": 1}, {"q[status_eq]": 2}, {"per_page": 1, "page": 2}):
        listed = await client.get(collection, headers=h, params=params)
        assert listed.status_code == 200
        check(spec, "/flows/{flow_id}/executions", listed)
    for execution_id in (waiting["id"], to_end["id"]):
        got = await client.get(f"/api/v1/flow_executions/{execution_id}", headers=h)
        assert got.status_code == 200
        check(spec, "/flow_executions/{execution_id}", got)

    resume_path = "/flow_executions/{execution_id}/resume"
    resumed = await resume(client, project, waiting["id"], {"input": "yes"})
    assert resumed.status_code == 200
    check(spec, resume_path, resumed)
    not_waiting = await resume(client, project, to_end["id"], {"input": "late"})
    assert not_waiting.status_code == 422
    check(spec, resume_path, not_waiting)
    missing = await resume(client, project, str(uuid.uuid4()), {"input": "x"})
    assert missing.status_code == 404
    check(spec, resume_path, missing)
    unauthorized = await client.post(
        f"/api/v1/flow_executions/{waiting['id']}/resume", headers=NO_KEY, json={}
    )
    assert unauthorized.status_code == 401
    check(spec, resume_path, unauthorized)

    unknown = uuid.uuid4()
    reads = {
        f"/api/v1/flow_executions/{unknown}": "/flow_executions/{execution_id}",
        f"/api/v1/flows/{unknown}/executions": "/flows/{flow_id}/executions",
    }
    for path, template in reads.items():
        missing = await client.get(path, headers=h)
        assert missing.status_code == 404
        check(spec, template, missing)
        unauthorized = await client.get(path, headers=NO_KEY)
        assert unauthorized.status_code == 401
        check(spec, template, unauthorized)
    unknown_flow = await client.post(f"/api/v1/flows/{unknown}/executions", headers=h, json=body)
    assert unknown_flow.status_code == 404
    check(spec, "/flows/{flow_id}/executions", unknown_flow)
    unauthorized = await client.post(collection, headers=NO_KEY, json=body)
    assert unauthorized.status_code == 401
    check(spec, "/flows/{flow_id}/executions", unauthorized)
    unknown_config = await client.post(
        collection, headers=h, json={**body, "whatsapp_config_id": str(uuid.uuid4())}
    )
    assert unknown_config.status_code == 422
    check(spec, "/flows/{flow_id}/executions", unknown_config)


async def test_contract_create_execution_on_an_inactive_flow(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = load_spec(AGENTS)
    project = await create_project(resources, sandbox_url)
    draft = await create_flow(client, project, definition=ask_and_reply())
    await add_api_trigger(client, project, draft["id"])
    refused = await client.post(
        f"/api/v1/flows/{draft['id']}/executions",
        headers=project.headers,
        json={"phone_number": "+15550001111"},
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "Flow is not active"
    assert isinstance(refused.json()["details"], str)
    check(spec, "/flows/{flow_id}/executions", refused)


async def test_contract_create_execution_with_an_invalid_phone_number(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = load_spec(AGENTS)
    project = await create_project(resources, sandbox_url)
    flow_id = await create_active_flow(
        client, project, chain(node("start", "start"), node("hi", "send_text", message="Hi"))
    )
    refused = await client.post(
        f"/api/v1/flows/{flow_id}/executions",
        headers=project.headers,
        json={"phone_number": "555-0100"},
    )
    assert refused.status_code == 422
    check(spec, "/flows/{flow_id}/executions", refused)


# Paged lists: the reference's list answers carry ``meta`` as its ``PaginationMeta``


def check_page_meta(response: httpx.Response) -> None:
    """The ``meta`` of a list answer is the reference's ``PaginationMeta``, every field set."""
    spec = load_spec(PLATFORM)
    schema = {"$ref": f"{spec.uri}#/components/schemas/PaginationMeta"}
    meta = response.json().get("meta")
    assert isinstance(meta, dict), f"{response.request.url} answered no meta"
    validator = OAS30Validator(schema, registry=spec.registry, format_checker=oas30_format_checker)
    errors = [error.message for error in validator.iter_errors(meta)]
    assert not errors, errors
    absent = list(_absent(spec, spec.schemas["PaginationMeta"], meta, "meta", 0))
    assert not absent, absent


async def test_contract_paged_lists_answer_with_reference_meta(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = load_spec(AGENTS)
    project = await create_project(resources, sandbox_url)
    h = project.headers
    flow_id = await create_active_flow(client, project, ask_and_reply())
    execution = await start_execution(client, project, flow_id)
    page = {"page": 1, "per_page": 1}
    lists = {
        "/api/v1/flows": "/flows",
        f"/api/v1/flows/{flow_id}/triggers": "/flows/{flow_id}/triggers",
        f"/api/v1/flows/{flow_id}/executions": "/flows/{flow_id}/executions",
    }
    for path, template in lists.items():
        for params in ({}, page):
            listed = await client.get(path, headers=h, params=params)
            assert listed.status_code == 200, listed.text
            check(spec, template, listed)
            check_page_meta(listed)
    by_tracking = await client.get(
        f"/api/v1/flows/{flow_id}/executions",
        headers=h,
        params={"q[tracking_id_eq]": execution["tracking_id"]},
    )
    check(spec, "/flows/{flow_id}/executions", by_tracking)
    check_page_meta(by_tracking)
    assert [e["id"] for e in by_tracking.json()["data"]] == [execution["id"]]
    events = await client.get(f"/api/v1/flow_executions/{execution['id']}/events", headers=h)
    check_page_meta(events)


async def test_contract_create_execution_without_an_api_trigger(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = load_spec(AGENTS)
    project = await create_project(resources, sandbox_url)
    flow = await create_flow(client, project, definition=ask_and_reply(), status="active")
    refused = await client.post(
        f"/api/v1/flows/{flow['id']}/executions",
        headers=project.headers,
        json={"phone_number": "+15550001111"},
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "Flow has no active API trigger"
    assert "/triggers" in refused.json()["details"]
    check(spec, "/flows/{flow_id}/executions", refused)
