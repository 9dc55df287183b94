from __future__ import annotations

from dataclasses import fields, replace

from bridge.core.decide import Decision
from bridge.core.model import Conversation, ConversationKey, Destination, SendText, WaId
from bridge.core.storage import Claim, Link, OutboxRow, Pending, Reschedule, Settlement

CONV = Conversation(id=7, key=ConversationKey("1122334455667", WaId("5511912345678")))


def _step(conv: Conversation, pending: Pending) -> Decision:
    return Decision(conv)


def test_leasing_next_keeps_every_other_field_of_the_settlement() -> None:
    """`leasing_next` spells the fields out (it runs once per delivered message): a field
    added to Settlement must be added there too, or it would be lost on every hand-on."""
    row = OutboxRow(11, CONV.id, Destination.WHATSAPP, SendText("oi"), 2, 1000.0)
    settlement = Settlement(
        claim=Claim(row, CONV, "me/1"),
        change=Reschedule(30.0, 3, "HTTP 503"),
        links=(Link("wamid.1", "rc1", "out", "oi"),),
        counters=(("retry", "whatsapp"),),
        step=_step,
        then_lease=60.0,
    )
    set_here = {"claim", "change", "links", "counters", "step", "then_lease"}
    assert {f.name for f in fields(Settlement)} == set_here
    assert settlement.leasing_next(900.0) == replace(settlement, then_lease=900.0)
    assert settlement.leasing_next(None) == replace(settlement, then_lease=None)
