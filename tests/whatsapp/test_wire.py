"""Parsing webhook bodies: every recorded real-world payload, and the awkward ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.core.model import CitizenMessage, OutboundFailed
from bridge.whatsapp import wire

PYWA = Path(__file__).resolve().parent.parent / "fixtures" / "whatsapp" / "pywa"
CASES = [
    (f"{path.stem}:{name}", body)
    for path in sorted(PYWA.glob("*.json"))
    for name, body in json.loads(path.read_text()).items()
]


def meta_bytes(body: object) -> bytes:
    """Serialised the way Meta sends it (contract §3): compact, \\uXXXX, escaped slashes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


@pytest.mark.parametrize(("name", "body"), CASES, ids=[c[0] for c in CASES])
def test_every_recorded_payload_parses(name: str, body: dict[str, object]) -> None:
    items = wire.parse(meta_bytes(body))
    assert items, name  # even ignored fields yield a Skipped item, never nothing


def _by_case(file: str, case: str) -> list[wire.Item]:
    body = json.loads((PYWA / f"{file}.json").read_text())[case]
    return wire.parse(meta_bytes(body))


@pytest.mark.parametrize(
    ("case", "text", "choice", "media_kind", "rendered"),
    [
        ("text", "Body Text", None, None, False),
        ("image", "", None, "image", False),
        ("document", None, None, "document", False),
        ("voice", "", None, "audio", False),
        ("static_sticker", "", None, "sticker", False),
        ("reaction", "😮", None, None, True),
        ("current_location", "📍", None, None, True),
        ("contacts", "👤 Chandler Bing", None, None, True),
        ("order", "🛒 3× HAMBURGER", None, None, True),
        ("unsupported", "[unsupported]", None, None, True),
        ("reply", None, None, None, False),
    ],
)
def test_message_kinds_become_citizen_messages(
    case: str, text: str | None, choice: str | None, media_kind: str | None, rendered: bool
) -> None:
    """`rendered`: the citizen did not write the text (the bot takes it as no answer)."""
    (item,) = _by_case("message", case)
    assert isinstance(item, CitizenMessage)
    assert item.key.phone_number_id == "1122334455667"
    assert item.key.wa_id == "972987654321" and item.profile_name == "Test Name"
    if text is not None:
        assert item.text.startswith(text)
    assert item.choice_id == choice
    assert (item.media.kind if item.media else None) == media_kind
    assert item.rendered is rendered


def test_button_and_list_replies_carry_the_choice_id() -> None:
    (button,) = _by_case("callback_button", "quick_reply")
    (row,) = _by_case("callback_selection", "callback")
    assert isinstance(button, CitizenMessage) and button.choice_id
    assert isinstance(row, CitizenMessage) and row.choice_id and row.text


@pytest.mark.parametrize("case", ["unreaction_empty", "unreaction_no_emoji"])
def test_removed_reactions_are_skipped(case: str) -> None:
    (item,) = _by_case("message", case)
    assert isinstance(item, wire.Skipped) and not item.record


def test_failed_status_carries_the_code() -> None:
    (item,) = _by_case("message_status", "failed")
    assert item == OutboundFailed(
        "wamid.xyzxyz",  # type: ignore[arg-type]
        130472,
        "User's number is part of an experiment",
        1689380458.0,  # the status's own time: a late 131047 must not close a reopened window
    )


@pytest.mark.parametrize("odd", ["", "soon", None, "1e400"])
def test_a_failed_status_with_an_odd_time_is_still_a_failure(odd: object) -> None:
    body = json.loads((PYWA / "message_status.json").read_text())["failed"]
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = odd
    (item,) = wire.parse(meta_bytes(body))
    assert isinstance(item, OutboundFailed) and item.code == 130472 and item.at is None


def test_other_statuses_and_fields_are_skipped_quietly() -> None:
    for file, case in [("message_status", "read"), ("account_update", "account_deleted")]:
        items = _by_case(file, case)
        assert all(isinstance(i, wire.Skipped) and not i.record for i in items)


def test_value_level_errors_are_recorded() -> None:
    items = _by_case("message", "interactive_message_with_err")
    assert any(isinstance(i, wire.Skipped) and i.record for i in items)


def _envelope(*values: dict[str, object]) -> dict[str, object]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": v} for v in values]}],
    }


def _value(*messages: dict[str, object], contacts: list[object] | None = None) -> dict[str, object]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5511999990000", "phone_number_id": "42"},
        "contacts": contacts or [],
        "messages": list(messages),
    }


def test_batches_yield_every_message_in_order() -> None:
    msgs = [
        {
            "from": "5511",
            "id": f"wamid.{i}",
            "timestamp": "1",
            "type": "text",
            "text": {"body": str(i)},
        }
        for i in range(4)
    ]
    body = _envelope(_value(*msgs[:2]), _value(*msgs[2:]))
    items = wire.parse(meta_bytes(body))
    assert [i.text for i in items if isinstance(i, CitizenMessage)] == ["0", "1", "2", "3"]


def test_escaped_unicode_is_decoded() -> None:
    body = _envelope(
        _value(
            {
                "from": "5511",
                "id": "w",
                "timestamp": "1",
                "type": "text",
                "text": {"body": "Olá, café ☕"},
            }
        )
    )
    (item,) = wire.parse(meta_bytes(body))
    assert isinstance(item, CitizenMessage) and item.text == "Olá, café ☕"


def test_username_users_are_keyed_by_their_business_scoped_id() -> None:
    msg = {
        "from_user_id": "BR.123",
        "id": "w",
        "timestamp": "1",
        "type": "text",
        "text": {"body": "x"},
    }
    (item,) = wire.parse(meta_bytes(_envelope(_value(msg))))
    assert isinstance(item, CitizenMessage) and item.key.wa_id == "BR.123"


def test_message_without_sender_is_recorded_not_raised() -> None:
    msg = {"id": "w", "timestamp": "1", "type": "text", "text": {"body": "x"}}
    (item,) = wire.parse(meta_bytes(_envelope(_value(msg))))
    assert isinstance(item, wire.Skipped) and item.record


def test_unknown_type_and_missing_type_object_do_not_raise() -> None:
    odd = [
        {"from": "5511", "id": "a", "timestamp": "1", "type": "poll"},
        {"from": "5511", "id": "b", "timestamp": "1", "type": "image"},
        {
            "from": "5511",
            "id": "c",
            "timestamp": "1",
            "type": "interactive",
            "interactive": {"type": "call_permission_reply"},
        },
    ]
    items = wire.parse(meta_bytes(_envelope(_value(*odd))))
    assert [i.text for i in items if isinstance(i, CitizenMessage)] == [
        "[poll]",
        "[image]",
        "[interactive call_permission_reply]",
    ]


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"{}", b'{"object":"x"}', b'{"object":"whatsapp_business_account","entry":"?"}'],
)
def test_malformed_bodies_raise_value_errors(raw: bytes) -> None:
    with pytest.raises(ValueError):
        wire.parse(raw)


@pytest.mark.parametrize("number", [None, "100000000000001", "42"])
def test_the_fast_path_agrees_with_item_by_item_parsing(number: str | None) -> None:
    """Every recorded fixture gives the same items whichever way it is parsed."""
    fast_ones = 0
    for name, body in CASES:
        raw = meta_bytes(body)
        slow = [p.item for p in wire._slow(raw, number)]
        assert wire.parse(raw, number) == slow, name
        fast_ones += wire._fast(raw, number) is not None
    assert fast_ones > len(CASES) / 3  # the fast path is the common one
