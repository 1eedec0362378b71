"""Media objects: multipart uploads checked like Meta's, lookups and downloads."""

from __future__ import annotations

import hashlib
from email.message import MIMEPart
from typing import Any

from threadline.kit.multipart import NotMultipart, file_bytes, parse_form
from threadline.sandbox.faults import GraphFault, invalid_parameter
from threadline.sandbox.state import Media, SandboxState

_MB = 1024 * 1024
#: Accepted MIME types and their size caps (Meta's media limits).
MIME_LIMITS: dict[str, int] = {
    "image/jpeg": 5 * _MB,
    "image/png": 5 * _MB,
    "image/webp": 500 * 1024,
    "video/mp4": 16 * _MB,
    "video/3gpp": 16 * _MB,
    "audio/aac": 16 * _MB,
    "audio/amr": 16 * _MB,
    "audio/mpeg": 16 * _MB,
    "audio/mp4": 16 * _MB,
    "audio/ogg": 16 * _MB,
    "text/plain": 100 * _MB,
    "application/pdf": 100 * _MB,
    "application/msword": 100 * _MB,
    "application/vnd.ms-excel": 100 * _MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * _MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * _MB,
}
#: What an inbound media message carries when the injection names no uploaded media.
PLACEHOLDERS: dict[str, tuple[str, bytes]] = {
    "image": ("image/jpeg", b"\xff\xd8\xff\xe0sandbox-image\xff\xd9"),
    "video": ("video/mp4", b"\x00\x00\x00\x18ftypmp42sandbox-video"),
    "audio": ("audio/ogg; codecs=opus", b"OggSsandbox-audio"),
    "document": ("application/pdf", b"%PDF-1.4\nsandbox-document\n%%EOF"),
    "sticker": ("image/webp", b"RIFF\x00\x00\x00\x00WEBPsandbox-sticker"),
}


def store(state: SandboxState, data: bytes, mime_type: str, filename: str | None = None) -> Media:
    """Keep ``data`` as a new media object after Meta's type and size checks."""
    base = mime_type.split(";", 1)[0].strip().lower()
    limit = MIME_LIMITS.get(base)
    if limit is None:
        raise invalid_parameter(
            f"Param file has unsupported MIME type {mime_type!r}; use one of {sorted(MIME_LIMITS)}"
        )
    if not data:
        raise invalid_parameter("Param file is empty")
    if len(data) > limit:
        raise GraphFault(131053, f"Media file of {len(data)} bytes exceeds {limit} for {base}")
    digest = hashlib.sha256(data).hexdigest()
    media = Media(state.next_object_id(), mime_type, data, digest, filename)
    state.media[media.id] = media
    return media


def placeholder(state: SandboxState, kind: str) -> Media:
    """A small media object of ``kind`` for an inbound message that named none."""
    mime_type, data = PLACEHOLDERS[kind]
    media = Media(state.next_object_id(), mime_type, data, hashlib.sha256(data).hexdigest())
    state.media[media.id] = media
    return media


def to_graph(media: Media, base_url: str) -> dict[str, Any]:
    """``GET /{media_id}``: where to download it (with the Bearer token) and what it is."""
    return {
        "messaging_product": "whatsapp",
        "url": f"{base_url.rstrip('/')}/media-files/{media.id}",
        "mime_type": media.mime_type,
        "sha256": media.sha256,
        "file_size": str(len(media.data)),
        "id": media.id,
    }


def parse_upload(content_type: str, body: bytes) -> tuple[dict[str, str], MIMEPart | None]:
    """A multipart form: its text fields and its ``file`` part (``None`` if absent)."""
    try:
        return parse_form(content_type, body)
    except NotMultipart as error:
        raise invalid_parameter(str(error)) from None


def upload_media(
    state: SandboxState, content_type: str, body: bytes, *, require_product: bool = True
) -> Media:
    """``POST /{phone_number_id}/media``: the uploaded file, stored."""
    fields, upload = parse_upload(content_type, body)
    if require_product and fields.get("messaging_product") != "whatsapp":
        raise invalid_parameter("The parameter messaging_product is required and must be whatsapp.")
    if upload is None:
        raise invalid_parameter("The parameter file is required.")
    mime_type = fields.get("type") or upload.get_content_type()
    return store(state, file_bytes(upload), mime_type, upload.get_filename())
