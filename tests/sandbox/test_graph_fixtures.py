"""FakeGraph payloads against real recorded webhooks (pywa fixtures, shared/fixtures).

The fake must produce the same structure Meta does, minus what we deliberately leave out
(2026 business-scoped user ids, and the `conversation` object that v24+ omits).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.sandbox.graph import FakeGraph
from bridge.sandbox.graph_wire import meta_dumps, sign

from .conftest import APP_SECRET, CITIZEN, Receiver

FIXTURES = Path("/work/shared/fixtures/whatsapp-webhooks-pywa")
OPTIONAL_2026 = {"user_id", "parent_user_id", "from_user_id"}

pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not mounted")


def fixture(name: str, case: str) -> dict[str, Any]:
    cases: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return dict(cases[case])


def value_of(payload: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = payload["entry"][0]["changes"][0]["value"]
    return value


def delivered(receiver: Receiver, index: int = 0) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(receiver.posts()[index].body)
    return payload


@pytest.mark.parametrize(
    ("name", "case", "kind"),
    [
        ("message.json", "text", "text"),
        ("message.json", "media_with_url", "image"),
        ("message.json", "chosen_location", "location"),
        ("callback_button.json", "button", "button"),
        ("callback_selection.json", "description", "list"),
    ],
)
async def test_inbound_payloads_have_the_recorded_structure(
    graph: FakeGraph, receiver: Receiver, name: str, case: str, kind: str
) -> None:
    if kind == "text":
        await graph.citizen_says(CITIZEN, "oi")
    elif kind == "image":
        await graph.citizen_sends_media(CITIZEN, "image", b"\xff\xd8", "image/jpeg")
    elif kind == "location":
        await graph.citizen_sends_location(CITIZEN, 1.0, 2.0, place="Sé", address="SP")
    elif kind == "button":
        await graph.citizen_taps_button(CITIZEN, "id", "title")
    else:
        await graph.citizen_picks_row(CITIZEN, "id", "title", "description")
    real, ours = fixture(name, case), delivered(receiver)
    assert set(ours) == set(real) and set(ours["entry"][0]) == set(real["entry"][0])
    assert set(ours["entry"][0]["changes"][0]) == set(real["entry"][0]["changes"][0])
    real_value, our_value = value_of(real), value_of(ours)
    assert set(our_value) == set(real_value)
    assert set(our_value["contacts"][0]) == set(real_value["contacts"][0]) - OPTIONAL_2026
    real_message, our_message = real_value["messages"][0], our_value["messages"][0]
    # Replies to our own buttons/lists carry `context`; the fake adds it only when it sent one.
    assert set(our_message) | {"context"} == set(real_message) | {"context"}
    message_type = real_message["type"]
    assert set(our_message[message_type]) == set(real_message[message_type])


async def test_status_payload_has_the_recorded_structure(
    graph: FakeGraph, receiver: Receiver
) -> None:
    await graph.citizen_says(CITIZEN, "oi")
    graph.sent.append({"to": CITIZEN, "_wamid": "wamid.X", "_from": graph.phone_number_id})
    await graph.citizen_reads("wamid.X")
    real = value_of(fixture("message_status.json", "read"))["statuses"][0]
    ours = value_of(delivered(receiver, 1))["statuses"][0]
    assert set(ours) == set(real) - {"conversation", "pricing"} - OPTIONAL_2026


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
async def test_every_recorded_payload_can_be_replayed_signed(
    graph: FakeGraph, receiver: Receiver, name: str
) -> None:
    """The fake re-sends real payloads byte-compatible with Meta (for the bridge's suite)."""
    cases: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    for payload in cases.values():
        assert await graph.deliver(payload, retry=False) == 200
    for hit, payload in zip(receiver.posts(), cases.values(), strict=True):
        assert hit.body == meta_dumps(payload)
        assert hit.headers["X-Hub-Signature-256"] == sign(APP_SECRET, hit.body)
