"""Reading a ``multipart/form-data`` body with the standard library (no extra dependency).

Used by the sandbox's media upload and the Meta proxy's, which both take Graph's
``file`` + ``type`` + ``messaging_product`` form.
"""

from __future__ import annotations

from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

#: The OpenAPI request body of the multipart upload routes (they parse
#: it themselves).
UPLOAD_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "type": {"type": "string", "description": "The MIME type"},
                        "messaging_product": {"type": "string", "enum": ["whatsapp"]},
                    },
                }
            }
        },
    }
}


class NotMultipart(ValueError):
    """The body is not ``multipart/form-data``."""


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], MIMEPart | None]:
    """A multipart form: its text fields and its ``file`` part (``None`` if absent)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise NotMultipart(
            "Upload media as multipart/form-data with file, type and messaging_product"
        )
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    upload: MIMEPart | None = None
    for part in message.iter_parts() if isinstance(message, EmailMessage) else []:
        name = part.get_param("name", header="content-disposition")
        if name == "file":
            upload = part
        elif isinstance(name, str):
            fields[name] = _text(part)
    return fields, upload


def file_bytes(part: MIMEPart) -> bytes:
    """The decoded content of a form's file part."""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _text(part: MIMEPart) -> str:
    payload = part.get_payload(decode=True)
    return payload.decode(errors="replace") if isinstance(payload, bytes) else ""
