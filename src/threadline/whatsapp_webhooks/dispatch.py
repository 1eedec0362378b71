"""Delivering a batch of delivery jobs: one claim, one transaction to prepare them all,
the POSTs at once, one transaction to record the answers.

1. One transaction (``BatchContext.transaction``: the jobs' rows locked first) locks every
   delivery of the batch in one statement, reads their webhooks in one more, seals the
   buffered batches whose window ended (their events read in one query) and decrypts
   each webhook's secret once. A job with nothing left to do ends there.
2. The POSTs go concurrently on the egress-checked client, at most ``POSTS_AT_ONCE`` at
   a time, no session held.
3. The answers are recorded in one transaction (one executemany UPDATE), and the jobs
   of settled deliveries end in it. Answers still awaited after ``RECORD_AFTER_SECONDS``
   are recorded in a later transaction, so one slow receiver does not hold back the
   others' conversations (whose next events wait for their job to end).

Order per conversation holds because the claim never gives one batch two jobs of one
lock key (a webhook and conversation's): the older one blocks the newer. A delivery to
retry goes back to the queue through its own job's retry (``RetryLater`` with the
delivery's backoff), so it keeps blocking its conversation's next events; a job taken
over mid-batch (its lease lost) is not in a transaction's ``held`` jobs, and nothing is
recorded for it: its new owner delivers it again, with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from threadline.jobs.context import BatchContext, BatchTransaction, JobContext
from threadline.jobs.registry import registry
from threadline.jobs.retry import RetryLater
from threadline.kit.clock import utcnow
from threadline.models import WebhookDelivery, WhatsappWebhook
from threadline.whatsapp_webhooks import delivery, events, repository
from threadline.whatsapp_webhooks.delivery import Answer, Outgoing

log = logging.getLogger("threadline.whatsapp_webhooks")

#: POSTs of one batch in flight at once (the slow lane's slots times this stays within
#: the client's connection pool).
POSTS_AT_ONCE = 16
#: How long the answers in hand wait for the slower ones before being recorded.
RECORD_AFTER_SECONDS = 1.0


def _delivery_id(context: JobContext) -> int:
    return int(context.job.payload["delivery_id"])


async def deliver_batch(batch: BatchContext) -> None:
    """Deliver the outbox rows of a batch of delivery jobs, concurrently.

    Two jobs of one row share its lock key, so they never come in one batch.
    """
    await _Run(batch).run()


#: A delivery of the batch (by its id) and the job that makes it.
_Ready = dict[int, tuple[JobContext, Outgoing]]


@dataclass
class _Run:
    batch: BatchContext
    #: Each webhook's secret, decrypted once per batch.
    secrets: dict[uuid.UUID, str] = field(default_factory=dict)

    async def run(self) -> None:
        """Prepare, POST, record: see the module's docstring."""
        async with self.batch.transaction() as tx:
            ready = await self.prepare(tx)
        semaphore = asyncio.Semaphore(POSTS_AT_ONCE)
        posts = {
            asyncio.create_task(self.post(semaphore, outgoing)): context
            for context, outgoing in ready.values()
        }
        pending = set(posts)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, timeout=RECORD_AFTER_SECONDS)
                if done:
                    await self.record([(posts[task], task.result()) for task in done])
                if pending:  # the recorded conversations' next events may be claimed now
                    registry.wake()
        finally:
            for task in pending:  # the recording failed: the jobs are retried anyway
                task.cancel()

    async def prepare(self, tx: BatchTransaction) -> _Ready:
        """The request of every held job's delivery; ends the jobs with nothing to do."""
        held = {_delivery_id(context): context for context in tx.held}
        rows = await repository.lock_deliveries(tx.session, list(held))
        going = {i: row for i, row in rows.items() if i in held and delivery.deliverable(row)}
        webhook_ids = {row.webhook_id for row in going.values()}
        webhooks = await repository.webhooks_by_id(tx.session, webhook_ids)
        await self._seal(tx, held, going)
        ready: _Ready = {}
        for delivery_id, row in going.items():
            context, webhook = held[delivery_id], webhooks.get(row.webhook_id)
            if webhook is None or tx.failed(context):
                continue
            try:
                ready[delivery_id] = (
                    context,
                    delivery.outgoing(row, webhook, self._secret(webhook)),
                )
            except Exception as error:  # a secret that no longer decrypts: this job's alone
                tx.fail_later(context, error)
        await tx.finish([c for i, c in held.items() if i not in ready and not tx.failed(c)])
        return ready

    async def _seal(
        self,
        tx: BatchTransaction,
        held: dict[int, JobContext],
        going: dict[int, WebhookDelivery],
    ) -> None:
        """Seal the buffered batches whose job runs, each in its job's savepoint."""
        buffering = [row for row in going.values() if row.status == "buffering"]
        if not buffering:
            return
        items = await events.batch_items(tx.session, [row.id for row in buffering])
        for row in buffering:
            async with tx.each(held[row.id]):
                delivery.seal(row, items[row.id])

    def _secret(self, webhook: WhatsappWebhook) -> str:
        if webhook.id not in self.secrets:
            cipher = self.batch.resources.cipher
            self.secrets[webhook.id] = cipher.decrypt(webhook.secret_encrypted)
        return self.secrets[webhook.id]

    async def post(self, semaphore: asyncio.Semaphore, outgoing: Outgoing) -> Answer:
        """POST one delivery, when a place is free."""
        resources = self.batch.resources
        async with semaphore:
            return await delivery.post(
                resources.calls, outgoing, resources.settings.webhook_timeout_seconds
            )

    async def record(self, answers: Sequence[tuple[JobContext, Answer]]) -> None:
        """Record the answers of the jobs still held in one transaction; end the settled
        jobs, and put the others back in the queue after their delivery's backoff."""
        async with self.batch.transaction() as tx:
            mine = {context.job.id for context in tx.held}
            held = {_delivery_id(c): (c, a) for c, a in answers if c.job.id in mine}
            rows = await repository.lock_deliveries(tx.session, list(held))
            written: list[dict[str, Any]] = []
            settled: list[JobContext] = []
            for delivery_id, (context, answer) in held.items():
                row = rows.get(delivery_id)  # None: deleted with its webhook meanwhile
                delay = None if row is None else self._attempt(written, row, answer)
                if delay is None:
                    settled.append(context)
                else:
                    reason = f"webhook answered {answer.status or answer.error}"
                    tx.fail_later(context, RetryLater(delay, reason))
            await repository.record_attempts(tx.session, written)
            await tx.finish(settled)
        _log_failures(answers)

    def _attempt(
        self, written: list[dict[str, Any]], row: WebhookDelivery, answer: Answer
    ) -> float | None:
        """Add the attempt's outcome to ``written``; the delay before the next one, if any."""
        settings = self.batch.resources.settings
        values, delay = delivery.attempt(row, answer, settings, utcnow())
        written.append(values)
        return delay


def _log_failures(answers: Sequence[tuple[JobContext, Answer]]) -> None:
    for context, answer in answers:
        if not answer.ok:
            log.info(
                "webhook delivery %s failed: %s",
                _delivery_id(context),
                answer.status or answer.error,
                extra={"job_id": context.job.id},
            )
