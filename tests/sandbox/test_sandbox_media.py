"""Media: multipart upload like Meta's, lookup, download with the token, delete, inbound use."""

from __future__ import annotations

import hashlib

import httpx
import pytest

MEDIA = "/v23.0/100000000000001/media"
PNG = b"\x89PNG\r\n\x1a\n" + b"sandbox" * 100


def form(data: bytes = PNG, mime: str = "image/png", **fields: str) -> dict[str, object]:
    return {
        "files": {"file": ("photo.png", data, mime)},
        "data": {"messaging_product": "whatsapp", "type": mime, **fields},
    }


async def test_upload_lookup_download_delete_round_trip(client: httpx.AsyncClient) -> None:
    uploaded = await client.post(MEDIA, **form())  # type: ignore[arg-type]
    assert uploaded.status_code == 200, uploaded.text
    media_id = uploaded.json()["id"]
    assert media_id.isdigit()

    lookup = (await client.get(f"/v23.0/{media_id}")).json()
    assert lookup == {
        "messaging_product": "whatsapp",
        "url": f"http://sandbox/media-files/{media_id}",
        "mime_type": "image/png",
        "sha256": hashlib.sha256(PNG).hexdigest(),
        "file_size": str(len(PNG)),
        "id": media_id,
    }
    download = await client.get(lookup["url"])
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    anonymous = await client.get(lookup["url"], headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert (await client.delete(f"/v23.0/{media_id}")).json() == {"success": True}
    gone = await client.get(f"/v23.0/{media_id}")
    assert gone.status_code == 400 and gone.json()["error"]["error_subcode"] == 33


async def test_an_uploaded_file_can_be_sent_by_a_phone(client: httpx.AsyncClient) -> None:
    files = {"file": ("scan.pdf", b"%PDF-1.4 scan", "application/pdf")}
    uploaded = await client.post("/_sandbox/media", files=files)
    assert uploaded.status_code == 200, uploaded.text
    media_id = uploaded.json()["id"]

    body = {"from": "15551230001", "type": "document", "document": {"id": media_id}}
    message = (await client.post("/_sandbox/inbound", json=body)).json()["message"]

    assert message["document"] == {
        "filename": "scan.pdf",
        "mime_type": "application/pdf",
        "sha256": hashlib.sha256(b"%PDF-1.4 scan").hexdigest(),
        "id": media_id,
    }


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        (form(mime="application/x-msdownload"), "unsupported MIME type"),
        (form(data=b"x" * (500 * 1024 + 1), mime="image/webp"), "exceeds"),
        ({"data": {"messaging_product": "whatsapp"}, "files": {"other": ("a", b"a")}}, "file"),
        ({"json": {"file": "x"}}, "multipart/form-data"),
        ({"files": {"file": ("a.png", PNG, "image/png")}}, "messaging_product"),
    ],
)
async def test_bad_uploads_are_graph_errors(
    client: httpx.AsyncClient, kwargs: dict[str, object], hint: str
) -> None:
    response = await client.post(MEDIA, **kwargs)  # type: ignore[arg-type]

    assert response.status_code == 400, response.text
    assert hint in response.json()["error"]["error_data"]["details"]


async def test_uploads_need_the_token_and_the_sandbox_number(client: httpx.AsyncClient) -> None:
    anonymous = await client.post(MEDIA, headers={"Authorization": ""}, **form())  # type: ignore[arg-type]
    elsewhere = await client.post("/v23.0/999/media", **form())  # type: ignore[arg-type]

    assert anonymous.status_code == 401
    assert elsewhere.status_code == 400 and elsewhere.json()["error"]["error_subcode"] == 33
