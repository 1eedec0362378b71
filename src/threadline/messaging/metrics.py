"""Delivery metrics: what happened to each attempt to send an outbox message."""

from __future__ import annotations

from prometheus_client import Counter

DELIVERIES = Counter(
    "threadline_deliveries",
    "Outbox delivery outcomes: sent, retry (requeued), unknown, failed, failed_after_send.",
    ["outcome"],
)
for _outcome in ("sent", "retry", "unknown", "failed", "failed_after_send"):
    DELIVERIES.labels(_outcome)  # every outcome shows, at 0, from the first scrape

THROTTLED = Counter(
    "threadline_deliveries_throttled",
    "Sends the Graph API refused as too fast: 130429 (throughput) or 131056 (pair rate).",
    ["code"],
)
for _code in ("130429", "131056"):
    THROTTLED.labels(_code)
