"""Deleting WhatsApp configs: refused while in use unless forced, and never leaving orphans.

A config is *in use* while executions of it are live (``running`` or ``waiting``) or
conversations on it are open. Such a delete is refused with a 422 that counts them and
says to add ``?force=true``. A forced (or unneeded) delete:

- fails the live executions through the executions domain's compare-and-set path
  (``failed``, with an error naming the deleted config); they, and every other
  execution of the config, stay as history with ``whatsapp_config_id`` (and the
  conversation) set to null;
- deletes the config's conversations, open or ended, and every message of them or of
  the config (both directions), with their delivery status events: a message cannot
  outlive the number and conversation it belongs to, and a deleted number's history is
  deleted with it, as the reference's "delete and all associated data" says;
- deletes the config's inbound triggers and sandbox sessions;
- keeps the raw webhook deliveries (an audit of what Meta sent), unlinked from the config.

Contacts belong to the project, not to a number, and stay.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import Unprocessable
from threadline.kit.clock import utcnow
from threadline.models import Project, WhatsappConfig
from threadline.whatsapp_configs import hooks, repository
from threadline.whatsapp_configs.repository import Usage
from threadline.whatsapp_configs.service import get


class ConfigInUse(Unprocessable):
    """The WhatsApp config is in use; add ?force=true to delete it anyway."""

    error = "WhatsApp config in use"

    @classmethod
    def of(cls, subject: str, usage: Usage, path: str) -> ConfigInUse:
        """The refusal, counting what is in use and saying how to force the delete."""
        text = (
            f"{subject} has {_count(usage.executions, 'live execution')} (running or waiting) "
            f"and {_count(usage.conversations, 'open conversation')}: deleting it fails those "
            f"executions and deletes its conversations and messages; to do so, send "
            f"DELETE {path}?force=true"
        )
        error = cls(text)
        error.details = text
        return error


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


async def delete(
    session: AsyncSession, project: Project, config_id: uuid.UUID, *, force: bool
) -> None:
    """Delete one config of ``project`` (see the module docstring for what goes with it)."""
    config = await get(session, project, config_id)
    subject = f"WhatsApp config {config.id}"
    await delete_all(session, [config], force=force, subject=subject, path=_path(config))


def _path(config: WhatsappConfig) -> str:
    return f"/api/v1/whatsapp_configs/{config.id}"


async def delete_all(
    session: AsyncSession,
    configs: Sequence[WhatsappConfig],
    *,
    force: bool,
    subject: str,
    path: str,
) -> None:
    """Delete ``configs`` together: all of them, or (in use and not forced) none."""
    ids = [config.id for config in configs]
    if not ids:
        return
    await repository.lock_conversations(session, ids)
    usage = await repository.usage(session, ids)
    if usage.in_use and not force:
        raise ConfigInUse.of(subject, usage, path)
    now = utcnow()
    stop = hooks.stop_execution()
    for execution_id in await repository.live_execution_ids(session, ids):
        error = {"message": "The WhatsApp config of this execution was deleted", "code": None}
        await stop(session, execution_id, error, now)
    await repository.purge(session, ids)
