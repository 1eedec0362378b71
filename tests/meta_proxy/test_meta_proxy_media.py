"""Media through the Meta proxy: upload, metadata, download by its URL, delete."""

from __future__ import annotations

import httpx

from builders import create_project, proxy_client, sandbox_phone_number_id
from threadline.kit.resources import Resources
from threadline.sandbox.state import SandboxState

PNID = sandbox_phone_number_id()
PNG = b"\x89PNG\r\n\x1a\nthreadline-proxy-test"


async def test_media_uploads_to_the_numbers_graph_api_and_downloads_by_its_short_lived_url(
    resources: Resources, sandbox: SandboxState, sandbox_url: str, live_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    async with proxy_client(live_url, project) as proxy:
        form = {"messaging_product": "whatsapp", "type": "image/png"}
        uploaded = await proxy.post(
            f"{PNID}/media", data=form, files={"file": ("a.png", PNG, "image/png")}
        )
        assert uploaded.status_code == 200, uploaded.text
        media_id = uploaded.json()["id"]
        assert sandbox.media[media_id].data == PNG
        info = await proxy.get(media_id, params={"phone_number_id": PNID})
        assert info.status_code == 200, info.text
        meta = info.json()
        assert meta["mime_type"] == "image/png" and meta["file_size"] == str(len(PNG))
        assert meta["url"].startswith(f"{live_url}/meta/whatsapp/")
        async with httpx.AsyncClient() as anyone:  # no headers: as the clients fetch it
            downloaded = await anyone.get(meta["url"])
            assert downloaded.status_code == 200 and downloaded.content == PNG
            forged = await anyone.get(meta["url"][:-6] + "AAAAAA")
            assert forged.status_code == 404 and forged.json()["error"]["code"] == 100
        deleted = await proxy.delete(media_id, params={"phone_number_id": PNID})
        assert deleted.json() == {"success": True} and media_id not in sandbox.media
        gone = await proxy.get(media_id, params={"phone_number_id": PNID})
        assert gone.status_code >= 400 and gone.json()["error"]["code"] == 100
        exe = {**form, "type": "application/x-msdownload"}
        refused = await proxy.post(
            f"{PNID}/media", data=exe, files={"file": ("a.exe", b"MZ", "application/x-msdownload")}
        )
        assert refused.status_code == 400  # the Graph API's own refusal, passed on
        assert "MIME" in refused.json()["error"]["error_data"]["details"]
        no_file = await proxy.post(f"{PNID}/media", data=form)
        assert no_file.status_code == 400
    async with proxy_client(live_url) as anonymous:
        denied = await anonymous.get(media_id, params={"phone_number_id": PNID})
        assert denied.status_code == 401 and denied.json()["error"]["code"] == 190
