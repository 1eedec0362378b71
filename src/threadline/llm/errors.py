"""Why a model call failed, as the runtime needs to know it: retry, and when, or not.

Providers map their SDK's exceptions to these at their edge. A model call has no side
effects, so retrying one that may have been answered (a timeout) is safe: it costs
tokens, never a duplicate message. ``retry_after`` is the provider's hint in seconds.
"""

from __future__ import annotations


class ModelError(Exception):
    """The model call failed."""

    retryable: bool = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelRateLimited(ModelError):
    """The provider answered 429: too many requests or tokens for now."""

    retryable = True


class ModelOverloaded(ModelError):
    """The provider is overloaded (Anthropic's 529, a 503)."""

    retryable = True


class ModelUnavailable(ModelError):
    """The provider failed (5xx) or could not be reached."""

    retryable = True


class ModelTimeout(ModelError):
    """No answer within the call's timeout."""

    retryable = True


class ModelRejected(ModelError):
    """The provider refused the request (bad key, unknown model, invalid request): a
    retry would fail the same way."""


class ModelAnswerMalformed(ModelError):
    """The provider's answer could not be read (no choices, an unknown block type)."""

    retryable = True
