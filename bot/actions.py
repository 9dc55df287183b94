"""Actions: what the engine asks the bridge to do besides sending replies.

They are facts about the conversation, emitted in the order they happened. The bridge
records the statistics ones and carries out Handoff; the engine never does I/O itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.inputs import Media

OfflinePolicy = Literal["tell_hours", "leave_message", "queue"]
Priority = Literal["urgent", "high", "normal", "low"]


@dataclass(frozen=True)
class ContactStarted:
    """A new contact began: the first message ever, the first after the previous
    conversation ended (end node, survey done, handoff closed) or after an inactivity
    timeout. Count these for "contacts per month"."""


@dataclass(frozen=True)
class Resolved:
    """The bot answered a question by itself (an `answer` node). `topic` is the node's
    topic (its id unless the flow names one). A contact that saw at least one Resolved and
    no Handoff counts as "resolved by the bot"."""

    topic: str


@dataclass(frozen=True)
class Handoff:
    """Hand the conversation to people: register the visitor, open a Rocket.Chat room in
    `department` (None = the default department), post `transcript` as its first message,
    label the room with `priority`, `tags` and `service`, fill visitor custom fields from
    `fields` and upload `attachments`. From now on the bridge relays messages, and calls
    `after_agent_closed` when the room closes.

    `fields` maps answer names (e.g. "cpf") to values, `labels` maps the same names to the
    human label shown in the transcript (e.g. "CPF"). Files are not in `fields` but in
    `attachments`, keyed by answer name.

    `offline` says what the flow wants when Rocket.Chat answers that no agent is online:
    'tell_hours' (send `offline_text`, open no room; call `no_agent_online`), 'leave_message'
    (call `no_agent_online`, which asks the citizen to leave a message and hands off again
    with after_hours=True) or 'queue' (open the room anyway so it waits in the queue; send
    `offline_text`). `after_hours` is True when the flow's own business hours were already
    closed and the citizen was told so: open/queue the room without asking again.
    """

    department: str | None
    priority: Priority
    tags: tuple[str, ...]
    fields: Mapping[str, str]
    transcript: str
    offline: OfflinePolicy
    offline_text: str
    labels: Mapping[str, str] = field(default_factory=dict)
    attachments: Mapping[str, Media] = field(default_factory=dict)
    department_id: str | None = None
    service: str | None = None
    after_hours: bool = False
    node: str = ""


@dataclass(frozen=True)
class SurveyAnswered:
    """The citizen rated the service after the agent closed the room: emitted once per
    survey, as soon as the score is given (most citizens never write again, and a score
    kept waiting for its comment was lost with them)."""

    score: int


@dataclass(frozen=True)
class SurveyCommented:
    """The optional free text that followed the survey's score (not emitted when skipped
    or abandoned): it completes the answer SurveyAnswered recorded."""

    comment: str


EndReason = Literal["end", "timeout", "out_of_hours", "no_agent"]


@dataclass(frozen=True)
class Ended:
    """The bot conversation is over; the next message starts a new contact.

    `reason`: 'end' (an end node was reached; `node` names it), 'timeout' (the citizen came
    back after the inactivity timeout), 'out_of_hours' (the department was closed and the
    flow only told the hours) or 'no_agent' (Rocket.Chat had no agent and the flow only told
    the hours).
    """

    reason: EndReason
    node: str | None = None


@dataclass(frozen=True)
class OutOfHours:
    """A handoff found its department closed by the flow's hours; the citizen was told.
    What follows depends on the node's offline policy (a message left later is handed
    off then)."""

    department: str


Action = ContactStarted | Resolved | Handoff | SurveyAnswered | SurveyCommented | Ended | OutOfHours
