"""Delivery metrics: what happened to each attempt to send an outbox message."""

from __future__ import annotations

from prometheus_client import Counter

DELIVERIES = Counter(
    "threadline_deliveries",
    "Outbox delivery attempts by outcome: sent, retry (requeued), unknown, failed.",
    ["outcome"],
)
for _outcome in ("sent", "retry", "unknown", "failed"):
    DELIVERIES.labels(_outcome)  # every outcome shows, at 0, from the first scrape
