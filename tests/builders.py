"""Typed builders of test data: projects, flow definitions, flows ready to run."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

from threadline.kit.resources import Resources
from threadline.projects import service as projects


@dataclass(frozen=True)
class TestProject:
    """A project with its API key and a ready HTTP header."""

    __test__ = False

    id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        """``X-API-Key`` for this project."""
        return {"X-API-Key": self.api_key}


async def create_project(
    resources: Resources, sandbox_url: str, *, name: str = "Test"
) -> TestProject:
    """A project whose default WhatsApp config is the test sandbox.

    Sandbox configs store no address: ``resources.settings`` must send them to
    ``sandbox_url`` (the ``settings`` fixture does).
    """
    routed = resources.settings.sandbox_graph_url()
    assert routed == sandbox_url.rstrip("/"), f"settings send sandbox configs to {routed}"
    async with resources.db.transaction() as session:
        created = await projects.create(session, resources.cipher, name=name)
    return TestProject(id=str(created.project.id), api_key=created.api_key)


def node(node_id: str, node_type: str, **config: Any) -> dict[str, Any]:
    """A definition node as the builder SDK emits it."""
    return {"id": node_id, "type": "flow-node", "data": {"node_type": node_type, "config": config}}


#: The builder SDK's value of an AI field (an ``AIField``).
AI_FIELD: dict[str, Any] = {"$ai": {}}


def ai_fields(model: str, prompts: dict[str, str]) -> dict[str, Any]:
    """The config keys the SDK adds to a node with AI fields: each field path's prompt, and
    the model that writes them."""
    config = {path: {"mode": "prompt", "prompt": prompt} for path, prompt in prompts.items()}
    return {"ai_field_config": config, "provider_model_name": model}


def edge(source: str, target: str, label: str = "next") -> dict[str, Any]:
    """A definition edge."""
    return {"source": source, "target": target, "label": label}


def chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    """A definition whose nodes run one after another."""
    edges = [edge(a["id"], b["id"]) for a, b in itertools.pairwise(nodes)]
    return {"nodes": list(nodes), "edges": edges}


def ask_and_reply(
    *, timeout_seconds: int | None = 3600, reply: str = "You said {{vars.answer}}"
) -> dict[str, Any]:
    """start → send "Question?" → wait (saving to ``answer``) → send ``reply``."""
    wait = {"save_response_to": "answer"}
    if timeout_seconds is not None:
        wait["timeout_seconds"] = timeout_seconds  # type: ignore[assignment]
    return chain(
        node("start", "start"),
        node("ask", "send_text", message="Question?"),
        node("wait", "wait_for_response", **wait),
        node("reply", "send_text", message=reply),
    )


async def create_active_flow(
    client: httpx.AsyncClient,
    project: TestProject,
    definition: dict[str, Any],
    *,
    name: str = "Flow",
) -> str:
    """Create a flow with ``definition``, add an API trigger, activate it; its id."""
    response = await client.post(
        "/api/v1/flows",
        headers=project.headers,
        json={"flow": {"name": name, "definition": definition}},
    )
    assert response.status_code == 201, response.text
    flow_id: str = response.json()["data"]["id"]
    trigger = await client.post(
        f"/api/v1/flows/{flow_id}/triggers",
        headers=project.headers,
        json={"trigger": {"trigger_type": "api_call"}},
    )
    assert trigger.status_code == 201, trigger.text
    activated = await client.patch(
        f"/api/v1/flows/{flow_id}", headers=project.headers, json={"flow": {"status": "active"}}
    )
    assert activated.status_code == 200, activated.text
    return flow_id


async def start_execution(
    client: httpx.AsyncClient,
    project: TestProject,
    flow_id: str,
    *,
    phone: str = "+15550001111",
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start an execution and return it (found by its tracking id)."""
    response = await client.post(
        f"/api/v1/flows/{flow_id}/executions",
        headers=project.headers,
        json={"phone_number": phone, "variables": variables or {}},
    )
    assert response.status_code == 202, response.text
    tracking_id = response.json()["tracking_id"]
    listing = await client.get(
        f"/api/v1/flows/{flow_id}/executions", headers=project.headers, params={"per_page": 100}
    )
    matches = [e for e in listing.json()["data"] if e["tracking_id"] == tracking_id]
    assert len(matches) == 1
    return matches[0]


async def get_execution(
    client: httpx.AsyncClient, project: TestProject, execution_id: str
) -> dict[str, Any]:
    """The execution as the API shows it."""
    response = await client.get(f"/api/v1/flow_executions/{execution_id}", headers=project.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


# Builders of the API and contract tests (tests/api, tests/contract). Imports are local
# so that this section only appends to the module.


async def create_flow(
    client: httpx.AsyncClient,
    project: TestProject,
    *,
    name: str = "Flow",
    definition: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Create a flow through the API (asserting 201) and return its ``data``."""
    body: dict[str, Any] = {"name": name, **fields}
    if definition is not None:
        body["definition"] = definition
    response = await client.post("/api/v1/flows", headers=project.headers, json={"flow": body})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def add_api_trigger(
    client: httpx.AsyncClient, project: TestProject, flow_id: str, *, active: bool = True
) -> dict[str, Any]:
    """Add an ``api_call`` trigger to a flow (asserting 201) and return its ``data``."""
    response = await client.post(
        f"/api/v1/flows/{flow_id}/triggers",
        headers=project.headers,
        json={"trigger": {"trigger_type": "api_call", "active": active}},
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def resume(
    client: httpx.AsyncClient,
    project: TestProject,
    execution_id: str,
    body: dict[str, Any] | None = None,
    *,
    idempotency_key: str | None = None,
) -> httpx.Response:
    """``POST /flow_executions/{id}/resume``; the raw response, to assert on."""
    headers = dict(project.headers)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return await client.post(
        f"/api/v1/flow_executions/{execution_id}/resume", headers=headers, json=body or {}
    )


async def execution_events(
    client: httpx.AsyncClient, project: TestProject, execution_id: str
) -> list[dict[str, Any]]:
    """An execution's whole event log, oldest first."""
    response = await client.get(
        f"/api/v1/flow_executions/{execution_id}/events",
        headers=project.headers,
        params={"per_page": 500},
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["data"]
    return events


async def register_function(
    client: httpx.AsyncClient, project: TestProject, *, name: str, url: str, secret: str
) -> dict[str, Any]:
    """Register a function endpoint (asserting 201) and return its ``data``."""
    response = await client.post(
        "/api/v1/functions",
        headers=project.headers,
        json={"function": {"name": name, "url": url, "secret": secret}},
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def count_rows(resources: Resources, model: type[Any]) -> int:
    """How many rows the table of ``model`` holds."""
    from sqlalchemy import func, select

    async with resources.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def run_jobs(resources: Resources, *, rounds: int = 50) -> None:
    """Run the worker until idle; jobs waiting out a retry backoff are made due at once.

    Timers (``executions.timeout``, the conversations' inactivity timer, the settling of
    unknown outcomes after their grace period, the retention's next run, the webhooks'
    inactivity timers) are left alone:
    see :func:`fire_wait_timers`.
    """
    from sqlalchemy import update

    from threadline.conversations.service import EXPIRE_TASK
    from threadline.executions.keys import TIMEOUT_TASK
    from threadline.jobs.worker import Worker
    from threadline.kit.clock import utcnow
    from threadline.messaging.settle import SETTLE_TASK
    from threadline.models import Job
    from threadline.retention.service import RETENTION_TASK
    from threadline.whatsapp_webhooks.emitters import INACTIVE_TASK

    worker = Worker(resources)
    for _ in range(rounds):
        await worker.run_until_idle()
        async with resources.db.transaction() as session:
            moved = await session.execute(
                update(Job)
                .where(
                    Job.status == "queued",
                    Job.task.not_in(
                        (TIMEOUT_TASK, EXPIRE_TASK, SETTLE_TASK, RETENTION_TASK, INACTIVE_TASK)
                    ),
                )
                .values(run_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        if moved.rowcount == 0:  # type: ignore[attr-defined]
            return
    raise AssertionError(f"jobs were still being retried after {rounds} rounds")


async def fire_wait_timers(resources: Resources) -> None:
    """Make every pending wait timer due now, then run the worker."""
    await make_wait_timers_due(resources)
    await run_jobs(resources)


async def make_wait_timers_due(resources: Resources) -> None:
    """Make every pending wait timer due now (a worker started after this fires them)."""
    from sqlalchemy import update

    from threadline.executions.keys import TIMEOUT_TASK
    from threadline.kit.clock import utcnow
    from threadline.models import Job

    async with resources.db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.status == "queued", Job.task == TIMEOUT_TASK)
            .values(run_at=utcnow())
            .execution_options(synchronize_session=False)
        )


async def run_flow(
    client: httpx.AsyncClient,
    resources: Resources,
    project: TestProject,
    definition: dict[str, Any],
    **start: Any,
) -> dict[str, Any]:
    """Start ``definition`` and run the worker; the execution as the API shows it then."""
    flow_id = await create_active_flow(client, project, definition)
    execution = await start_execution(client, project, flow_id, **start)
    await run_jobs(resources)
    return await get_execution(client, project, execution["id"])


# Builders of customers and WhatsApp configs (tests/api/test_api_customers.py,
# test_api_whatsapp_configs*.py, tests/contract/test_contract_customers_configs.py).

_graph_ids = itertools.count(910_000_000_000_001)


def next_graph_id() -> str:
    """A Meta-style numeric id no other test data uses."""
    return str(next(_graph_ids))


async def create_customer(
    client: httpx.AsyncClient,
    project: TestProject,
    *,
    name: str = "Acme",
    external_customer_id: str | None = None,
) -> dict[str, Any]:
    """A customer made through the API, as it answered."""
    external = external_customer_id or f"CUS-{next_graph_id()}"
    response = await client.post(
        "/api/v1/customers",
        headers=project.headers,
        json={"customer": {"name": name, "external_customer_id": external}},
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def production_config_fields(**overrides: Any) -> dict[str, Any]:
    """The body fields of a production WhatsApp config on a fresh number."""
    fields: dict[str, Any] = {
        "name": "Support line",
        "phone_number_id": next_graph_id(),
        "business_account_id": next_graph_id(),
        "display_phone_number": "+1 555 010 2030",
        "access_token": "EAAG-test-token-" + next_graph_id(),
    }
    fields.update(overrides)
    return fields


async def create_whatsapp_config(
    client: httpx.AsyncClient, project: TestProject, customer_id: str, **fields: Any
) -> dict[str, Any]:
    """A WhatsApp config of the customer (production unless ``kind="sandbox"``)."""
    body = fields if fields.get("kind") == "sandbox" else production_config_fields(**fields)
    body.setdefault("name", "Sandbox line")
    response = await client.post(
        f"/api/v1/customers/{customer_id}/whatsapp_configs",
        headers=project.headers,
        json={"whatsapp_config": body},
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def open_conversation_on(
    resources: Resources, project: TestProject, config_id: str, *, phone: str = "15550009999"
) -> str:
    """An active conversation (and its contact) on the config, with one inbound message."""
    import uuid

    from threadline.kit.clock import utcnow
    from threadline.models import WhatsappContact, WhatsappConversation, WhatsappMessage

    now = utcnow()
    project_id, conversation_id = uuid.UUID(project.id), uuid.uuid4()
    async with resources.db.transaction() as session:
        contact = WhatsappContact(
            id=uuid.uuid4(), project_id=project_id, wa_id=phone, created_at=now, updated_at=now
        )
        session.add(contact)
        await session.flush()
        session.add(
            WhatsappConversation(
                id=conversation_id,
                project_id=project_id,
                whatsapp_config_id=uuid.UUID(config_id),
                contact_id=contact.id,
                phone_number=phone,
                status="active",
                last_active_at=now,
                last_inbound_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        session.add(
            WhatsappMessage(
                project_id=project_id,
                direction="inbound",
                conversation_id=conversation_id,
                whatsapp_config_id=uuid.UUID(config_id),
                phone_number=phone,
                content="hi",
                payload={"type": "text", "text": {"body": "hi"}},
                status="received",
                wamid=f"wamid.{next_graph_id()}",
                created_at=now,
            )
        )
    return str(conversation_id)


# Inbound webhooks: Meta-shaped deliveries, signed like Meta signs them.

SANDBOX_APP_SECRET = "sandbox-app-secret"


def inbound_text(
    wamid: str, text: str, *, sender: str = "15550001111", at: int = 1_760_000_000
) -> dict[str, Any]:
    """A ``messages[]`` item: a text from ``sender`` stamped ``at`` (Unix seconds)."""
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(at),
        "type": "text",
        "text": {"body": text},
    }


def inbound_button_reply(
    wamid: str, button_id: str, title: str, *, sender: str = "15550001111", at: int = 1_760_000_001
) -> dict[str, Any]:
    """A ``messages[]`` item: the user tapped a reply button."""
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(at),
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}},
    }


def delivery(
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    calls: list[dict[str, Any]] | None = None,
    profile_name: str = "Ada",
) -> dict[str, Any]:
    """A whole webhook delivery for the sandbox number (``calls``: a ``calls`` change)."""
    from threadline.config import SANDBOX_IDENTITY

    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": SANDBOX_IDENTITY.display_phone_number.lstrip("+"),
            "phone_number_id": SANDBOX_IDENTITY.phone_number_id,
        },
    }
    if messages:
        senders = sorted({m["from"] for m in messages})
        value["contacts"] = [{"profile": {"name": profile_name}, "wa_id": s} for s in senders]
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    if errors:
        value["errors"] = errors
    if calls:
        users = sorted(
            {c["from"] if c.get("direction") != "BUSINESS_INITIATED" else c["to"] for c in calls}
        )
        value["contacts"] = [{"profile": {"name": profile_name}, "wa_id": u} for u in users]
        value["calls"] = calls
    change = {"field": "calls" if calls else "messages", "value": value}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": SANDBOX_IDENTITY.waba_id, "changes": [change]}],
    }


def signed(
    body: dict[str, Any] | bytes, secret: str = SANDBOX_APP_SECRET
) -> tuple[bytes, dict[str, str]]:
    """The exact bytes to POST and their ``X-Hub-Signature-256`` header."""
    import hashlib
    import hmac
    import json

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


async def post_webhook(
    client: httpx.AsyncClient, body: dict[str, Any] | bytes, *, secret: str = SANDBOX_APP_SECRET
) -> httpx.Response:
    """POST a signed delivery to the app-wide webhook URL."""
    raw, headers = signed(body, secret)
    return await client.post("/webhooks/whatsapp", content=raw, headers=headers)


async def add_inbound_trigger(
    client: httpx.AsyncClient, project: TestProject, flow_id: str, **fields: Any
) -> dict[str, Any]:
    """An ``inbound_message`` trigger on the project's default number."""
    response = await client.post(
        f"/api/v1/flows/{flow_id}/triggers",
        headers=project.headers,
        json={"trigger": {"trigger_type": "inbound_message", **fields}},
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


# Builders of the contacts, notes and sandbox sessions tests (tests/contacts,
# tests/sandbox_sessions, tests/contract/test_contract_contacts.py).


async def create_sandbox_session(
    resources: Resources, project: TestProject, phone_number: str = "+15550102030"
) -> Any:
    """A pending sandbox session of ``project`` (its row, a ``SandboxSession``)."""
    import uuid

    from threadline.kit.clock import utcnow
    from threadline.models import Project
    from threadline.sandbox_sessions import service as sandbox_sessions

    async with resources.db.transaction() as session:
        owner = await session.get(Project, uuid.UUID(project.id))
        assert owner is not None
        return await sandbox_sessions.create(
            session, owner, phone_number=phone_number, agent_id=None, now=utcnow()
        )


async def create_contact(
    client: httpx.AsyncClient, project: TestProject, wa_id: str, **fields: Any
) -> dict[str, Any]:
    """A contact made through ``POST /api/v1/whatsapp_contacts`` (its JSON)."""
    body = {"contact": {"wa_id": wa_id, **fields}}
    response = await client.post("/api/v1/whatsapp_contacts", json=body, headers=project.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def create_note(
    client: httpx.AsyncClient, project: TestProject, identifier: str, content: str, **fields: Any
) -> dict[str, Any]:
    """A note made through ``POST /api/v1/whatsapp_contacts/{identifier}/notes`` (its JSON)."""
    path = f"/api/v1/whatsapp_contacts/{identifier}/notes"
    body = {"note": {"content": content, **fields}}
    response = await client.post(path, json=body, headers=project.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def create_customer_row(
    resources: Resources, project: TestProject, name: str, external_id: str | None = None
) -> str:
    """A customer of ``project``, written directly (its id)."""
    import uuid

    from threadline.kit.clock import utcnow
    from threadline.models import Customer

    now = utcnow()
    customer = Customer(
        id=uuid.uuid4(),
        project_id=uuid.UUID(project.id),
        name=name,
        external_customer_id=external_id,
        created_at=now,
        updated_at=now,
    )
    async with resources.db.transaction() as session:
        session.add(customer)
    return str(customer.id)


# Builders of the conversations and messages API tests (tests/conversations,
# tests/messaging/test_messaging_conversation_scope.py, tests/contract). Imports are local.


@dataclass(frozen=True)
class TestConversation:
    """A conversation made as the inbound pipeline would make it."""

    __test__ = False

    id: str
    contact_id: str
    config_id: str
    phone: str


async def default_config_id(resources: Resources, project: TestProject) -> str:
    """The id of the project's default (sandbox) WhatsApp config."""
    import uuid

    from sqlalchemy import select

    from threadline.models import WhatsappConfig

    async with resources.db.session() as session:
        statement = select(WhatsappConfig.id).where(
            WhatsappConfig.project_id == uuid.UUID(project.id), WhatsappConfig.is_default
        )
        return str((await session.execute(statement)).scalar_one())


async def open_conversation(
    resources: Resources,
    project: TestProject,
    *,
    phone: str = "+15550002222",
    name: str | None = "Ada",
    inbound_at: Any = "now",
    config_id: str | None = None,
) -> TestConversation:
    """A contact and its active conversation; ``inbound_at`` ("now", a datetime or None)
    is when the contact last wrote, which opens the 24-hour window."""
    import uuid
    from datetime import timedelta

    from threadline.contacts import service as contacts
    from threadline.conversations import service as conversations
    from threadline.kit.clock import utcnow

    config = config_id or await default_config_id(resources, project)
    now = utcnow()
    async with resources.db.transaction() as session:
        contact = await contacts.for_inbound(
            session, uuid.UUID(project.id), phone.removeprefix("+"), name, now
        )
        conversation = await conversations.current(
            session,
            config_id=uuid.UUID(config),
            contact=contact,
            now=now,
            inactivity=timedelta(days=1),
        )
        if inbound_at is not None:
            moment = now if inbound_at == "now" else inbound_at
            conversations.touch(conversation, moment, inbound=True)
        ids = TestConversation(str(conversation.id), str(contact.id), config, phone)
    return ids


async def add_inbound_message(
    resources: Resources,
    project: TestProject,
    conversation: TestConversation,
    payload: dict[str, Any],
    *,
    wamid: str | None = None,
) -> int:
    """An inbound message row as the webhook pipeline stores it (Meta's message object)."""
    import uuid

    message = inbound_message_row(
        uuid.UUID(project.id),
        uuid.UUID(conversation.id),
        uuid.UUID(conversation.config_id),
        conversation.phone,
        payload,
        wamid=wamid,
    )
    async with resources.db.transaction() as session:
        session.add(message)
        await session.flush()
        return message.id


def inbound_message_row(
    project_id: Any,
    conversation_id: Any,
    config_id: Any,
    phone: str,
    payload: dict[str, Any],
    *,
    wamid: str | None = None,
    processing_status: str = "processed",
) -> Any:
    """The ``WhatsappMessage`` of an inbound message (``processing_status``: ``pending``
    for one the inbox has still to take)."""
    import uuid

    from threadline.kit.clock import utcnow
    from threadline.models import WhatsappMessage
    from threadline.whatsapp.content import describe

    now = utcnow()
    return WhatsappMessage(
        project_id=project_id,
        direction="inbound",
        conversation_id=conversation_id,
        whatsapp_config_id=config_id,
        phone_number=phone,
        message_type=str(payload.get("type", "text")),
        content=describe(payload),
        payload=payload,
        status="received",
        processing_status=processing_status,
        attempts=0,
        wamid=wamid or f"wamid.in.{uuid.uuid4().hex}",
        meta_timestamp=now,
        created_at=now,
        updated_at=now,
    )


def inbound_text_message(body: str, phone: str = "+15550002222") -> dict[str, Any]:
    """Meta's inbound text message object."""
    return {"from": phone.removeprefix("+"), "type": "text", "text": {"body": body}}


async def send_api_message(
    client: httpx.AsyncClient, project: TestProject, conversation_id: str, message: dict[str, Any]
) -> httpx.Response:
    """``POST /whatsapp_conversations/{id}/whatsapp_messages``; the raw response."""
    return await client.post(
        f"/api/v1/whatsapp_conversations/{conversation_id}/whatsapp_messages",
        headers=project.headers,
        json={"message": message},
    )


async def create_user(
    resources: Resources, project: TestProject, *, email: str = "ana@example.com", name: str = "Ana"
) -> str:
    """A person of the project (what ``threadline users create`` makes); its id."""
    import uuid

    from threadline.users import service as users

    async with resources.db.transaction() as session:
        user = await users.create(session, uuid.UUID(project.id), email=email, name=name)
    return str(user.id)


async def user_key(resources: Resources, project: TestProject, user_id: str) -> TestProject:
    """The project as seen through a key issued to one of its users (``threadline users
    key``): what that key creates is created by the user."""
    import uuid

    from threadline.users import service as users

    async with resources.db.transaction() as session:
        _, key = await users.issue_user_key(session, uuid.UUID(project.id), user_id, name="t")
    return TestProject(project.id, key)


def call_event(
    wacid: str, event: str, *, user: str = "15550001111", at: int = 1_760_000_000, **more: Any
) -> dict[str, Any]:
    """A ``calls[]`` item of a call the user started (``event``: connect or terminate)."""
    from threadline.config import SANDBOX_IDENTITY

    number = SANDBOX_IDENTITY.display_phone_number.lstrip("+")
    item = {"id": wacid, "from": user, "to": number, "event": event, "timestamp": str(at)}
    return {**item, "direction": "USER_INITIATED", **more}


async def create_setup_link(
    client: httpx.AsyncClient, project: TestProject, customer_id: str, **fields: Any
) -> dict[str, Any]:
    """A setup link of the customer made through the API (``fields``: its options)."""
    response = await client.post(
        f"/api/v1/customers/{customer_id}/setup_links",
        headers=project.headers,
        json={"setup_link": fields},
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def setup_path(link: dict[str, Any]) -> str:
    """The path of the page a setup link opens (``/setup/<token>``), from its ``url``."""
    url: str = link["url"]
    return "/setup/" + url.rsplit("/setup/", 1)[1]


# Builders of the Meta proxy tests (tests/meta_proxy). Imports are local.

#: The Graph API version the proxy tests call (any ``vNN.N`` is served alike).
PROXY_VERSION = "v23.0"


def proxy_client(live_url: str, project: TestProject | None = None) -> httpx.AsyncClient:
    """An HTTP client on the proxy's base URL, as a Kapso client configures it."""
    headers = {} if project is None else project.headers
    base = f"{live_url}/meta/whatsapp/{PROXY_VERSION}"
    return httpx.AsyncClient(base_url=base, headers=headers, timeout=10)


def sandbox_phone_number_id() -> str:
    """The phone_number_id of every project's default (sandbox) config."""
    from threadline.config import SANDBOX_IDENTITY

    return SANDBOX_IDENTITY.phone_number_id


async def add_call(
    resources: Resources,
    project: TestProject,
    conversation: TestConversation,
    *,
    call_id: str,
    status: str = "completed",
    direction: str = "inbound",
) -> str:
    """A call row on the conversation's number, as the calls pipeline records one; its id."""
    import uuid

    from threadline.kit.clock import utcnow
    from threadline.models import WhatsappCall

    now = utcnow()
    call = WhatsappCall(
        id=uuid.uuid4(),
        project_id=uuid.UUID(project.id),
        whatsapp_config_id=uuid.UUID(conversation.config_id),
        call_id=call_id,
        direction=direction,
        status=status,
        duration_seconds=30,
        started_at=now,
        ended_at=now,
        user_wa_id=conversation.phone.removeprefix("+"),
        whatsapp_contact_id=uuid.UUID(conversation.contact_id),
        whatsapp_conversation_id=uuid.UUID(conversation.id),
        created_at=now,
        updated_at=now,
    )
    async with resources.db.transaction() as session:
        session.add(call)
    return str(call.id)


# Broadcasts (tests/whatsapp_broadcasts, tests/contract/test_contract_broadcasts.py).


async def approved_template(
    resources: Resources, project: TestProject, *, name: str = "order_update"
) -> str:
    """An approved template row on the sandbox's business account; its id.

    ``order_update`` (POSITIONAL, body ``Hi {{1}}, your order {{2}} is on its way.``) is
    seeded in the sandbox, which therefore accepts its sends.
    """
    import uuid

    from threadline.config import SANDBOX_IDENTITY
    from threadline.kit.clock import utcnow
    from threadline.models import WhatsappTemplate

    now, config_id = utcnow(), await default_config_id(resources, project)
    body = {"type": "BODY", "text": "Hi {{1}}, your order {{2}} is on its way."}
    template = WhatsappTemplate(
        project_id=uuid.UUID(project.id),
        whatsapp_config_id=uuid.UUID(config_id),
        business_account_id=SANDBOX_IDENTITY.waba_id,
        name=name,
        language_code="en_US",
        category="UTILITY",
        parameter_format="POSITIONAL",
        components=[body],
        status="approved",
        meta={},
        created_at=now,
        updated_at=now,
    )
    async with resources.db.transaction() as session:
        session.add(template)
        await session.flush()
        return str(template.id)


def broadcast_recipients(count: int, *, first: int = 15551000000) -> list[dict[str, Any]]:
    """``count`` recipients of ``order_update`` on consecutive numbers."""
    return [
        {"phone_number": f"+{first + i}", "template_parameters": [f"Ana {i}", f"A-{i}"]}
        for i in range(count)
    ]


async def create_broadcast(
    client: httpx.AsyncClient,
    resources: Resources,
    project: TestProject,
    *,
    recipients: int = 0,
    rate_per_second: float | None = None,
) -> dict[str, Any]:
    """A draft broadcast of ``order_update`` on the default config, with ``recipients``
    added in batches of 1000; its ``data``."""
    fields: dict[str, Any] = {
        "name": "July Promo",
        "whatsapp_config_id": await default_config_id(resources, project),
        "whatsapp_template_id": await approved_template(resources, project),
    }
    if rate_per_second is not None:
        fields["rate_per_second"] = rate_per_second
    response = await client.post(
        "/api/v1/whatsapp_broadcasts", headers=project.headers, json={"whatsapp_broadcast": fields}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    rows = broadcast_recipients(recipients)
    for start in range(0, len(rows), 1000):
        added = await client.post(
            f"/api/v1/whatsapp_broadcasts/{data['id']}/recipients",
            headers=project.headers,
            json={"recipients": rows[start : start + 1000]},
        )
        assert added.status_code == 201, added.text
    return data


async def queue_webhook_events(
    resources: Resources, project: TestProject, config_id: str, *, conversations: int, each: int
) -> list[str]:
    """``each`` ``whatsapp.message.received`` events of ``conversations`` conversations,
    emitted in one transaction (interleaved: every conversation's first, then the
    seconds...) for the config's webhooks; the conversations' ids. Each event's data is
    ``{"conversation": {"id": ...}, "n": k}``, ``k`` counting that conversation's events."""
    import uuid

    from threadline.whatsapp_webhooks import events, names

    ids = [uuid.uuid4() for _ in range(conversations)]
    async with resources.db.transaction() as session:
        for n in range(each):
            for conversation_id in ids:
                data = {"conversation": {"id": str(conversation_id)}, "n": n}
                event = events.Event(
                    names.MESSAGE_RECEIVED,
                    uuid.UUID(project.id),
                    uuid.UUID(config_id),
                    conversation_id,
                    data,
                )
                await events.emit(session, event)
    return [str(i) for i in ids]
