"""From an SDK's failure to :mod:`threadline.llm.errors`: one mapping for every provider.

Both official SDKs raise the same family (status errors carrying the response,
connection errors, timeouts, response validation errors); the decision depends only
on the status code and the headers, so it is written once here.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType

from threadline.kit.egress import EgressRefused
from threadline.llm.errors import (
    ModelAnswerMalformed,
    ModelError,
    ModelOverloaded,
    ModelRateLimited,
    ModelRejected,
    ModelTimeout,
    ModelUnavailable,
)

#: Anthropic's "overloaded" status; 503 means the same from OpenAI-compatible servers.
OVERLOADED_STATUSES = frozenset({503, 529})


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The provider's hint in seconds: ``retry-after-ms``, ``retry-after`` (seconds or
    an HTTP date); None when absent or unreadable."""
    lowered = {key.lower(): value for key, value in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            return max(float(value) / divisor, 0.0)
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(email.utils.mktime_tz(parsed) - time.time(), 0.0)
    return None


def from_status(status: int, headers: Mapping[str, str], message: str) -> ModelError:
    """The error for an HTTP error answer of a provider."""
    hint = retry_after(headers)
    text = f"HTTP {status}: {message}"
    if status == 429:
        return ModelRateLimited(text, retry_after=hint)
    if status in OVERLOADED_STATUSES:
        return ModelOverloaded(text, retry_after=hint)
    if status == 408:
        return ModelTimeout(text, retry_after=hint)
    # 409 is a lock timeout at OpenAI: transient, retried by both SDKs like a 5xx.
    if status >= 500 or status == 409:
        return ModelUnavailable(text, retry_after=hint)
    return ModelRejected(text)


def refused_egress(error: BaseException) -> EgressRefused | None:
    """The egress refusal behind a connection failure, if that is what it was."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, EgressRefused):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def connection_failed(error: BaseException) -> ModelError:
    """The error for a provider that could not be reached (an egress refusal is final)."""
    refused = refused_egress(error)
    if refused is not None:
        return ModelRejected(str(refused))
    return ModelUnavailable(f"the provider could not be reached: {error}")


@contextmanager
def sdk_errors(sdk: ModuleType) -> Iterator[None]:
    """Translate the exceptions of ``sdk`` (``openai`` or ``anthropic``: the same family,
    under the same names), raised after the SDK's own retries."""
    try:
        yield
    except sdk.APITimeoutError as error:
        raise ModelTimeout("no answer within the call's timeout") from error
    except sdk.APIConnectionError as error:
        raise connection_failed(error) from error
    except sdk.APIStatusError as error:
        raise from_status(error.status_code, error.response.headers, error.message) from error
    except sdk.APIResponseValidationError as error:
        raise ModelAnswerMalformed(f"unreadable answer: {error.message}") from error
    except EgressRefused as refused:  # raised through the SDK, which does not retry it
        raise ModelRejected(str(refused)) from refused
