"""Recording a cassette: forward what no fault or entry answers to a real provider.

Only ``threadline model-server --record`` sets a recorder up (never the control plane,
which would make any caller's server an open proxy). The caller's key travels to the
provider in its own header and is never written: an entry keeps the request body and,
of the answer, its status, body and the headers the SDKs read (request id, retry hints).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from threadline.kit.tls import shared_ssl_context
from threadline.model_server.cassettes import Cassette, CassetteEntry, RecordedResponse
from threadline.model_server.faults import Protocol

#: The request headers a provider needs (the key among them), forwarded as received.
FORWARDED = (
    "authorization",
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "openai-organization",
)
#: The answer headers kept in the cassette.
KEPT = ("x-request-id", "request-id")
#: Each protocol's endpoint under the provider's base URL (as the SDKs' base URLs go).
ENDPOINTS: dict[Protocol, str] = {"openai": "/chat/completions", "anthropic": "/v1/messages"}


@dataclass
class Recorder:
    """Upstream base URLs per protocol (``https://api.openai.com/v1``,
    ``https://api.anthropic.com``) and the cassette file the answers are added to."""

    path: Path
    upstreams: dict[Protocol, str]
    timeout_seconds: float = 120.0
    entries: list[CassetteEntry] = field(default_factory=list)

    def forwards(self, protocol: Protocol) -> bool:
        """Whether calls of ``protocol`` are recorded."""
        return protocol in self.upstreams

    async def forward(
        self, protocol: Protocol, headers: dict[str, str], body: dict[str, Any]
    ) -> CassetteEntry:
        """Send the call upstream and, when it succeeded, keep it and save the file.

        A failure (a 429, a 529) is answered as it came but not recorded: replayed, a
        passing failure would fail every run.
        """
        url = self.upstreams[protocol].rstrip("/") + ENDPOINTS[protocol]
        sent = {k: v for k, v in headers.items() if k.lower() in FORWARDED}
        async with httpx.AsyncClient(
            verify=shared_ssl_context(), timeout=self.timeout_seconds
        ) as http:
            answer = await http.post(url, json=body, headers=sent)
        entry = CassetteEntry(protocol=protocol, request=body, response=_recorded(answer))
        if answer.is_success:
            self.entries.append(entry)
            self.save()
        return entry

    def save(self) -> None:
        """Write every entry recorded so far (JSON for ``.json``, else YAML)."""
        cassette = Cassette(entries=self.entries).model_dump()
        if self.path.suffix.lower() == ".json":
            self.path.write_text(json.dumps(cassette, indent=2), encoding="utf-8")
            return
        import yaml  # only YAML cassettes need PyYAML

        self.path.write_text(yaml.safe_dump(cassette, sort_keys=False), encoding="utf-8")


def _recorded(answer: httpx.Response) -> RecordedResponse:
    try:
        body: Any = answer.json()
    except ValueError:
        body = answer.text
    kept = {k: v for k, v in answer.headers.items() if k.lower() in KEPT}
    return RecordedResponse(status=answer.status_code, headers=kept, body=body)
