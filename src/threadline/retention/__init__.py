"""Retention: the event log, failed jobs and raw webhooks do not grow without bound."""
