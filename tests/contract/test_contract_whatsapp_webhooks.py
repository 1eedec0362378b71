"""WhatsApp webhooks CRUD, checked against the platform reference spec.

The reference's ``WhatsappWebhook`` shows ``secret_key``; Threadline keeps it
write-only (stored encrypted, never returned), as it does the configs' secrets. The
responses are therefore checked against that schema without ``secret_key``; every
other declared field must be present.
"""

from __future__ import annotations

import copy

import httpx
from test_contract_kapso_v1 import PLATFORM, Spec, check, check_page_meta, load_spec

from builders import create_project, default_config_id
from threadline.kit.resources import Resources

PATH = "/whatsapp_configs/{whatsapp_config_id}/whatsapp_webhooks"


def write_only_secret_spec() -> Spec:
    """The platform spec whose ``WhatsappWebhook`` has no ``secret_key``."""
    spec = load_spec(PLATFORM)
    schema = copy.deepcopy(spec.schemas["WhatsappWebhook"])
    del schema["properties"]["secret_key"]
    return spec.with_schemas({"WhatsappWebhook": schema})


async def test_contract_whatsapp_webhooks(
    client: httpx.AsyncClient, resources: Resources, sandbox_url: str
) -> None:
    spec = write_only_secret_spec()
    project = await create_project(resources, sandbox_url)
    h = project.headers
    base = f"/api/v1/whatsapp_configs/{await default_config_id(resources, project)}"
    body = {
        "url": "https://example.com/webhook",
        "secret_key": "my-secret-key",
        "events": ["whatsapp.message.received", "whatsapp.message.sent"],
        "headers": {"X-Custom-Header": "custom-value"},
    }
    created = await client.post(
        f"{base}/whatsapp_webhooks", headers=h, json={"whatsapp_webhook": body}
    )
    assert created.status_code == 201
    check(spec, PATH, created)
    refused = await client.post(
        f"{base}/whatsapp_webhooks", headers=h, json={"whatsapp_webhook": {"url": "x"}}
    )
    assert refused.status_code == 422
    check(spec, PATH, refused)
    listing = await client.get(f"{base}/whatsapp_webhooks", headers=h)
    assert listing.status_code == 200 and listing.json()["data"]
    check(spec, PATH, listing)
    check_page_meta(listing)
    one = f"{base}/whatsapp_webhooks/{created.json()['data']['id']}"
    for response in (
        await client.get(one, headers=h),
        await client.patch(one, headers=h, json={"whatsapp_webhook": {"buffer_enabled": True}}),
        await client.patch(one, headers=h, json={"whatsapp_webhook": {"max_buffer_size": 0}}),
        await client.delete(one, headers=h),
        await client.get(one, headers=h),
        await client.get(one, headers={"X-API-Key": "tl_wrong"}),
    ):
        check(spec, PATH + "/{id}", response)
