"""The sandbox's embedded signup: a code, its exchange, the token's WABA and numbers."""

from __future__ import annotations

from typing import Any

import httpx

from threadline.config import SANDBOX_IDENTITY

V = f"/{SANDBOX_IDENTITY.api_version}"
APP = {"client_id": SANDBOX_IDENTITY.app_id, "client_secret": SANDBOX_IDENTITY.app_secret}
APP_TOKEN = {"Authorization": f"Bearer {SANDBOX_IDENTITY.app_id}|{SANDBOX_IDENTITY.app_secret}"}


async def _code(client: httpx.AsyncClient, **body: Any) -> str:
    answer = await client.post("/_sandbox/embedded_signup", json=body or None)
    assert answer.status_code == 200
    data = answer.json()
    assert data["waba_id"] == SANDBOX_IDENTITY.waba_id
    assert data["phone_number_id"] == SANDBOX_IDENTITY.phone_number_id
    code: str = data["code"]
    return code


def _oauth_error(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 400, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    return error


async def test_a_code_buys_the_business_token_once(client: httpx.AsyncClient) -> None:
    code = await _code(client)
    token = await client.get(f"{V}/oauth/access_token", params={**APP, "code": code})
    assert token.json() == {"access_token": SANDBOX_IDENTITY.access_token, "token_type": "bearer"}
    again = await client.get(f"{V}/oauth/access_token", params={**APP, "code": code})
    assert _oauth_error(again)["error_subcode"] == 36009
    expired = await _code(client, ttl_seconds=0)
    late = await client.get(f"{V}/oauth/access_token", params={**APP, "code": expired})
    assert _oauth_error(late)["error_subcode"] == 36007
    unknown = await client.get(f"{V}/oauth/access_token", params={**APP, "code": "nope"})
    assert _oauth_error(unknown)["code"] == 100
    secret = {**APP, "client_secret": "wrong", "code": await _code(client)}
    refused = await client.get(f"{V}/oauth/access_token", params=secret)
    assert _oauth_error(refused)["message"] == "Error validating client secret."


async def test_the_token_reaches_the_shared_waba_and_its_number(
    client: httpx.AsyncClient,
) -> None:
    params = {"input_token": SANDBOX_IDENTITY.access_token}
    info = await client.get(f"{V}/debug_token", params=params, headers=APP_TOKEN)
    data = info.json()["data"]
    assert data["is_valid"] and data["app_id"] == SANDBOX_IDENTITY.app_id
    scopes = {s["scope"]: s["target_ids"] for s in data["granular_scopes"]}
    assert scopes["whatsapp_business_management"] == [SANDBOX_IDENTITY.waba_id]
    bad = await client.get(f"{V}/debug_token", params={"input_token": "x"}, headers=APP_TOKEN)
    assert bad.json()["data"]["is_valid"] is False
    stranger = {"Authorization": "Bearer someone-else"}
    assert (
        await client.get(f"{V}/debug_token", params=params, headers=stranger)
    ).status_code == 401

    numbers = await client.get(f"{V}/{SANDBOX_IDENTITY.waba_id}/phone_numbers")
    [number] = numbers.json()["data"]
    assert number["id"] == SANDBOX_IDENTITY.phone_number_id
    assert number["display_phone_number"] == SANDBOX_IDENTITY.display_phone_number
    assert "verified_name" in number and numbers.json()["paging"]["cursors"]
    subscribed = await client.post(f"{V}/{SANDBOX_IDENTITY.waba_id}/subscribed_apps")
    assert subscribed.json() == {"success": True}
    other = await client.get(f"{V}/999/phone_numbers")
    assert other.status_code == 400 and other.json()["error"]["error_subcode"] == 33


async def test_the_popup_page_offers_continue_and_cancel(client: httpx.AsyncClient) -> None:
    page = await client.get(f"{V}/dialog/oauth", params={"client_id": SANDBOX_IDENTITY.app_id})
    assert page.status_code == 200 and 'id="continue"' in page.text and 'id="cancel"' in page.text
    wrong = await client.get(f"{V}/dialog/oauth", params={"client_id": "1"})
    assert wrong.status_code == 400
