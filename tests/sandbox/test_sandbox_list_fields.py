"""``fields`` and ``summary`` on the sandbox's list edges, as the Graph API answers them."""

from __future__ import annotations

import httpx

from threadline.sandbox import SandboxState

WABA = "/v23.0/200000000000001"


def _template(name: str, language: str = "en_US") -> dict[str, object]:
    body = {"type": "BODY", "text": f"Hello from {name}"}
    return {"name": name, "language": language, "category": "UTILITY", "components": [body]}


async def test_templates_answer_only_the_fields_asked_and_the_summary_of_every_match(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    for name in ("alpha", "beta", "gamma"):
        created = await client.post(f"{WABA}/message_templates", json=_template(name))
        assert created.status_code == 200, created.text
    total = len(state.templates)  # the seeded ones and these three
    query = {
        "fields": "name,status",
        "summary": "total_count,message_template_count",
        "limit": total - 1,
    }
    page = (await client.get(f"{WABA}/message_templates", params=query)).json()
    assert [set(item) for item in page["data"]] == [{"id", "name", "status"}] * (total - 1)
    assert page["summary"] == {"total_count": total, "message_template_count": total}
    assert "next" in page["paging"]
    rest = await client.get(
        f"{WABA}/message_templates",
        params={**query, "after": page["paging"]["cursors"]["after"], "summary": "true"},
    )
    assert [item["name"] for item in rest.json()["data"]] == ["gamma"]
    assert rest.json()["summary"] == {"total_count": total}
    filtered = await client.get(
        f"{WABA}/message_templates", params={"name": "beta", "summary": "total_count"}
    )
    assert filtered.json()["summary"] == {"total_count": 1}
    assert "components" in filtered.json()["data"][0]  # no fields: every key
    limits = await client.get(
        f"{WABA}/message_templates", params={"summary": "message_template_limit"}
    )
    assert limits.json()["summary"] == {"message_template_limit": 250}


async def test_phone_numbers_and_subscribed_apps_take_fields_and_summary(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    phones = await client.get(
        f"{WABA}/phone_numbers",
        params={"fields": "display_phone_number,throughput(level)", "summary": "total_count"},
    )
    assert phones.status_code == 200, phones.text
    [phone] = phones.json()["data"]
    assert set(phone) == {"id", "display_phone_number", "throughput"}
    assert phone["id"] == state.config.phone_number_id
    assert phones.json()["summary"] == {"total_count": 1}
    apps = await client.get(
        f"{WABA}/subscribed_apps",
        params={"fields": "whatsapp_business_api_data(name)", "summary": "total_count"},
    )
    nested = {"id": "300000000000001", "name": state.config.verified_name}
    assert apps.json()["data"] == [{"whatsapp_business_api_data": nested}]  # id: always
    assert apps.json()["summary"] == {"total_count": 1}
    plain = await client.get(f"{WABA}/subscribed_apps")
    assert (
        "summary" not in plain.json()
        and "link" in plain.json()["data"][0]["whatsapp_business_api_data"]
    )


async def test_a_malformed_fields_parameter_is_graphs_invalid_parameter(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"{WABA}/message_templates", params={"fields": "name,kapso(a"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100
