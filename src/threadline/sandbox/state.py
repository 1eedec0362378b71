"""In-memory state of one sandbox: templates, outbox, injected failures and rate limiters.

Handlers mutate this state without awaiting in between, so concurrent sends on the
single event loop always see consistent counters and outbox contents.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from threadline.sandbox.config import SandboxConfig, TemplateSpec
from threadline.sandbox.faults import TITLES, GraphFault, invalid_parameter
from threadline.sandbox.phones import Outbound, Phone
from threadline.sandbox.webhooks import Dispatcher


def digits(value: str) -> str:
    """The digits of a phone number, which is how WhatsApp ids (``wa_id``) are written."""
    return re.sub(r"\D", "", value)


def utc_now() -> datetime:
    """The current wall-clock time, timezone-aware in UTC."""
    return datetime.now(UTC)


class ManualClock:
    """A monotonic clock for tests: time stands still until :meth:`advance` is called."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


@dataclass
class Template:
    """A stored template with the id the Graph API reports for it."""

    id: str
    spec: TemplateSpec
    rejected_reason: str | None = None

    def to_graph(self) -> dict[str, Any]:
        """The template as ``GET /{waba_id}/message_templates`` lists it."""
        body: dict[str, Any] = {
            "name": self.spec.name,
            "parameter_format": self.spec.parameter_format,
            "components": self.spec.components,
            "language": self.spec.language,
            "status": self.spec.status,
            "category": self.spec.category,
            "id": self.id,
        }
        if self.rejected_reason is not None:
            body["rejected_reason"] = self.rejected_reason
        return body


@dataclass(frozen=True)
class OutboxEntry:
    """One send the sandbox accepted."""

    id: str
    to: str
    wa_id: str
    type: str
    payload: dict[str, Any]
    phone_number_id: str
    received_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The entry as ``GET /_sandbox/outbox`` returns it."""
        return {
            "id": self.id,
            "to": self.to,
            "wa_id": self.wa_id,
            "type": self.type,
            "payload": self.payload,
            "phone_number_id": self.phone_number_id,
            "received_at": self.received_at.isoformat().replace("+00:00", "Z"),
        }


@dataclass(frozen=True)
class Media:
    """An uploaded (or auto-created inbound) media object."""

    id: str
    mime_type: str
    data: bytes
    sha256: str
    filename: str | None = None


@dataclass
class FailureRule:
    """An injected failure: the next ``remaining`` matching sends fail with this error."""

    remaining: int
    code: int
    http_status: int
    message: str | None = None
    details: str | None = None
    to: str | None = None

    def matches(self, wa_id: str) -> bool:
        """Whether a send to ``wa_id`` should consume this rule."""
        return self.remaining > 0 and (self.to is None or digits(self.to) == wa_id)

    def fault(self) -> GraphFault:
        """The error a matching send answers with."""
        title = self.message or TITLES.get(self.code, "Injected failure")
        details = self.details or title
        return GraphFault(self.code, details, http_status=self.http_status, title=title)

    def to_json(self) -> dict[str, Any]:
        """The rule as the control plane reports it."""
        return {
            "times": self.remaining,
            "code": self.code,
            "http_status": self.http_status,
            "message": self.message,
            "details": self.details,
            "to": self.to,
        }


@dataclass
class TokenBucket:
    """Allows ``rate`` sends per second with bursts of up to ``rate``."""

    rate: int
    updated: float
    tokens: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.rate)

    def take(self, now: float) -> bool:
        """Consume one token if one is available."""
        self.tokens = min(float(self.rate), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class NameRequest:
    """A display name asked for and where its review stands (``PENDING_REVIEW`` until
    decided; see :mod:`.display_names`)."""

    name: str
    status: str = "PENDING_REVIEW"


@dataclass
class SignupCode:
    """An authorization code embedded signup handed out: valid once, until ``expires_at``."""

    expires_at: datetime
    used: bool = False


class SandboxState:
    """Everything one sandbox remembers; lives on ``app.state.sandbox``.

    ``clock`` (monotonic seconds) drives the rate limiters and ``wall_clock`` stamps the
    outbox; tests may replace either. :meth:`now` is the wall clock moved by
    ``POST /_sandbox/clock``, which is what windows and webhook timestamps read.
    """

    def __init__(
        self,
        config: SandboxConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.clock = clock
        self.wall_clock = wall_clock
        self._boot = secrets.token_bytes(8)
        self._id_prefix = 10**9 + secrets.randbelow(9 * 10**9)
        # Never reset, so ids stay unique across /_sandbox/reset as well as across boots.
        self._sequence = itertools.count(1)
        self.dispatcher = Dispatcher(config, lambda: self.settings, self.now, self.next_object_id)
        self._timers: set[asyncio.TimerHandle] = set()
        self.reset()

    @property
    def boot_id(self) -> str:
        """Random per-instance id that makes wamids unique across restarts."""
        return self._boot.hex()

    def reset(self) -> None:
        """Forget every send, failure and template change; keep the id sequence."""
        self.settings = self.config.initial_settings()
        self.outbox: list[OutboxEntry] = []
        self.reads: list[dict[str, Any]] = []
        self.failures: list[FailureRule] = []
        self.templates: dict[str, Template] = {}
        self._last_send: dict[tuple[str, str], float] = {}
        self._bucket: TokenBucket | None = None
        self.clock_offset = timedelta()
        self.phones: dict[str, Phone] = {}
        self.sent: dict[str, Outbound] = {}
        self.media: dict[str, Media] = {}
        self.verified_name = self.config.verified_name
        self.name_request: NameRequest | None = None
        #: Embedded signup's authorization codes (see :mod:`.signup`): code -> expiry, used.
        self.signup_codes: dict[str, SignupCode] = {}
        self.dispatcher.clear()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for spec in self.config.templates:
            self.add_template(spec.model_copy(deep=True))

    def now(self) -> datetime:
        """The sandbox's time: the wall clock plus the offset ``POST /_sandbox/clock`` added."""
        return self.wall_clock() + self.clock_offset

    def phone(self, wa_id: str) -> Phone:
        """The emulated user with this wa_id, created on first contact."""
        return self.phones.setdefault(wa_id, Phone(wa_id))

    def later(self, delay_ms: int, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the event loop after ``delay_ms``; :meth:`reset` cancels it."""
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            callback()

        handle = asyncio.get_running_loop().call_later(delay_ms / 1000, fire)
        self._timers.add(handle)

    def next_wamid(self) -> str:
        """A message id shaped like Meta's, unique across restarts."""
        raw = self._boot + next(self._sequence).to_bytes(8, "big")
        return "wamid." + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def next_object_id(self) -> str:
        """A numeric Graph object id (templates), unique across restarts."""
        return f"{self._id_prefix}{next(self._sequence):06d}"

    def take_failure(self, wa_id: str) -> FailureRule | None:
        """Consume one use of the first injected failure matching this recipient."""
        for rule in self.failures:
            if rule.matches(wa_id):
                rule.remaining -= 1
                self.failures = [r for r in self.failures if r.remaining > 0]
                return rule
        return None

    def admit(self, phone_number_id: str, wa_id: str) -> None:
        """Apply the throughput and pair rate limits; raises :class:`GraphFault`."""
        now = self.clock()
        if self.settings.throughput_limit and not self._bucket_at(now).take(now):
            raise GraphFault(
                130429,
                "Message failed to send because there were too many messages sent from this "
                "phone number in a short period of time",
            )
        last = self._last_send.get((phone_number_id, wa_id))
        too_soon = last is not None and now - last < self.settings.pair_interval_s
        if self.settings.pair_rate_limit and too_soon:
            raise GraphFault(
                131056,
                "Message failed to send because there were too many messages sent from "
                "this phone number to the same phone number in a short period of time",
            )

    def record_send(
        self, phone_number_id: str, to: str, wa_id: str, kind: str, payload: dict[str, Any]
    ) -> OutboxEntry:
        """Store an accepted send in the outbox and return it."""
        entry = OutboxEntry(
            id=self.next_wamid(),
            to=to,
            wa_id=wa_id,
            type=kind,
            payload=payload,
            phone_number_id=phone_number_id,
            received_at=self.now(),
        )
        self.outbox.append(entry)
        self._last_send[(phone_number_id, wa_id)] = self.clock()
        return entry

    def find_outbox(self, to: str | None, since: datetime | None) -> list[OutboxEntry]:
        """Outbox entries sent to ``to`` (as given or as digits) at or after ``since``."""
        entries = self.outbox
        if to is not None:
            entries = [e for e in entries if to in (e.to, e.wa_id) or digits(to) == e.wa_id]
        if since is not None:
            since = since if since.tzinfo else since.replace(tzinfo=UTC)
            entries = [e for e in entries if e.received_at >= since]
        return entries

    def find_template(self, name: str, language: str) -> Template | None:
        """The template with this name and language, whatever its status."""
        for template in self.templates.values():
            if (template.spec.name, template.spec.language) == (name, language):
                return template
        return None

    def add_template(self, spec: TemplateSpec, rejected_reason: str | None = None) -> Template:
        """Store a template; raises :class:`GraphFault` if (name, language) exists."""
        if self.find_template(spec.name, spec.language) is not None:
            raise invalid_parameter(
                f"Content in {spec.language} already exists for template {spec.name}"
            )
        template = Template(self.next_object_id(), spec, rejected_reason)
        self.templates[template.id] = template
        return template

    def delete_templates(self, name: str, template_id: str | None = None) -> int:
        """Delete every language of ``name`` (or only ``template_id``); returns the count."""
        doomed = [
            t.id
            for t in self.templates.values()
            if t.spec.name == name and template_id in (None, t.id)
        ]
        for doomed_id in doomed:
            del self.templates[doomed_id]
        return len(doomed)

    def _bucket_at(self, now: float) -> TokenBucket:
        if self._bucket is None or self._bucket.rate != self.settings.throughput_mps:
            self._bucket = TokenBucket(self.settings.throughput_mps, now)
        return self._bucket
