"""Template bodies the template tests create."""

from __future__ import annotations

from typing import Any

import httpx

from builders import TestProject


def order_template(name: str = "order_ready", **overrides: Any) -> dict[str, Any]:
    """A POSITIONAL utility template: text header, body with two variables, URL button."""
    template = {
        "name": name,
        "language_code": "en_US",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "HEADER",
                "format": "TEXT",
                "text": "Order {{1}}",
                "example": {"header_text": ["A-1"]},
            },
            {
                "type": "BODY",
                "text": "Hi {{1}}, your order {{2}} is ready.",
                "example": {"body_text": [["Ana", "A-1"]]},
            },
            {"type": "FOOTER", "text": "Thanks for shopping"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Track",
                        "url": "https://shop.example.com/t/{{1}}",
                        "example": ["https://shop.example.com/t/A-1"],
                    },
                    {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550051310"},
                ],
            },
        ],
    }
    return {**template, **overrides}


async def create_template(
    client: httpx.AsyncClient, project: TestProject, template: dict[str, Any]
) -> dict[str, Any]:
    """Create a draft through the API; its ``data``."""
    response = await client.post(
        "/api/v1/whatsapp_templates", headers=project.headers, json={"template": template}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data
