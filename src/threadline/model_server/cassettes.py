"""Cassettes: a real provider's answers, recorded, replayed by matching the request.

A cassette is a YAML or JSON file holding ``entries``; each entry names its
``protocol``, the ``request`` body it answers and the ``response`` (status, headers,
body) the provider gave. An incoming request matches an entry when every key of the
recorded request has the same value in the incoming body (keys the recording left out,
such as ``max_tokens``, are not compared). The first matching entry answers, every
time: replay is deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from threadline.model_server.faults import Protocol

#: Headers of the recording's transfer, not of its content: never replayed.
_WIRE_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection"})


class RecordedResponse(BaseModel):
    """What the provider answered."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(default=200, ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any

    def replay_headers(self) -> dict[str, str]:
        """The recorded headers minus those describing the recorded bytes on the wire."""
        return {k: v for k, v in self.headers.items() if k.lower() not in _WIRE_HEADERS}


class CassetteEntry(BaseModel):
    """One recorded request and its answer."""

    model_config = ConfigDict(extra="forbid")

    protocol: Protocol
    request: dict[str, Any]
    response: RecordedResponse

    def matches(self, protocol: Protocol, body: dict[str, Any]) -> bool:
        """Whether this entry answers ``body`` sent over ``protocol``."""
        if protocol != self.protocol:
            return False
        return all(key in body and body[key] == value for key, value in self.request.items())


class Cassette(BaseModel):
    """Body of ``POST /_control/cassettes`` and the shape of a cassette file."""

    model_config = ConfigDict(extra="forbid")

    entries: list[CassetteEntry] = Field(default_factory=list)


def load_cassette(path: Path) -> Cassette:
    """A cassette file: ``.json``, else YAML (PyYAML is needed for YAML only)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return Cassette.model_validate(json.loads(text))
    import yaml  # not a dependency of the server: only YAML cassettes need it

    return Cassette.model_validate(yaml.safe_load(text) or {})


def find(
    entries: list[CassetteEntry], protocol: Protocol, body: dict[str, Any]
) -> CassetteEntry | None:
    """The first entry answering ``body``, or None."""
    return next((entry for entry in entries if entry.matches(protocol, body)), None)
