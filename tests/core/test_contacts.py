"""What a decision means for the contact record: pure data from counters and commands."""

from __future__ import annotations

from bridge.core import contacts as c
from bridge.core.contacts import contact_change
from bridge.core.model import OpenRoom


def test_a_first_message_starts_a_contact_and_an_answer_gives_its_topic() -> None:
    change = contact_change(
        [("contact", ""), ("bot_answer", "horarios"), ("contact_resolved", "")], (), 10.0
    )
    assert change == c.ContactChange(
        start=True, always=(("outcome", c.BOT_RESOLVED),), once=(("topic", "horarios"),)
    )


def test_a_handoff_takes_department_priority_and_topic_from_the_room_request() -> None:
    room = OpenRoom("Urgente", "resumo", priority="urgent", topic="🚨 URGENTE · Violência")
    change = contact_change([("handoff", "Urgente")], (room,), 20.0)
    assert change is not None
    assert dict(change.always) == {
        "outcome": c.HANDED_OFF,
        "department": "Urgente",
        "priority": "urgent",
        "topic": "🚨 URGENTE · Violência",
    }
    assert dict(change.once) == {"handed_off_at": 20.0}


def test_times_are_stamped_once_and_refusals_overwrite() -> None:
    stamped = contact_change([("agent_message", "")], (), 5.0)
    assert stamped is not None and dict(stamped.once) == {"first_answer_at": 5.0}
    ended = contact_change([("ended", "out_of_hours")], (), 7.0)
    assert ended is not None and dict(ended.always) == {"outcome": c.REFUSED_OUT_OF_HOURS}
    timeout = contact_change([("ended", "timeout")], (), 8.0)
    assert timeout is not None
    assert dict(timeout.once) == {"ended_at": 8.0, "outcome": c.ABANDONED_BOT}


def test_counters_that_say_nothing_about_the_contact_change_nothing() -> None:
    assert contact_change([("citizen", ""), ("window_held", "")], (), 1.0) is None


def test_a_column_set_and_set_once_in_one_decision_is_named_once() -> None:
    room = OpenRoom("Urgente", "resumo", topic="Violência doméstica")
    change = contact_change([("contact", ""), ("bot_answer", "direitos")], (room,), 3.0)
    assert change is not None
    assert dict(change.always)["topic"] == "Violência doméstica"
    assert "topic" not in dict(change.once)
