"""Contacts, notes and sandbox sessions, checked against the Kapso v1 reference specs.

Contacts and notes are checked against ``openapi-whatsapp.yaml`` (the later spec, with
every filter) and against the core ``openapi.yaml``; sandbox sessions against the core
spec, which alone declares them.
"""

from __future__ import annotations

import copy
import uuid

import httpx

from builders import create_contact, create_customer_row, create_note, create_project
from contract.test_contract_kapso_v1 import CORE, Spec, check, check_page_meta, load_spec
from threadline.kit.clock import utcnow
from threadline.kit.resources import Resources
from threadline.sandbox_sessions import service as sandbox_sessions

WHATSAPP = "openapi-whatsapp.yaml"
CONTACTS = "/api/v1/whatsapp_contacts"
SESSIONS = "/api/v1/sandbox_sessions"


def _specs() -> list[Spec]:
    """The WhatsApp spec, and the core one with ``PaginationMeta`` borrowed from it.

    The core spec's contact and note lists refer to ``PaginationMeta`` but it defines no
    such schema (the ``$ref`` dangles); the later spec's definition is the one meant.
    """
    whatsapp = load_spec(WHATSAPP)
    core = load_spec(CORE)
    if "PaginationMeta" not in core.schemas:
        core = core.with_schemas({"PaginationMeta": whatsapp.schemas["PaginationMeta"]})
    return [whatsapp, core]


def sandbox_spec() -> Spec:
    """The core spec without ``WhatsappSandboxSession.agent``, explicitly.

    The reference embeds the session's Kapso agent; Threadline has flows, not agents (the
    sandbox phone's messages drive the project's ``inbound_message`` triggers), so it
    answers ``agent_id`` and no ``agent``. Every other declared field is checked.
    """
    core = load_spec(CORE)
    schema = copy.deepcopy(core.schemas["WhatsappSandboxSession"])
    del schema["properties"]["agent"]
    return core.with_schemas({"WhatsappSandboxSession": schema})


async def test_contract_contacts(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    customer = await create_customer_row(resources, project, "Acme", external_id="CUS-1")
    body = {"contact": {"wa_id": "+15550102030", "profile_name": "Ada", "customer_id": customer}}
    created = await client.post(CONTACTS, json=body, headers=h)
    await create_contact(client, project, "15550109999")
    taken = await client.post(CONTACTS, json=body, headers=h)
    listed = await client.get(CONTACTS, headers=h)
    filtered = await client.get(
        CONTACTS,
        headers=h,
        params={"q[customer_id_not_null]": "true", "q[profile_name_cont]": "ad", "per_page": 1},
    )
    contact_id = created.json()["data"]["id"]
    by_id = await client.get(f"{CONTACTS}/{contact_id}", headers=h)
    by_phone = await client.get(f"{CONTACTS}/15550102030", headers=h)
    patched = await client.patch(
        f"{CONTACTS}/15550102030", json={"contact": {"metadata": {"vip": True}}}, headers=h
    )
    missing = await client.get(f"{CONTACTS}/{uuid.uuid4()}", headers=h)
    missing_patch = await client.patch(
        f"{CONTACTS}/15550100000", json={"contact": {"profile_name": "x"}}, headers=h
    )
    unauthorised = await client.get(CONTACTS)

    assert [r.status_code for r in (created, taken, listed, filtered)] == [201, 422, 200, 200]
    assert len(listed.json()["data"]) == 2 and len(filtered.json()["data"]) == 1
    for spec in _specs():
        check(spec, "/whatsapp_contacts", created)
        check(spec, "/whatsapp_contacts", taken)
        check(spec, "/whatsapp_contacts", listed)
        check(spec, "/whatsapp_contacts", filtered)
        check(spec, "/whatsapp_contacts", unauthorised)
        for response in (by_id, by_phone, patched, missing, missing_patch):
            check(spec, "/whatsapp_contacts/{identifier}", response)
    check_page_meta(listed)
    check_page_meta(filtered)


async def test_contract_contact_notes(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    h = project.headers
    await create_contact(client, project, "15550102030")
    base = f"{CONTACTS}/15550102030/notes"
    created = await client.post(
        base, json={"note": {"name": "Pref", "content": "Mornings", "metadata": {}}}, headers=h
    )
    unnamed = await create_note(client, project, "15550102030", "No name")
    note_path = f"{base}/{created.json()['data']['id']}"
    listed = await client.get(base, headers=h, params={"per_page": 1})
    got = await client.get(note_path, headers=h)
    got_unnamed = await client.get(f"{base}/{unnamed['id']}", headers=h)
    patched = await client.patch(note_path, json={"note": {"content": "Evenings"}}, headers=h)
    bad = await client.post(base, json={"note": {"content": ""}}, headers=h)
    no_contact = await client.get(f"{CONTACTS}/15550100000/notes", headers=h)
    deleted = await client.delete(note_path, headers=h)
    gone = await client.get(note_path, headers=h)
    gone_patch = await client.patch(note_path, json={"note": {"content": "x"}}, headers=h)
    gone_delete = await client.delete(note_path, headers=h)

    assert [r.status_code for r in (created, listed, deleted, gone)] == [201, 200, 204, 404]
    for spec in _specs():
        for response in (created, listed, bad, no_contact):
            check(spec, "/whatsapp_contacts/{identifier}/notes", response)
        for response in (got, got_unnamed, patched, deleted, gone, gone_patch, gone_delete):
            check(spec, "/whatsapp_contacts/{identifier}/notes/{note_id}", response)
    check_page_meta(listed)


async def test_contract_sandbox_sessions(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = sandbox_spec()
    project = await create_project(resources, sandbox_url)
    h = project.headers
    body = {"whatsapp_sandbox_session": {"phone_number": "+15550102030", "agent_id": None}}
    created = await client.post(SESSIONS, json=body, headers=h)
    pending = await client.post(SESSIONS, json=body, headers=h)
    bad = await client.post(
        SESSIONS, json={"whatsapp_sandbox_session": {"phone_number": "x"}}, headers=h
    )
    async with resources.db.transaction() as session:
        code = created.json()["data"]["activation_code"]
        await sandbox_sessions.activate(
            session, code=code, phone_number="15550102030", now=utcnow()
        )
    listed = await client.get(SESSIONS, headers=h)
    active = await client.get(f"{SESSIONS}/{created.json()['data']['id']}", headers=h)
    missing = await client.get(f"{SESSIONS}/{uuid.uuid4()}", headers=h)
    unauthorised = await client.get(SESSIONS)

    assert [r.status_code for r in (created, pending, bad, listed)] == [201, 201, 422, 200]
    assert active.json()["data"]["status"] == "active"
    for response in (created, pending, bad, listed, unauthorised):
        check(spec, "/sandbox_sessions", response)
    for response in (active, missing):
        check(spec, "/sandbox_sessions/{id}", response)
    check_page_meta(listed)
