"""Delivering outboxes: many scopes at once, each scope's messages one at a time, in order.

A *line* is one scope's delivery (a conversation's or an execution's, see ``scopes``),
owned by its job. A batch of lines goes round by round:

1. one transaction claims the next message of every line (one SELECT for all scopes,
   the first per scope in id order; the attempt recorded for all in one UPDATE);
2. the messages are sent concurrently, one per line, on the shared keep-alive client;
3. one transaction records every result (accepted sends with set-based statements) and
   claims the next message of every line, and so on until every line is empty;
4. a line found empty while recording ends in that transaction, under its queuers'
   locks (:meth:`_Run.transaction`): a batch of one costs two transactions after its
   claim. A line found empty at the start (its job came after another sent its
   messages) ends in a transaction of its own that takes those locks first.

Every transaction first locks the jobs still held (``jobs.context.BatchContext``): a
line whose job was taken over claims nothing more and ends nothing, but the outcome of
a send it made is still recorded (compare-and-set on the message's status), since
that is a fact about Meta, not an effect of the job. One line's trouble stays its own:
a transient Graph error requeues that message and retries that line's job with
backoff; a hook that raises rolls back a savepoint, and that job alone is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs.context import BatchContext, BatchTransaction, JobContext
from threadline.jobs.retry import RetryLater
from threadline.kit.clock import utcnow
from threadline.kit.faults import crash_point
from threadline.kit.resources import Resources
from threadline.messaging import outcomes, repository
from threadline.messaging.outcomes import DeliveryTarget
from threadline.messaging.scopes import Scope, TransientDeliveryError
from threadline.models import WhatsappMessage
from threadline.whatsapp.errors import DeliveryNotAttempted, DeliveryOutcomeUnknown, GraphError

log = logging.getLogger("threadline.messaging")

Finish = Callable[[AsyncSession], Awaitable[None]]
Ready = tuple[WhatsappMessage, DeliveryTarget]
_Candidate = tuple["Line", WhatsappMessage, DeliveryTarget | None]


@dataclass(eq=False)
class Line:
    """One scope being delivered: its job (None outside any job) and its next message."""

    scope: Scope
    last_try: bool
    context: JobContext | None = None
    ready: Ready | None = None
    finished: bool = False


@dataclass(frozen=True)
class _Settlement:
    """What a Graph call came to: ``sent``, ``unknown``, ``failed``, ``requeue`` or ``error``."""

    kind: str
    detail: Any


class _Holding(Protocol):
    """One transaction, and which lines the deliverer still owns in it."""

    @property
    def session(self) -> AsyncSession: ...

    def holds(self, line: Line) -> bool: ...

    def each(self, line: Line) -> contextlib.AbstractAsyncContextManager[object]: ...

    def failed(self, line: Line) -> bool: ...

    async def finish(self, lines: Sequence[Line]) -> None: ...


class _Owner(Protocol):
    """Whose lines these are: a batch of jobs, or a caller outside any job."""

    def transaction(self) -> contextlib.AbstractAsyncContextManager[_Holding]: ...

    def live(self, line: Line) -> bool: ...

    async def fail(self, line: Line, error: Exception) -> None: ...


@dataclass
class _BatchHolding:
    tx: BatchTransaction

    @property
    def session(self) -> AsyncSession:
        return self.tx.session

    def holds(self, line: Line) -> bool:
        return any(context is line.context for context in self.tx.held)

    def each(self, line: Line) -> contextlib.AbstractAsyncContextManager[object]:
        assert line.context is not None
        return self.tx.each(line.context)

    def failed(self, line: Line) -> bool:
        return line.context is not None and self.tx.failed(line.context)

    async def finish(self, lines: Sequence[Line]) -> None:
        await self.tx.finish([line.context for line in lines if line.context is not None])


@dataclass
class _BatchOwner:
    batch: BatchContext

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Holding]:
        async with self.batch.transaction() as tx:
            yield _BatchHolding(tx)

    def live(self, line: Line) -> bool:
        return line.context is not None and not line.context.settled

    async def fail(self, line: Line, error: Exception) -> None:
        assert line.context is not None
        await self.batch.fail(line.context, error)


@contextlib.asynccontextmanager
async def _as_is() -> AsyncIterator[object]:
    yield None


@dataclass
class _FreeHolding:
    session: AsyncSession
    on_finish: Finish
    finishing: list[Line] = field(default_factory=list)

    def holds(self, line: Line) -> bool:
        return True

    def each(self, line: Line) -> contextlib.AbstractAsyncContextManager[object]:
        return _as_is()  # one line: its error is the caller's

    def failed(self, line: Line) -> bool:
        return False

    async def finish(self, lines: Sequence[Line]) -> None:
        for line in lines:
            await self.on_finish(self.session)
            self.finishing.append(line)


@dataclass
class _FreeOwner:
    resources: Resources
    on_finish: Finish

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Holding]:
        async with self.resources.db.transaction() as session:
            holding = _FreeHolding(session, self.on_finish)
            yield holding
        for line in holding.finishing:
            line.finished = True

    def live(self, line: Line) -> bool:
        return not line.finished

    async def fail(self, line: Line, error: Exception) -> None:
        raise error


async def deliver_all(
    resources: Resources, scope: Scope | uuid.UUID, *, last_try: bool, finish: Finish
) -> None:
    """Send one scope's pending messages in order, outside the batch machinery (an id: an
    execution's); ``finish`` ends the caller's job. A transient error raises
    :class:`TransientDeliveryError` once the message is back in line."""
    if isinstance(scope, uuid.UUID):
        scope = Scope(scope, conversation=False)
    await _Run(resources, _FreeOwner(resources, finish), [Line(scope, last_try)]).run()


async def deliver_batch(batch: BatchContext) -> None:
    """Deliver the scopes of a batch of delivery jobs, concurrently, each in order."""
    lines: dict[Scope, Line] = {}
    for context in batch.jobs:
        scope = Scope.from_payload(context.job.payload)
        if scope in lines:  # the same work twice in one batch: the second waits its turn
            await batch.fail(context, RetryLater(0.5, "its scope is delivered by another job"))
            continue
        last_try = context.job.attempts >= context.job.max_attempts
        lines[scope] = Line(scope, last_try, context)
    await _Run(batch.resources, _BatchOwner(batch), list(lines.values())).run()


@dataclass
class _Run:
    resources: Resources
    owner: _Owner
    lines: list[Line]
    targets: dict[uuid.UUID | None, DeliveryTarget | None] = field(default_factory=dict)

    async def run(self) -> None:
        """Round after round until every line is empty (or no longer this deliverer's)."""
        async with self.owner.transaction() as tx:
            ready = await self.next_ready(tx, self._held(tx, self.lines))
        self._set_ready(self.lines, ready)
        await self.finish_or_next()  # lines that started empty (rare: their job came late)
        while True:
            sending = [line for line in self.lines if line.ready is not None]
            if not sending:
                return
            crash_point("deliver.after_attempt_recorded")
            settlements = await asyncio.gather(*(self.call(line) for line in sending))
            await self.record(list(zip(sending, settlements, strict=True)))

    def _held(self, tx: _Holding, lines: Sequence[Line]) -> list[Line]:
        return [line for line in lines if self.owner.live(line) and tx.holds(line)]

    @staticmethod
    def _set_ready(lines: Sequence[Line], ready: dict[Line, Ready]) -> None:
        # Only once the transaction that recorded the attempts has committed.
        for line in lines:
            line.ready = ready.get(line)

    @contextlib.asynccontextmanager
    async def transaction(self, lines: Sequence[Line]) -> AsyncIterator[_Holding]:
        """A transaction holding the row locks of the queuers of ``lines`` from its start.

        A line found empty ends in the transaction that found it so, and that "nothing
        left" is decided under these locks. Every step that queues messages holds its
        execution's lock, every API send its conversation's, and their enqueue folds into
        the scope's job while it is queued. So a queuer still open makes this wait, and
        its messages are then seen; one that comes after the job ended enqueues a new
        one. The conversations are locked in id order, then their running and waiting
        executions and the executions of execution scopes, in id order: the order the
        inbound processor takes them in, and no one locks an execution then its
        conversation, so there is no deadlock. The jobs' rows are locked before them: no
        holder of a queuer's lock waits for a running job's row (an enqueue conflicts only
        with queued jobs, a claim skips locked rows). The locks come before any message
        row is touched, so no deliverer holds a message row while waiting for them.

        A status webhook goes the other way (its message's row, then the execution): its
        event rows do not conflict with these locks (``FOR NO KEY UPDATE``); failing the
        execution does, a deadlock PostgreSQL breaks after ``deadlock_timeout``, and
        either side is done again (the record line by line, see :meth:`record`).
        """
        async with self.owner.transaction() as tx:
            held = self._held(tx, lines)
            conversations = [line.scope.id for line in held if line.scope.conversation]
            executions = [line.scope.id for line in held if not line.scope.conversation]
            await repository.lock_queuers(tx.session, conversations, executions)
            yield tx

    async def finish_or_next(self) -> None:
        """End the jobs of the live lines that have nothing ready, unless messages turned up,
        in a transaction of their own under the queuers' locks."""
        empty = [line for line in self.lines if line.ready is None and self.owner.live(line)]
        if not empty:
            return
        async with self.transaction(empty) as tx:
            held = self._held(tx, empty)
            ready = await self.next_ready(tx, held)
            await self.finish_empty(tx, held, ready)
        self._set_ready(empty, ready)

    async def finish_empty(
        self, tx: _Holding, lines: Sequence[Line], ready: dict[Line, Ready]
    ) -> None:
        """End the jobs of the lines that have no next message (see :meth:`transaction`)."""
        empty = [line for line in lines if line not in ready and not tx.failed(line)]
        if empty:
            await tx.finish(empty)

    async def next_ready(self, tx: _Holding, lines: Sequence[Line]) -> dict[Line, Ready]:
        """The next message of every line, its attempt recorded; settles the ones that
        cannot be sent (a previous attempt's, or one whose WhatsApp config is gone)."""
        ready: dict[Line, Ready] = {}
        waiting = list(lines)
        while waiting:
            candidates: list[_Candidate] = []
            again: list[_Candidate] = []
            for line, message in (await self._firsts(tx.session, waiting)).items():
                target = await self._target(tx.session, message)
                if target is not None:
                    candidates.append((line, message, target))
                    continue
                async with tx.each(line):  # a hook runs: its failure is this line's alone
                    await self._unsendable(tx.session, message)
                if not tx.failed(line):
                    again.append((line, message, None))
            ids = [message.id for _, message, _ in candidates]
            started = await repository.start_attempts(tx.session, ids, utcnow())
            for line, message, target in candidates:
                if message.id in started and target is not None:
                    ready[line] = (message, target)
                else:
                    again.append((line, message, target))
            waiting = [line for line, _, _ in again]
        return ready

    async def _firsts(
        self, session: AsyncSession, lines: Sequence[Line]
    ) -> dict[Line, WhatsappMessage]:
        found: dict[Line, WhatsappMessage] = {}
        for by_conversation in (True, False):
            of_kind = [line for line in lines if line.scope.conversation == by_conversation]
            ids = [line.scope.id for line in of_kind]
            firsts = await repository.first_pending(session, ids, by_conversation=by_conversation)
            for line in of_kind:
                if line.scope.id in firsts:
                    found[line] = firsts[line.scope.id]
        return found

    async def _unsendable(self, session: AsyncSession, message: WhatsappMessage) -> None:
        """Settle a message that cannot be sent: a previous attempt's, or its config is gone."""
        if message.status == "sending":
            await outcomes.unknown(session, message, "a previous attempt did not report back")
        else:
            await outcomes.failed(session, message, {"message": "WhatsApp config not found"})

    async def _target(
        self, session: AsyncSession, message: WhatsappMessage
    ) -> DeliveryTarget | None:
        """Where to send ``message``; None for a previous attempt's or a config gone."""
        if message.status == "sending":
            return None
        key = message.whatsapp_config_id
        if key not in self.targets:
            self.targets[key] = await outcomes.target(
                session,
                self.resources.cipher,
                message,
                sandbox_url=self.resources.settings.sandbox_graph_url(),
            )
        return self.targets[key]

    async def call(self, line: Line) -> _Settlement:
        """Send the line's message; what happened, to be recorded."""
        assert line.ready is not None
        message, target = line.ready
        client = target.client(self.resources.http)
        try:
            result = await client.send_message(_with_callback(message))
        except DeliveryOutcomeUnknown as error:
            return _Settlement("unknown", str(error))
        except (DeliveryNotAttempted, GraphError) as error:
            return self._not_sent(line, error)
        except Exception as error:  # a bug: the message stays ``sending`` (unknown), as ever
            return _Settlement("error", error)
        crash_point("deliver.after_send")
        return _Settlement("sent", result.message_id)

    def _not_sent(self, line: Line, error: Exception) -> _Settlement:
        retryable = isinstance(error, DeliveryNotAttempted) or (
            isinstance(error, GraphError) and error.retryable
        )
        if retryable and not line.last_try:
            return _Settlement("requeue", error)
        return _Settlement("failed", outcomes.error_dict(error))

    async def record(self, results: list[tuple[Line, _Settlement]]) -> None:
        """Record every result and claim every line's next message, in one transaction.

        Accepted sends are written with set-based statements; if that transaction fails
        it is done again with every line's results in a savepoint of its own, so the
        line at fault is retried alone.
        """
        try:
            failures = await self._record(results, one_by_one=False)
        except Exception:
            log.warning("recording a batch of deliveries failed; again, line by line")
            failures = await self._record(results, one_by_one=True)
        for line, error in failures:
            await self.owner.fail(line, error)

    async def _record(
        self, results: list[tuple[Line, _Settlement]], *, one_by_one: bool
    ) -> list[tuple[Line, Exception]]:
        failures: list[tuple[Line, Exception]] = []
        async with self.transaction([line for line, _ in results]) as tx:
            if not one_by_one:
                accepted = [(_message(line), s.detail) for line, s in results if s.kind == "sent"]
                await outcomes.sent_many(tx.session, accepted)
            for line, settlement in results:
                if settlement.kind != "sent" or one_by_one:
                    failures += await self._settle(tx, line, settlement)
            retrying = {line for line, _ in failures}
            going_on = [line for line, _ in results if line not in retrying and not tx.failed(line)]
            going_on = self._held(tx, going_on)
            ready = await self.next_ready(tx, going_on)
            await self.finish_empty(tx, going_on, ready)
        self._set_ready([line for line, _ in results], ready)
        return failures

    async def _settle(
        self, tx: _Holding, line: Line, settlement: _Settlement
    ) -> list[tuple[Line, Exception]]:
        """Record one line's result in its savepoint; the failure its job must take."""
        message = _message(line)
        if settlement.kind == "error":
            return [(line, settlement.detail)]
        async with tx.each(line):
            if settlement.kind == "requeue":
                error = settlement.detail
                await outcomes.requeue(tx.session, message, outcomes.error_dict(error))
            else:
                await _RECORD[settlement.kind](tx.session, message, settlement.detail)
        if settlement.kind == "requeue" and not tx.failed(line):
            return [(line, TransientDeliveryError(str(settlement.detail)))]
        return []


_RECORD: dict[str, Callable[[AsyncSession, WhatsappMessage, Any], Awaitable[None]]] = {
    "sent": outcomes.sent,
    "unknown": outcomes.unknown,
    "failed": outcomes.failed,
}


def _message(line: Line) -> WhatsappMessage:
    assert line.ready is not None
    return line.ready[0]


def _with_callback(message: WhatsappMessage) -> dict[str, Any]:
    # Echoed by Meta in status webhooks: lets a later status settle an unknown outcome.
    return {**message.payload, "biz_opaque_callback_data": f"tl:{message.id}"}
