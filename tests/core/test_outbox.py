"""The outbox's fallbacks when a settlement raises in the store (e2e: test_robustness)."""

from __future__ import annotations

from bridge.core.decide import Decision
from bridge.core.model import (
    Conversation,
    ConversationKey,
    Destination,
    SendText,
    WaId,
)
from bridge.core.outbox import RETRY_AFTER_A_BUG, _plainer
from bridge.core.storage import Bury, Claim, Finish, Hold, OutboxRow, Reschedule, Settlement

CONV = Conversation(id=1, key=ConversationKey("1", WaId("5511912345678")))
ROW = OutboxRow(7, 1, Destination.WHATSAPP, SendText("oi", origin="rc-1"), 2, 1000.0)
CLAIM = Claim(ROW, CONV, "me/1")


def step(conv: Conversation, _pending: object) -> Decision:
    raise KeyError("a bug in the step")


def test_a_delivered_row_keeps_its_change_without_the_step() -> None:
    plain, buried = _plainer(Settlement(CLAIM, Finish(), step=step, then_lease=60))
    assert (plain.change, plain.step, plain.then_lease) == (Finish(), None, None)
    assert buried.change == Bury(3, "internal error while settling")


def test_a_held_row_is_retried_not_parked_without_the_step_that_releases_it() -> None:
    """Without its step (`held_since`), nothing would ever release the hold."""
    plain, _ = _plainer(Settlement(CLAIM, Hold(), step=step))
    assert plain.change == Reschedule(RETRY_AFTER_A_BUG, 3, "internal error while settling")
