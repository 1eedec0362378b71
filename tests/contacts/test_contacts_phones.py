"""Phone numbers normalised to WhatsApp ids."""

from __future__ import annotations

import pytest

from threadline.contacts.phones import InvalidPhoneNumber, display, is_phone_number, normalise


@pytest.mark.parametrize(
    ("typed", "wa_id"),
    [
        ("15550102030", "15550102030"),
        ("+15550102030", "15550102030"),
        ("+1 (555) 010-2030", "15550102030"),
        ("+44.20.7946.0000", "442079460000"),
        (" +49 30 901820 ", "4930901820"),
        ("12345", "12345"),
        ("123456789012345", "123456789012345"),
    ],
)
def test_usual_notations_become_the_digits(typed: str, wa_id: str) -> None:
    assert normalise(typed) == wa_id
    assert is_phone_number(typed)
    assert display(wa_id) == f"+{wa_id}"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "+",
        "1234",
        "1234567890123456",
        "0044 20 7946 0000",
        "020 7946 0000",
        "++15550102030",
        "1555010203x",
        "+1 555 010 2030 ext 4",
        "\uff11\uff15\uff15\uff15\uff10\uff11\uff10\uff12\uff10\uff13\uff10",  # full-width digits
        "1555\x000102030",
    ],
)
def test_anything_else_is_refused_with_the_rule(typed: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as refused:
        normalise(typed)
    assert "5 to 15 digits" in refused.value.message
    assert refused.value.status_code == 422
    assert not is_phone_number(typed)
