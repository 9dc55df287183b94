"""The contact record (issue #10 §3): one row per contact, from the citizen's first
message until the bot resolves it, the citizen leaves, or the room closes, for the
director's report. No message text, no phone: the row points at its conversation only
while that exists (erasure and retention cut the link, the statistics stay).

What a decision means for the record is read from the decision itself (its counters and
commands), here, as pure data; the store only writes the columns it is given."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from bridge.core.model import Command, OpenRoom

Value = str | int | float

# outcome: NULL while the contact is under way, then one of these.
BOT_RESOLVED = "bot_resolved"
HANDED_OFF = "handed_off"
REFUSED_NO_AGENT = "refused_no_agent"
REFUSED_OUT_OF_HOURS = "refused_out_of_hours"
ABANDONED_BOT = "abandoned_bot"  # the citizen stopped answering the bot
ENDED_BY_BOT = "ended"  # an end node, with no answer counted as a resolution
OUTCOMES = (BOT_RESOLVED, HANDED_OFF, REFUSED_NO_AGENT, REFUSED_OUT_OF_HOURS, ABANDONED_BOT,
            ENDED_BY_BOT)  # fmt: skip


@dataclass(frozen=True)
class ContactChange:
    """`start` opens a new record for the conversation (the previous one stays as it is);
    `always` columns are overwritten, `once` columns set only while still empty."""

    start: bool = False
    always: tuple[tuple[str, Value], ...] = ()
    once: tuple[tuple[str, Value], ...] = ()


COLUMNS = frozenset({
    "topic", "outcome", "department", "priority", "handed_off_at", "room_opened_at",
    "taken_at", "first_answer_at", "closed_at", "ended_at", "survey_score",
})  # fmt: skip


# Counters that overwrite columns, and those that stamp a time once.
_REFUSALS: dict[str, dict[str, Value]] = {
    "out_of_hours": {"outcome": REFUSED_OUT_OF_HOURS},
    "no_agent": {"outcome": REFUSED_NO_AGENT},
}
_ALWAYS: dict[str, Callable[[str], dict[str, Value]]] = {
    "contact_resolved": lambda _: {"outcome": BOT_RESOLVED},
    "handoff": lambda label: {"outcome": HANDED_OFF, "department": label},
    "handoff_refused": lambda label: {"outcome": REFUSED_NO_AGENT, "department": label},
    "out_of_hours": lambda label: {"outcome": REFUSED_OUT_OF_HOURS, "department": label},
    "room_opened": lambda _: {"outcome": HANDED_OFF},
    "survey_score": lambda label: {"survey_score": int(label)} if label.isdigit() else {},
    "ended": lambda label: _REFUSALS.get(label, {}),
}  # fmt: skip
_STAMPS = {
    "handoff": "handed_off_at",
    "room_opened": "room_opened_at",
    "room_taken": "taken_at",
    "agent_message": "first_answer_at",
    "closed": "closed_at",
    "ended": "ended_at",
}


def contact_change(
    counters: Iterable[tuple[str, str]], commands: Iterable[Command], now: float
) -> ContactChange | None:
    start = False
    always: dict[str, Value] = {}
    once: dict[str, Value] = {}
    for name, label in counters:
        start = start or name == "contact"
        always |= _ALWAYS[name](label) if name in _ALWAYS else {}
        if name in _STAMPS:
            once[_STAMPS[name]] = now
        if name == "bot_answer":
            once["topic"] = label
        elif name == "ended" and label not in _REFUSALS:
            # Unless it was resolved or handed off before: a timeout is an abandonment,
            # an end node an ending.
            once["outcome"] = ABANDONED_BOT if label == "timeout" else ENDED_BY_BOT
    for command in commands:
        if isinstance(command, OpenRoom):
            always |= {"department": command.department, "priority": command.priority or ""}
            if command.topic:
                always["topic"] = command.topic
    if not (start or always or once):
        return None
    # A column both set and set-once in one decision (a handoff's topic beside an answer's,
    # a resolution beside an ending) is set: as it would be in two decisions in a row, and
    # a column named twice in one statement is an error on PostgreSQL.
    once = {k: v for k, v in once.items() if k not in always}
    return ContactChange(start, tuple(always.items()), tuple(once.items()))


@dataclass(frozen=True)
class ContactRecord:
    id: int
    phone_number_id: str
    started_at: float
    topic: str
    outcome: str | None
    department: str
    priority: str
    handed_off_at: float | None
    room_opened_at: float | None
    taken_at: float | None
    first_answer_at: float | None
    closed_at: float | None
    ended_at: float | None
    survey_score: int | None


class ContactRecords(Protocol):
    async def contacts(self, since: float, until: float) -> list[ContactRecord]:
        """Contacts started in [since, until), oldest first."""
        ...
