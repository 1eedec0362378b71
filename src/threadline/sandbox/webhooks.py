"""Signed webhook deliveries to the platform, sent by one background dispatcher.

A delivery is one Meta-shaped POST (``object: whatsapp_business_account``) carrying
messages, statuses or value-level errors. The dispatcher sends them one at a time, in the
order they were made, retrying each with backoff before moving on; the duplicate, reorder
and batch modes of :class:`~threadline.sandbox.config.SandboxSettings` bend that on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx

from threadline.sandbox.config import SandboxConfig, SandboxSettings

log = logging.getLogger(__name__)

Kind = Literal["messages", "statuses", "errors", "calls", "template_status", "name_update"]
#: The ``field`` of Meta's change that carries each kind of item (else ``messages``).
FIELDS: dict[str, str] = {"calls": "calls"}
#: The one kind whose change is not a list of items: Meta's template review outcome.
TEMPLATE_STATUS_FIELD = "message_template_status_update"
#: The kinds whose change is one object about the account, not a list of items: each
#: change's ``field`` (Meta's template and display name review outcomes).
OBJECT_FIELDS: dict[str, str] = {
    "template_status": TEMPLATE_STATUS_FIELD,
    "name_update": "phone_number_name_update",
}
_LOG_LIMIT = 5000


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` header value Meta sends: ``sha256=<hex hmac>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def iso(moment: datetime | None) -> str | None:
    """A UTC timestamp as the control plane writes it (``...Z``)."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@dataclass
class Attempt:
    """One POST of one copy of a delivery."""

    copy: int
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        """The attempt as the delivery log shows it."""
        return {
            "copy": self.copy,
            "attempt": self.number,
            "at": iso(self.at),
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": round(self.duration_ms, 2),
        }


@dataclass
class Delivery:
    """One webhook POST: its items until it leaves, then its exact signed bytes."""

    id: str
    kind: Kind
    url: str
    created_at: datetime
    value: dict[str, Any]
    redelivery_of: str | None = None
    status: Literal["queued", "sending", "delivered", "failed"] = "queued"
    body: bytes | None = None
    signature: str | None = None
    delivered_at: datetime | None = None
    attempts: list[Attempt] = field(default_factory=list)

    def accepts(self, kind: Kind, batch_size: int) -> bool:
        """Whether an item of ``kind`` may still join this delivery (batch mode)."""
        waiting = self.status == "queued" and self.body is None
        batchable = kind not in OBJECT_FIELDS  # Meta sends one review event per change
        return waiting and batchable and self.kind == kind and len(self.value[kind]) < batch_size

    def merge(self, value: dict[str, Any]) -> None:
        """Add another value's items (and its contacts, once per wa_id)."""
        self.value[self.kind].extend(value[self.kind])
        known = {contact["wa_id"] for contact in self.value.get("contacts", [])}
        for contact in value.get("contacts", []):
            if contact["wa_id"] not in known:
                self.value.setdefault("contacts", []).append(contact)
                known.add(contact["wa_id"])

    def freeze(self, config: SandboxConfig, secret: str) -> None:
        """Serialise once (escaped unicode, like Meta) and sign those exact bytes."""
        if self.body is None:
            envelope = (
                template_envelope(config, self.value[self.kind][0], self.created_at, self.kind)
                if self.kind in OBJECT_FIELDS
                else meta_envelope(config, self.value, self.kind)
            )
            self.body = json.dumps(envelope, ensure_ascii=True, separators=(",", ":")).encode()
        self.signature = sign(secret, self.body)

    def ids(self) -> list[str]:
        """The wamids this delivery carries (messages or statuses)."""
        return [item["id"] for item in self.value[self.kind] if "id" in item]

    def to_json(self) -> dict[str, Any]:
        """The delivery as ``GET /_sandbox/webhooks`` lists it."""
        payload = json.loads(self.body) if self.body is not None else None
        return {
            "id": self.id,
            "kind": self.kind,
            "url": self.url,
            "status": self.status,
            "created_at": iso(self.created_at),
            "delivered_at": iso(self.delivered_at),
            "redelivery_of": self.redelivery_of,
            "ids": self.ids(),
            "item_count": len(self.value[self.kind]),
            "signature": self.signature,
            "payload": payload,
            "attempts": [attempt.to_json() for attempt in self.attempts],
        }


def meta_envelope(
    config: SandboxConfig, value: dict[str, Any], kind: str = "messages"
) -> dict[str, Any]:
    """The notification Meta POSTs: the WABA's entry with one change (``messages``, or
    ``calls`` for call events)."""
    metadata = {
        "display_phone_number": "".join(c for c in config.display_phone_number if c.isdigit()),
        "phone_number_id": config.phone_number_id,
    }
    full = {"messaging_product": "whatsapp", "metadata": metadata, **value}
    change = {"value": full, "field": FIELDS.get(kind, "messages")}
    entry = {"id": config.waba_id, "changes": [change]}
    return {"object": "whatsapp_business_account", "entry": [entry]}


def template_envelope(
    config: SandboxConfig, event: dict[str, Any], at: datetime, kind: str = "template_status"
) -> dict[str, Any]:
    """The notification of a review about the account: one object-valued change
    (``message_template_status_update`` or ``phone_number_name_update``)."""
    change = {"value": event, "field": OBJECT_FIELDS[kind]}
    entry = {"id": config.waba_id, "time": int(at.timestamp()), "changes": [change]}
    return {"object": "whatsapp_business_account", "entry": [entry]}


class Dispatcher:
    """Queues deliveries and POSTs them from one asyncio task (see the module docstring)."""

    def __init__(
        self,
        config: SandboxConfig,
        settings: Callable[[], SandboxSettings],
        now: Callable[[], datetime],
        next_id: Callable[[], str],
    ) -> None:
        self._config = config
        self._settings = settings
        self._now = now
        self._next_id = next_id
        self._queue: deque[Delivery] = deque()
        self.log: dict[str, Delivery] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._rng = random.Random()
        self._seed: int | None = None

    def submit(self, kind: Kind, value: dict[str, Any]) -> Delivery | None:
        """Queue items for the platform (merged into a waiting delivery in batch mode)."""
        settings = self._settings()
        if settings.webhook_url is None:
            return None
        last = self._queue[-1] if self._queue else None
        same_url = last is not None and last.url == settings.webhook_url
        if last is not None and same_url and last.accepts(kind, settings.webhook_batch_size):
            last.merge(value)
            return last
        delivery = Delivery(self._next_id(), kind, settings.webhook_url, self._now(), value)
        return self._enqueue(delivery)

    def redeliver(self, original: Delivery) -> Delivery:
        """Queue the same bytes again, as a new delivery (re-signed with today's secret)."""
        copy = Delivery(
            self._next_id(),
            original.kind,
            original.url,
            self._now(),
            json.loads(json.dumps(original.value)),
            redelivery_of=original.id,
            body=original.body,
        )
        return self._enqueue(copy)

    def clear(self) -> None:
        """Forget queued deliveries and the log (a delivery in flight finishes)."""
        self._queue.clear()
        self.log.clear()

    def pending(self) -> int:
        """Deliveries not yet finished (queued or being sent)."""
        return sum(1 for d in self.log.values() if d.status in ("queued", "sending"))

    def start(self) -> None:
        """Start the sending task on the running loop, if it is not running."""
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Cancel the sending task and wait for it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _enqueue(self, delivery: Delivery) -> Delivery:
        self._queue.append(delivery)
        self.log[delivery.id] = delivery
        while len(self.log) > _LOG_LIMIT:
            del self.log[next(iter(self.log))]
        with contextlib.suppress(RuntimeError):  # no running loop: started by the lifespan
            self.start()
        if self._wake is not None:
            self._wake.set()
        return delivery

    async def _run(self) -> None:
        async with httpx.AsyncClient() as client:
            while True:
                for delivery in await self._next_group():
                    try:
                        await self._send(client, delivery)
                    except Exception:  # the dispatcher must outlive any one delivery
                        log.exception("sandbox webhook %s failed unexpectedly", delivery.id)
                        delivery.status = "failed"

    async def _next_group(self) -> list[Delivery]:
        assert self._wake is not None
        while not self._queue:
            self._wake.clear()
            await self._wake.wait()
        settings = self._settings()
        window = settings.webhook_reorder_window
        if window > 1 or settings.webhook_batch_size > 1:
            await asyncio.sleep(settings.webhook_linger_ms / 1000)
        group = [self._queue.popleft() for _ in range(min(window, len(self._queue)))]
        for delivery in group:
            delivery.freeze(self._config, settings.app_secret)
        if window > 1:
            self._shuffler(settings.webhook_seed).shuffle(group)
        return group

    def _shuffler(self, seed: int | None) -> random.Random:
        if seed != self._seed:
            self._seed, self._rng = seed, random.Random(seed)
        return self._rng

    async def _send(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        delivery.status = "sending"
        copies = self._settings().webhook_duplicates
        results = await asyncio.gather(
            *(self._send_copy(client, delivery, copy) for copy in range(1, copies + 1))
        )
        delivery.status = "delivered" if any(results) else "failed"

    async def _send_copy(self, client: httpx.AsyncClient, delivery: Delivery, copy: int) -> bool:
        delays = list(self._settings().webhook_retry_delays_ms)
        for number in range(1, len(delays) + 2):
            if await self._attempt(client, delivery, copy, number):
                return True
            if number <= len(delays):
                await asyncio.sleep(delays[number - 1] / 1000)
        return False

    async def _attempt(
        self, client: httpx.AsyncClient, delivery: Delivery, copy: int, number: int
    ) -> bool:
        started, at = time.perf_counter(), self._now()
        status_code, error = await self._post(client, delivery)
        elapsed = (time.perf_counter() - started) * 1000
        delivery.attempts.append(Attempt(copy, number, at, status_code, error, elapsed))
        ok = status_code is not None and 200 <= status_code < 300
        if ok and delivery.delivered_at is None:
            delivery.delivered_at = self._now()
        return ok

    async def _post(
        self, client: httpx.AsyncClient, delivery: Delivery
    ) -> tuple[int | None, str | None]:
        """POST the signed bytes: the HTTP status, or the transport error."""
        assert delivery.body is not None and delivery.signature is not None
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": delivery.signature,
            "User-Agent": "facebookexternalua",
        }
        timeout = self._settings().webhook_timeout_s
        try:
            response = await client.post(
                delivery.url, content=delivery.body, headers=headers, timeout=timeout
            )
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None
