"""A sandbox WhatsApp config sends to the sandbox of the sending process, whatever it stored."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from builders import chain, create_project, node, run_flow
from support import free_port
from threadline.kit.resources import Resources
from threadline.models import WhatsappConfig
from threadline.sandbox.state import SandboxState


async def test_an_old_sandbox_config_with_a_stale_address_still_reaches_the_sandbox(
    client: httpx.AsyncClient, resources: Resources, sandbox: SandboxState, sandbox_url: str
) -> None:
    project = await create_project(resources, sandbox_url)
    stale = f"http://127.0.0.1:{free_port()}/sandbox"  # what older releases stored
    async with resources.db.transaction() as session:
        await session.execute(update(WhatsappConfig).values(base_url=stale))
    definition = chain(node("start", "start"), node("hi", "send_text", message="Hello"))

    execution = await run_flow(client, resources, project, definition)

    assert execution["status"] == "ended"
    assert [m.payload["text"]["body"] for m in sandbox.outbox] == ["Hello"]
