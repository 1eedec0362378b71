"""Embedded signup, played by the sandbox: Facebook's popup and the Graph calls after it.

The popup (``GET /{v}/dialog/oauth``) shows a fake business owning the sandbox's WABA and
number; its Continue button asks ``POST /_sandbox/embedded_signup`` for an authorization
code and hands it to the page that opened it (``window.opener.postMessage``), with the
``WA_EMBEDDED_SIGNUP`` session info Facebook's popup sends. The backend then does what it
does against Meta: ``GET /{v}/oauth/access_token`` (code -> token; a code works once,
for ``CODE_TTL``), ``GET /{v}/debug_token`` (the WABAs shared, in ``granular_scopes``),
``GET /{v}/{waba_id}/phone_numbers`` (in :mod:`.graph`) and ``POST /{v}/{waba_id}/subscribed_apps``.
The token handed out is the sandbox's access token, so the number connected works.
"""

from __future__ import annotations

import html
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from threadline.config import SANDBOX_IDENTITY
from threadline.sandbox.faults import GraphFault, invalid_parameter, invalid_token, unknown_object
from threadline.sandbox.graph import State, sandbox_state
from threadline.sandbox.state import SandboxState, SignupCode

#: Meta's embedded signup codes are short-lived; the sandbox keeps them ten minutes.
CODE_TTL = timedelta(minutes=10)
_V = "/{version:graph_version}"
_SCOPES = ("whatsapp_business_management", "whatsapp_business_messaging")

router = APIRouter()
Plain = Annotated[SandboxState, Depends(sandbox_state)]


class CodeRequest(BaseModel):
    """``POST /_sandbox/embedded_signup``: a code, valid ``ttl_seconds`` (0: expired)."""

    ttl_seconds: int | None = Field(default=None, ge=0, le=86_400)


def _oauth_error(message: str, *, code: int = 100, subcode: int | None = None) -> GraphFault:
    return GraphFault(code, title=message, subcode=subcode, numbered=False)


def issue_code(state: SandboxState, ttl: timedelta = CODE_TTL) -> str:
    """A fresh authorization code for the sandbox's business."""
    code = "AQ" + secrets.token_urlsafe(48)
    state.signup_codes[code] = SignupCode(expires_at=state.now() + ttl)
    return code


@router.post("/_sandbox/embedded_signup", tags=["sandbox control"])
async def new_code(state: Plain, body: CodeRequest | None = None) -> dict[str, Any]:
    """What the popup's Continue gets: a code and the session info (WABA, number)."""
    ttl = (
        CODE_TTL
        if body is None or body.ttl_seconds is None
        else timedelta(seconds=body.ttl_seconds)
    )
    config = state.config
    return {
        "code": issue_code(state, ttl),
        "waba_id": config.waba_id,
        "phone_number_id": config.phone_number_id,
        "business_name": state.verified_name,
    }


@router.get(_V + "/dialog/oauth", response_class=HTMLResponse, include_in_schema=False)
async def dialog(
    state: Plain, client_id: str = "", config_id: str = "", extras: str = ""
) -> HTMLResponse:
    """Facebook's embedded signup popup, played: Continue or Cancel."""
    if client_id != SANDBOX_IDENTITY.app_id:
        return HTMLResponse(_page(f"Unknown app {html.escape(client_id)}", ""), status_code=400)
    name = html.escape(state.verified_name)
    number = html.escape(state.config.display_phone_number)
    body = _DIALOG.format(name=name, number=number)
    return HTMLResponse(_page("Connect WhatsApp", body))


@router.get(_V + "/oauth/access_token")
async def access_token(
    state: Plain,
    client_id: str = "",
    client_secret: str = "",
    code: str = "",
) -> dict[str, Any]:
    """Exchange an authorization code for the business's access token (once per code)."""
    _check_app(state, client_id, client_secret)
    issued = state.signup_codes.get(code)
    if issued is None:
        raise _oauth_error("Invalid verification code format.")
    if issued.used:
        raise _oauth_error("This authorization code has been used.", subcode=36009)
    if issued.expires_at <= state.now():
        raise _oauth_error("This authorization code has expired.", subcode=36007)
    issued.used = True
    return {"access_token": state.config.access_token, "token_type": "bearer"}


@router.get(_V + "/debug_token")
async def debug_token(
    request: Request,
    state: Plain,
    input_token: str = "",
    access_token: Annotated[str, Query()] = "",
) -> dict[str, Any]:
    """What a token may reach: the WABAs shared with the app, in ``granular_scopes``."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    access_token = bearer.strip() if scheme.lower() == "bearer" else access_token
    app_token = f"{SANDBOX_IDENTITY.app_id}|{state.settings.app_secret}"
    if not secrets.compare_digest(access_token, app_token) and access_token != input_token:
        raise invalid_token()
    valid = input_token == state.config.access_token
    waba = [state.config.waba_id]
    data: dict[str, Any] = {
        "app_id": SANDBOX_IDENTITY.app_id,
        "type": "SYSTEM_USER",
        "application": state.verified_name,
        "data_access_expires_at": 0,
        "expires_at": 0,
        "is_valid": valid,
        "scopes": list(_SCOPES) if valid else [],
        "granular_scopes": [{"scope": s, "target_ids": waba} for s in _SCOPES] if valid else [],
        "user_id": "400000000000001",
    }
    return {"data": data}


@router.post(_V + "/{waba_id}/subscribed_apps")
async def subscribe_app(waba_id: str, state: State) -> dict[str, Any]:
    """Subscribe the app to the WABA's webhooks (the sandbox delivers them anyway)."""
    if waba_id != state.config.waba_id:
        raise unknown_object(waba_id, "POST")
    return {"success": True}


def _check_app(state: SandboxState, client_id: str, client_secret: str) -> None:
    if not client_id:
        raise invalid_parameter("Missing client_id parameter.")
    if client_id != SANDBOX_IDENTITY.app_id:
        raise _oauth_error("Error validating application. Invalid application ID.", code=101)
    if not secrets.compare_digest(client_secret, state.settings.app_secret):
        raise _oauth_error("Error validating client secret.", code=1)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto}"
        "button{padding:.5rem 1rem;margin-right:.5rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


_DIALOG = """
<p>Sandbox Facebook: share <strong>{name}</strong> and its number {number} with the app.</p>
<button id="continue">Continue</button><button id="cancel">Cancel</button>
<p id="status"></p>
<script>
const tell = (message) => window.opener && window.opener.postMessage(message, "*");
document.getElementById("cancel").onclick = () => {{
  tell({{type: "WA_EMBEDDED_SIGNUP", event: "CANCEL", data: {{current_step: "BUSINESS"}}}});
  window.close();
}};
document.getElementById("continue").onclick = async () => {{
  const base = location.pathname.replace(/\\/v[0-9.]+\\/dialog\\/oauth$/, "");
  const answer = await fetch(base + "/_sandbox/embedded_signup", {{method: "POST"}});
  const got = await answer.json();
  const info = {{phone_number_id: got.phone_number_id, waba_id: got.waba_id}};
  tell({{type: "WA_EMBEDDED_SIGNUP", event: "FINISH", data: info}});
  tell({{type: "WA_EMBEDDED_SIGNUP_CODE", code: got.code}});
  document.getElementById("status").textContent = "Done: you can close this window.";
  window.close();
}};
</script>
"""
