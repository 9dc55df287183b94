"""A phone as the citizen gives it becomes every wa_id it may be stored as; message ids of
a number share a prefix; the audit hash hides the phone and treats both forms alike."""

from __future__ import annotations

import pytest

from bridge.core.privacy import NotAPhone, subject_of, wa_ids_for, wamid_of, wamid_prefix
from bridge.sandbox.graph_wire import new_wamid


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+55 (11) 98765-4321", ["5511987654321", "551187654321"]),
        ("11 98765-4321", ["5511987654321", "551187654321"]),  # no country code: Brazil
        ("551187654321", ["551187654321", "5511987654321"]),  # the old form finds the new
        ("+55 11 3333-4444", ["551133334444"]),  # a landline has no ninth digit
        # 9 + 2345-6789 is a mobile; 2345-6789 without it is someone's landline.
        ("+55 11 92345-6789", ["5511923456789"]),
        ("+1 650 555 1234", ["16505551234"]),
    ],
)
def test_a_phone_becomes_every_stored_form(phone: str, expected: list[str]) -> None:
    assert wa_ids_for(phone) == expected


@pytest.mark.parametrize("phone", ["", "abc", "123", "+55 11 98765-4321 0000 0000"])
def test_something_that_is_not_a_phone_is_refused(phone: str) -> None:
    with pytest.raises(NotAPhone):
        wa_ids_for(phone)


def test_message_ids_to_and_from_a_number_are_found_and_no_neighbours() -> None:
    prefix = wamid_prefix("5511987654321")
    ours = [new_wamid("5511987654321"), new_wamid("5511987654321", inbound=True)]
    neighbour = new_wamid("5511987654320")
    assert all(m.startswith(prefix) and wamid_of(m, "5511987654321") for m in ours)
    assert wamid_of(f"{ours[0]}:failed", "5511987654321")  # a seen `failed` status
    assert neighbour.startswith(prefix)  # the prefix only narrows the search ...
    assert not wamid_of(neighbour, "5511987654321")  # ... the decoded digits decide
    assert not wamid_of("not-a-wamid!", "5511987654321")
    # A real id from Meta's documentation, for +1 650-507-6520 (11 digits).
    real = "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
    assert real.startswith(wamid_prefix("16505076520")) and wamid_of(real, "16505076520")


def test_the_audit_subject_hides_the_phone_and_matches_both_forms() -> None:
    key = b"k" * 32
    subject = subject_of(key, "5511987654321")
    assert subject == subject_of(key, "551187654321")
    assert "987654321" not in subject and subject != subject_of(b"x" * 32, "5511987654321")
