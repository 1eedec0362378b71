"""The job that sees an approved display name through to ``applied``.

Meta approves a name before the number carries it; the request becomes ``applied`` when
the number's ``verified_name`` (its Graph GET) is the approved name. The job looks at
once, then ever less often, for a week (``service.APPLY_WATCH``); a read is safe to
repeat, so any failure to reach Meta is just another look later.
"""

from __future__ import annotations

import logging
import uuid

from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryLater, RetryPolicy
from threadline.jobs.worker import JobContext
from threadline.kit.clock import utcnow
from threadline.whatsapp_display_names import service
from threadline.whatsapp_display_names.submission import current_name
from threadline.whatsapp_templates.graph import account_of

log = logging.getLogger("threadline.display_names")


@registry.task(service.APPLY_TASK, policy=RetryPolicy(max_attempts=10, base_delay=5, max_delay=900))
async def apply(ctx: JobContext) -> None:
    """Mark the approved request ``applied`` once its number shows the name."""
    resources, request_id = ctx.resources, uuid.UUID(ctx.job.payload["request_id"])
    async with resources.db.read() as session:
        found = await service.approved_request(session, request_id)
        if found is not None:
            reviewed_at, config = found[0].reviewed_at, found[1]
            account = account_of(config, resources.settings, resources.cipher)
    if found is None:
        async with resources.db.transaction() as session:
            await ctx.finish(session)
        return
    shown = await current_name(account.client(resources.http))
    now = utcnow()
    delay = service.next_look(reviewed_at, now)
    async with resources.db.transaction() as session:
        applied = await service.mark_applied(session, request_id, shown, now)
        if applied or delay is None:
            await ctx.finish(session)
    if applied:
        log.info("display name applied request=%s name=%r", request_id, shown)
    elif delay is None:
        log.warning("display name approved but never shown on the number request=%s", request_id)
    else:
        raise RetryLater(delay, f"the number shows {shown!r}, not the approved name yet")
