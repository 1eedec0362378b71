"""GraphError parsing and the retryable classification."""

from __future__ import annotations

import json
from typing import Any

import pytest

from threadline.whatsapp import (
    DeliveryNotAttempted,
    DeliveryOutcomeUnknown,
    GraphError,
    PermanentGraphError,
    TransientGraphError,
    WhatsAppError,
)


def envelope(code: Any, **extra: Any) -> dict[str, Any]:
    return {
        "error": {"message": f"(#{code}) Boom", "type": "OAuthException", "code": code, **extra}
    }


def test_full_envelope_is_parsed() -> None:
    body = json.dumps(
        envelope(
            130429,
            error_data={"messaging_product": "whatsapp", "details": "Too many messages"},
            error_subcode=2494055,
            fbtrace_id="Az8or2yhqkZfEZ",
        )
    ).encode()

    error = GraphError.from_response(400, body)

    assert isinstance(error, TransientGraphError)
    assert (error.http_status, error.code, error.subcode) == (400, 130429, 2494055)
    assert (error.message, error.details) == ("(#130429) Boom", "Too many messages")
    assert (error.fbtrace_id, error.error_type, error.retryable) == (
        "Az8or2yhqkZfEZ",
        "OAuthException",
        True,
    )
    assert str(error) == "HTTP 400, code 130429: (#130429) Boom (Too many messages)"


@pytest.mark.parametrize("code", [2, 4, 80007, 130429, 131000, 131016, 131056])
def test_throttling_and_outage_codes_are_transient(code: int) -> None:
    error = GraphError.from_response(400, envelope(code))

    assert isinstance(error, TransientGraphError) and error.retryable


@pytest.mark.parametrize("code", [100, 131009, 131026, 131047, 132000, 132001, 368])
def test_request_and_recipient_errors_are_permanent(code: int) -> None:
    error = GraphError.from_response(400, envelope(code))

    assert isinstance(error, PermanentGraphError) and not error.retryable


def test_token_error_is_permanent() -> None:
    error = GraphError.from_response(401, envelope(190, error_subcode=463))

    assert isinstance(error, PermanentGraphError)
    assert (error.code, error.subcode, error.details) == (190, 463, None)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_5xx_and_429_are_transient_whatever_the_code(status: int) -> None:
    assert GraphError.from_response(status, envelope(100)).retryable


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (502, b"<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
        (503, b"", "HTTP 503 without a Graph error body"),
        (400, "plain text failure", "plain text failure"),
        (400, None, "HTTP 400 without a Graph error body"),
        (404, b'{"detail": "Not Found"}', '{"detail": "Not Found"}'),
        (400, b'{"error": "nope"}', '{"error": "nope"}'),
        (400, b"\xff\xfe garbage", "\ufffd\ufffd garbage"),
    ],
)
def test_odd_bodies_still_make_a_sensible_error(status: int, body: Any, message: str) -> None:
    error = GraphError.from_response(status, body)

    assert error.http_status == status
    assert error.code is None and error.details is None
    assert error.message == message
    assert error.retryable == (status >= 500)


def test_long_non_json_bodies_are_truncated() -> None:
    error = GraphError.from_response(500, "x" * 10_000)

    assert len(error.message) == 500


@pytest.mark.parametrize(
    ("extra", "code", "details"),
    [
        ({"error_data": "template name is invalid"}, 100, "template name is invalid"),
        ({"error_data": {"details": 42}}, 100, "42"),
        ({"error_data": None}, 100, None),
    ],
)
def test_error_data_variants(extra: dict[str, Any], code: int, details: str | None) -> None:
    error = GraphError.from_response(400, envelope(code, **extra))

    assert error.details == details


def test_string_code_is_coerced_and_garbage_code_ignored() -> None:
    assert GraphError.from_response(400, envelope("131000")).code == 131000
    assert GraphError.from_response(400, envelope(True)).code is None
    assert GraphError.from_response(400, envelope(["x"])).code is None


def test_envelope_without_message_gets_a_fallback() -> None:
    error = GraphError.from_response(400, {"error": {"code": 100}})

    assert error.code == 100 and error.message


def test_hierarchy() -> None:
    for cls in (GraphError, DeliveryNotAttempted, DeliveryOutcomeUnknown):
        assert issubclass(cls, WhatsAppError)
    assert issubclass(TransientGraphError, GraphError)
    assert issubclass(PermanentGraphError, GraphError)
    assert not issubclass(DeliveryOutcomeUnknown, DeliveryNotAttempted)
