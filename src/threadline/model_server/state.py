"""The model server's memory: scripts, faults, latency, cassette, received requests."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from threadline.kit.clock import utcnow
from threadline.model_server.cassettes import Cassette, CassetteEntry, find
from threadline.model_server.faults import Fault, Protocol
from threadline.model_server.recorder import Recorder
from threadline.model_server.scripts import Script

#: Received requests kept (the oldest are dropped past it).
REQUEST_LOG_SIZE = 1000


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """One call as the server received it (the API key is never kept)."""

    seq: int
    protocol: Protocol
    path: str
    model: str
    body: dict[str, Any]
    received_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The control plane's view of it."""
        return {
            "seq": self.seq,
            "protocol": self.protocol,
            "path": self.path,
            "model": self.model,
            "body": self.body,
            "received_at": self.received_at.isoformat(),
        }


@dataclass
class ModelServerState:
    """Everything the server answers from; :meth:`reset` empties it (tests do, per test)."""

    #: Loaded at start (``--cassette``); kept by :meth:`reset`.
    boot_cassette: Cassette = field(default_factory=Cassette)
    scripts: dict[str, Script] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    latency_seconds: float = 0.0
    cassette: list[CassetteEntry] = field(default_factory=list)
    requests: deque[ReceivedRequest] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))
    #: Set by ``threadline model-server --record``: unanswered calls go to a provider.
    recorder: Recorder | None = None
    _seq: int = 0

    def __post_init__(self) -> None:
        self.cassette = self._kept_entries()

    def _kept_entries(self) -> list[CassetteEntry]:
        recorded = self.recorder.entries if self.recorder else []
        return [*recorded, *self.boot_cassette.entries]

    def reset(self) -> None:
        """Forget scripts, faults, latency, loaded cassettes and the request log (the
        cassette given at start and the calls recorded stay)."""
        self.scripts.clear()
        self.faults.clear()
        self.latency_seconds = 0.0
        self.cassette = self._kept_entries()
        self.requests.clear()

    def record(self, protocol: Protocol, path: str, model: str, body: dict[str, Any]) -> None:
        """Log one received call."""
        self._seq += 1
        self.requests.append(ReceivedRequest(self._seq, protocol, path, model, body, utcnow()))

    def take_fault(self, protocol: Protocol, model: str) -> Fault | None:
        """The first fault hitting this call, one of its ``times`` used up."""
        for index, fault in enumerate(self.faults):
            if fault.hits(protocol, model):
                if fault.times <= 1:
                    del self.faults[index]
                else:
                    self.faults[index] = fault.model_copy(update={"times": fault.times - 1})
                return fault
        return None

    def remember(self, entry: CassetteEntry) -> None:
        """Answer from a newly recorded entry from now on (if it succeeded)."""
        if entry.response.status < 400:
            self.cassette.insert(0, entry)

    def recorded(self, protocol: Protocol, body: dict[str, Any]) -> CassetteEntry | None:
        """The cassette entry answering this call, if any."""
        return find(self.cassette, protocol, body)
