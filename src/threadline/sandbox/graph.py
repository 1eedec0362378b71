"""The Graph API routes the sandbox emulates: messages, templates and object lookups."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.convertors import Convertor, register_url_convertor

from threadline.config import SANDBOX_IDENTITY
from threadline.kit.multipart import UPLOAD_OPENAPI
from threadline.sandbox import display_names, listing, media, review, statuses
from threadline.sandbox.faults import GraphFault, invalid_parameter, invalid_token, unknown_object
from threadline.sandbox.state import SandboxState, Template
from threadline.sandbox.templates import parse_create_request
from threadline.sandbox.validation import OutgoingMessage, ReadReceipt, validate_message

_DEFAULT_PAGE_SIZE, _MAX_PAGE_SIZE = 25, 1000
_SANDBOX_APP_ID = SANDBOX_IDENTITY.app_id


class _GraphVersion(Convertor[str]):
    """Matches Graph API versions such as ``v23.0`` so other paths fall through to 501."""

    regex = r"v\d+\.\d+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("graph_version", _GraphVersion())
_V = "/{version:graph_version}"


def sandbox_state(request: Request) -> SandboxState:
    """The :class:`SandboxState` of the app serving ``request``."""
    state: SandboxState = request.app.state.sandbox
    return state


def public_base_url(request: Request) -> str:
    """This app's own URL, including the path it is mounted at (``/sandbox``)."""
    root, app_root = request.scope.get("root_path", ""), request.scope.get("app_root_path", "")
    mount = root[len(app_root) :] if root.startswith(app_root) else ""
    return str(request.base_url).rstrip("/") + mount


def authorized_state(request: Request) -> SandboxState:
    """The sandbox state, once the request's Bearer token has been checked."""
    state = sandbox_state(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        token = request.query_params.get("access_token", "")
    if not secrets.compare_digest(token.strip().encode(), state.config.access_token.encode()):
        raise invalid_token()
    return state


State = Annotated[SandboxState, Depends(authorized_state)]
router = APIRouter()


@router.post(_V + "/{phone_number_id}/messages")
async def send_message(phone_number_id: str, request: Request, state: State) -> dict[str, Any]:
    """Validate, record and acknowledge one outgoing message (or read receipt)."""
    try:
        if phone_number_id != state.config.phone_number_id:
            raise unknown_object(phone_number_id, "POST")
        payload = await _json_body(request)
        return _accept(state, phone_number_id, validate_message(payload, state), payload)
    finally:
        # The send is already recorded: a caller cut off during this delay models a
        # request Meta accepted whose response never arrived.
        await asyncio.sleep(state.settings.latency_ms / 1000)


@router.get(_V + "/{waba_id}/message_templates")
async def list_templates(waba_id: str, request: Request, state: State) -> dict[str, Any]:
    """Templates of the WABA, filtered by name/status/category/language, cursor-paginated;
    ``fields`` selects keys, ``summary`` adds counts (see :mod:`.listing`)."""
    _check_waba(state, waba_id, "GET")
    query = request.query_params
    filters = {
        key: query[key] for key in ("name", "status", "category", "language") if key in query
    }
    matching = [t for t in state.templates.values() if _matches(t.to_graph(), filters)]
    page, more = _page(matching, _limit(query.get("limit")), query.get("after"))
    body: dict[str, Any] = {"data": [template.to_graph() for template in page]}
    if page:
        cursors = {"before": _cursor(page[0].id), "after": _cursor(page[-1].id)}
        body["paging"] = {"cursors": cursors}
        if more:
            body["paging"]["next"] = str(request.url.include_query_params(after=cursors["after"]))
    counts = listing.template_summary(len(matching), len(state.templates))
    return listing.shaped(body, query, counts)


@router.post(_V + "/{waba_id}/message_templates")
async def create_template(waba_id: str, request: Request, state: State) -> dict[str, Any]:
    """Create a template; its review follows the control plane (see :mod:`.review`)."""
    _check_waba(state, waba_id, "POST")
    spec = parse_create_request(await _json_body(request))
    template = state.add_template(spec.model_copy(update={"status": "PENDING"}))
    review.review_created(state, template)
    return {"id": template.id, "status": template.spec.status, "category": spec.category}


@router.delete(_V + "/{waba_id}/message_templates")
async def delete_template(waba_id: str, request: Request, state: State) -> dict[str, Any]:
    """Delete every language of ``?name=`` (or only ``?hsm_id=``)."""
    _check_waba(state, waba_id, "DELETE")
    name = request.query_params.get("name")
    if not name:
        raise invalid_parameter("The parameter name is required.")
    if state.delete_templates(name, request.query_params.get("hsm_id")) == 0:
        raise invalid_parameter(f"Message template {name} not found")
    return {"success": True}


@router.get(_V + "/{waba_id}/subscribed_apps")
async def list_subscribed_apps(waba_id: str, request: Request, state: State) -> dict[str, Any]:
    """The one app subscribed to the WABA's webhooks: the sandbox delivers them itself."""
    _check_waba(state, waba_id, "GET")
    app = {"id": _SANDBOX_APP_ID, "name": state.config.verified_name, "link": ""}
    body = {"data": [{"whatsapp_business_api_data": app}]}
    return listing.shaped(body, request.query_params, {"total_count": 1})


@router.get(_V + "/{waba_id}/phone_numbers")
async def list_phone_numbers(waba_id: str, request: Request, state: State) -> dict[str, Any]:
    """The WABA's one phone number, as ``GET /{phone_number_id}`` shows it."""
    _check_waba(state, waba_id, "GET")
    cursor = "QVFIU" + state.config.phone_number_id  # one page: both cursors on its one item
    body = {
        "data": [_phone_number(state)],
        "paging": {"cursors": {"before": cursor, "after": cursor}},
    }
    return listing.shaped(body, request.query_params, {"total_count": 1})


@router.post(_V + "/{phone_number_id}/media", openapi_extra=UPLOAD_OPENAPI)
async def upload_media(phone_number_id: str, request: Request, state: State) -> dict[str, Any]:
    """Multipart upload (``file``, ``type``, ``messaging_product``): the new media id."""
    if phone_number_id != state.config.phone_number_id:
        raise unknown_object(phone_number_id, "POST")
    content_type = request.headers.get("content-type", "")
    stored = media.upload_media(state, content_type, await request.body())
    return {"id": stored.id}


@router.delete(_V + "/{media_id}")
async def delete_media(media_id: str, state: State) -> dict[str, Any]:
    """Delete an uploaded media object."""
    if state.media.pop(media_id, None) is None:
        raise unknown_object(media_id, "DELETE")
    return {"success": True}


@router.get("/media-files/{media_id}")
async def download_media(media_id: str, state: State) -> Response:
    """The bytes behind a media object's ``url`` (Bearer token required, like Meta's)."""
    stored = state.media.get(media_id)
    if stored is None:
        raise unknown_object(media_id, "GET")
    return Response(stored.data, media_type=stored.mime_type)


@router.get(_V + "/{object_id}")
async def get_object(object_id: str, request: Request, state: State) -> dict[str, Any]:
    """The phone number, the WABA, a template or a media object, looked up by id."""
    config = state.config
    if object_id in state.media:
        return media.to_graph(state.media[object_id], public_base_url(request))
    if object_id == config.phone_number_id:
        return _phone_number(state)
    if object_id == config.waba_id:
        return {"id": config.waba_id, "name": config.verified_name, "currency": "USD"}
    if object_id in state.templates:
        return state.templates[object_id].to_graph()
    raise unknown_object(object_id, "GET")


@router.post(_V + "/{template_id}")
async def edit_template(template_id: str, request: Request, state: State) -> dict[str, Any]:
    """Edit a template's category or components; it is reviewed again (see :mod:`.review`).
    On the phone number's id: request a new display name (see :mod:`.display_names`)."""
    if template_id == state.config.phone_number_id:
        return display_names.request(state, await display_names.requested_name(request))
    template = state.templates.get(template_id)
    if template is None:
        raise unknown_object(template_id, "POST")
    edits = await _json_body(request)
    if not isinstance(edits, dict):
        raise invalid_parameter("The request body must be a JSON object")
    current = template.spec.model_dump(exclude={"status"})
    fields = ("category", "components", "parameter_format")
    spec = parse_create_request({**current, **{k: edits[k] for k in fields if k in edits}})
    template.spec = spec.model_copy(update={"status": "PENDING"})
    review.review_created(state, template)
    return {"success": True}


def _accept(
    state: SandboxState,
    phone_number_id: str,
    outcome: OutgoingMessage | ReadReceipt,
    payload: dict[str, Any],
) -> dict[str, Any]:
    if isinstance(outcome, ReadReceipt):
        state.reads.append(
            {
                "message_id": outcome.message_id,
                "typing_indicator": outcome.typing_indicator,
                "phone_number_id": phone_number_id,
                "received_at": state.wall_clock().isoformat().replace("+00:00", "Z"),
            }
        )
        return {"success": True}
    rule = state.take_failure(outcome.wa_id)
    if rule is not None:
        raise rule.fault()
    state.admit(phone_number_id, outcome.wa_id)
    statuses.check_window(state, outcome.wa_id, outcome.kind)
    entry = state.record_send(phone_number_id, outcome.to, outcome.wa_id, outcome.kind, payload)
    statuses.after_send(state, entry)
    message: dict[str, Any] = {"id": entry.id}
    if outcome.kind == "template":
        message["message_status"] = "accepted"
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": outcome.to, "wa_id": outcome.wa_id}],
        "messages": [message],
    }


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise invalid_parameter(f"The request body is not valid JSON: {exc}") from exc


def _phone_number(state: SandboxState) -> dict[str, Any]:
    config = state.config
    return {
        **display_names.phone_fields(state),
        "code_verification_status": "VERIFIED",
        "display_phone_number": config.display_phone_number,
        "quality_rating": "GREEN",
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD"},
        "id": config.phone_number_id,
    }


def _check_waba(state: SandboxState, waba_id: str, method: str) -> None:
    if waba_id != state.config.waba_id:
        raise unknown_object(waba_id, method)


def _matches(template: dict[str, Any], filters: dict[str, str]) -> bool:
    return all(str(template.get(key)) == value for key, value in filters.items())


def _limit(raw: str | None) -> int:
    if raw is None:
        return _DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_PAGE_SIZE:
        raise invalid_parameter(f"Param limit must be an integer between 1 and {_MAX_PAGE_SIZE}")
    return int(raw)


def _page(templates: list[Template], limit: int, after: str | None) -> tuple[list[Template], bool]:
    if after is not None:
        # Ids grow monotonically, so "after" survives deletions between pages.
        last_seen = _cursor_id(after)
        templates = [t for t in templates if int(t.id) > last_seen]
    return templates[:limit], len(templates) > limit


def _cursor(template_id: str) -> str:
    return base64.urlsafe_b64encode(template_id.encode()).decode()


def _cursor_id(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise GraphFault(100, f"Invalid cursor {cursor!r}") from exc
