"""What a task handler gets: its job, the process's resources, and whether it still owns it."""

from __future__ import annotations

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
    """

    job: ClaimedJob
    resources: Resources
    finished: bool = field(default=False)
    lease_lost: bool = field(default=False)

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
