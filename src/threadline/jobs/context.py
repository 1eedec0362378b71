"""What a task handler gets: its job (or batch of jobs), the process's resources, and
whether it still owns them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs import repository
from threadline.jobs.repository import ClaimedJob
from threadline.jobs.retry import LeaseLost
from threadline.kit.resources import Resources


@dataclass
class JobContext:
    """A running job as its handler sees it.

    ``lease_lost`` is set by the worker's heartbeat when another worker has taken the job
    over; from then on :meth:`finish` and :meth:`check_lease` raise :class:`LeaseLost`.
    ``outcome`` is set once a batch has settled the job (``retry``, ``failed``...).
    """

    job: ClaimedJob
    resources: Resources
    finished: bool = field(default=False)
    lease_lost: bool = field(default=False)
    outcome: str | None = field(default=None)

    @property
    def settled(self) -> bool:
        """Finished, failed or retried, or no longer this worker's: nothing more to do."""
        return self.finished or self.lease_lost or self.outcome is not None

    def check_lease(self) -> None:
        """Raise :class:`LeaseLost` if the heartbeat found the job taken over."""
        if self.lease_lost:
            raise LeaseLost(f"job {self.job.id} was taken over")

    async def finish(self, session: AsyncSession) -> None:
        """Delete the job inside ``session``'s transaction, so it ends with its effects.

        Raises :class:`LeaseLost` if another worker has taken the job over; the caller's
        transaction then rolls back and nothing is applied twice.
        """
        self.check_lease()
        if not await repository.finish(session, self.job):
            raise LeaseLost(f"job {self.job.id} was taken over")
        self.finished = True


#: Records a job's failure (retry or give up, by its policy); returns the outcome.
RecordFailure = Callable[[JobContext, Exception], Awaitable[str]]


async def _raise(_context: JobContext, error: Exception) -> str:
    # A batch of one run as a plain job: its failure is the handler's, as for any job.
    raise error


@dataclass
class BatchTransaction:
    """One transaction of a batch: ``held`` are the jobs locked as still this worker's."""

    session: AsyncSession
    held: list[JobContext]
    finishing: list[JobContext] = field(default_factory=list)
    failures: list[tuple[JobContext, Exception]] = field(default_factory=list)

    def failed(self, context: JobContext) -> bool:
        """Whether ``context``'s effects raised in this transaction (see :meth:`each`)."""
        return any(failed is context for failed, _ in self.failures)

    async def finish(self, contexts: Sequence[JobContext]) -> None:
        """Delete these jobs together with the transaction's effects, in one statement.

        A job whose effects raised in this transaction is left to its retry policy.
        """
        contexts = [context for context in contexts if not self.failed(context)]
        done = await repository.finish_many(self.session, [c.job for c in contexts])
        for context in contexts:
            if context.job.id in done:
                self.finishing.append(context)
            else:
                context.lease_lost = True

    def fail_later(self, context: JobContext, error: Exception) -> None:
        """Leave ``context`` to its retry policy with ``error`` (a :class:`RetryLater`, say)
        once the transaction has committed; its effects in it so far are kept."""
        self.failures.append((context, error))

    @contextlib.asynccontextmanager
    async def each(self, context: JobContext) -> AsyncIterator[AsyncSession]:
        """One job's effects in a savepoint: if they raise, only they roll back, and the
        job is retried or failed by its policy once the transaction has committed."""
        try:
            async with self.session.begin_nested():
                yield self.session
        except Exception as error:
            self.failures.append((context, error))


@dataclass
class BatchContext:
    """Jobs of one batch task, claimed together and run by one handler call.

    Every transaction of the batch (:meth:`transaction`) first locks the jobs still
    held (same attempt, still running) and lists them: the handler applies effects only
    for those, so a job taken over mid-batch is skipped, never applied twice. Each job
    keeps its own lease, retries and give-up: :meth:`fail` settles one job by its policy
    while the others carry on. Jobs the handler leaves unsettled are finished after it.
    """

    jobs: list[JobContext]
    resources: Resources
    record_failure: RecordFailure = field(default=_raise)

    def live(self) -> list[JobContext]:
        """The jobs not yet settled, as far as this worker knows."""
        return [context for context in self.jobs if not context.settled]

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[BatchTransaction]:
        """A transaction whose ``held`` jobs are locked as this worker's until it ends.

        Jobs finished in it count as finished, and failures caught by
        :meth:`BatchTransaction.each` are recorded, only once it has committed.
        """
        async with self.resources.db.transaction() as session:
            live = self.live()
            held_ids = await repository.lock_held(session, [c.job for c in live])
            for context in live:
                context.lease_lost = context.lease_lost or context.job.id not in held_ids
            tx = BatchTransaction(session, [c for c in live if not c.lease_lost])
            yield tx
        for context in tx.finishing:
            context.finished = True
        for context, error in tx.failures:
            await self.fail(context, error)

    async def fail(self, context: JobContext, error: Exception) -> None:
        """Retry or give up on one job by its policy (its own transaction)."""
        context.outcome = await self.record_failure(context, error)
