"""A media header takes one media parameter, whatever the template's parameter format."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

TEMPLATES = "/v23.0/200000000000001/message_templates"
MESSAGES = "/v23.0/100000000000001/messages"
GRAPHIC = {
    "name": "new_arrivals",
    "language": "en_US",
    "category": "MARKETING",
    "parameter_format": "NAMED",
    "components": [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW"]}},
        {
            "type": "BODY",
            "text": "Hi {{name}}, new arrivals are in.",
            "example": {"body_text_named_params": [{"param_name": "name", "example": "Ana"}]},
        },
    ],
}
BODY = {"type": "body", "parameters": [{"type": "text", "text": "Ana", "parameter_name": "name"}]}
IMAGE = {"type": "image", "image": {"link": "https://cdn.example.com/a.jpg"}}


def _send(*components: dict[str, Any]) -> dict[str, Any]:
    template = {"name": "new_arrivals", "language": {"code": "en_US"}, "components": components}
    return {
        "messaging_product": "whatsapp",
        "to": "15550106060",
        "type": "template",
        "template": template,
    }


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        ([IMAGE], 200, None),
        ([], 400, 132000),
        ([{"type": "video", "video": {"link": "https://cdn.example.com/a.mp4"}}], 400, 132012),
    ],
)
async def test_a_media_header_takes_one_parameter_of_its_type(
    client: httpx.AsyncClient, header: list[dict[str, Any]], status: int, code: int | None
) -> None:
    assert (await client.post(TEMPLATES, json=GRAPHIC)).status_code == 200
    components = [{"type": "header", "parameters": header}] if header else []

    sent = await client.post(MESSAGES, json=_send(*components, BODY))

    assert sent.status_code == status, sent.text
    if code is not None:
        assert sent.json()["error"]["code"] == code
