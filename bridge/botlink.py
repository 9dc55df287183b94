"""The flow bot (package `bot`, pure) behind the core's `Bot` port.

Translates a citizen message into the engine's `Input`, and the engine's replies and
actions into outbox commands, counters and survey records. The engine's state is kept in
the conversation row (`bot_state`), so a restart is invisible to the citizen.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import bot
from bridge.core.decide import BotTurn, Survey
from bridge.core.model import (
    CitizenMessage,
    Command,
    Conversation,
    Media,
    OpenRoom,
    SendMenu,
    SendText,
)

Clock = Callable[[], datetime]


def load_flow_bot(path: Path, default_department: str, clock: Clock | None = None) -> FlowBot:
    """Load and validate the flow file; raises bot.FlowError naming each node and field."""
    return FlowBot(bot.load_flow(path), default_department, clock)


@dataclass(frozen=True)
class _Saved:
    """What the bridge keeps per conversation: the engine's state plus whether this
    contact was already counted as answered by the bot."""

    state: bot.State | None
    resolved: bool = False

    def dumps(self) -> str:
        inner = self.state.to_json() if self.state is not None else None
        return json.dumps({"bot": inner, "resolved": self.resolved})

    @classmethod
    def loads(cls, raw: str | None) -> _Saved:
        if not raw:
            return cls(None)
        try:
            data = json.loads(raw)
            inner = data.get("bot")
            return cls(bot.State.from_json(inner) if inner else None, bool(data["resolved"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls(None)  # unreadable (e.g. an older format): a fresh contact


class FlowBot:
    def __init__(self, flow: bot.Flow, default_department: str, clock: Clock | None) -> None:
        self.flow = flow
        self._default = default_department
        self._clock = clock or (lambda: datetime.now(UTC))

    def turn(self, conversation: Conversation, message: CitizenMessage) -> BotTurn:
        saved = _Saved.loads(conversation.bot_state)
        result = bot.step(self.flow, saved.state, _input(message), self._clock())
        return self._translate(conversation, saved, result)

    def after_close(self, conversation: Conversation, reachable: bool = True) -> BotTurn:
        saved = _Saved.loads(conversation.bot_state)
        result = bot.after_agent_closed(self.flow, saved.state, self._clock(), reachable=reachable)
        return self._translate(conversation, saved, result)

    def no_agent(self, conversation: Conversation) -> BotTurn:
        saved = _Saved.loads(conversation.bot_state)
        result = bot.no_agent_online(self.flow, saved.state, self._clock())
        return self._translate(conversation, saved, result)

    def _translate(self, conv: Conversation, saved: _Saved, result: bot.Step) -> BotTurn:
        commands: list[Command] = [_command(reply) for reply in result.replies]
        counters: list[tuple[str, str]] = []
        surveys: list[Survey] = []
        handoff: OpenRoom | None = None
        resolved = saved.resolved
        for action in result.actions:
            match action:
                case bot.ContactStarted():
                    resolved = False
                    counters.append(("contact", ""))
                case bot.Resolved(topic=topic):
                    counters.append(("bot_answer", topic))
                    if not resolved:
                        counters.append(("contact_resolved", ""))
                    resolved = True
                case bot.Handoff():
                    handoff = self._open_room(action)
                    if resolved:  # reports subtract these from contact_resolved
                        counters.append(("contact_resolved_then_handoff", ""))
                case bot.SurveyAnswered(score=score):
                    counters.append(("survey_score", str(score)))
                    surveys.append(Survey(score, None, conv.department))
                case bot.SurveyCommented(comment=comment):
                    surveys.append(Survey(None, comment, conv.department))
                case bot.Ended(reason=reason):
                    counters.append(("ended", reason))
                case bot.OutOfHours(department=department):
                    counters.append(("out_of_hours", department))
        state = _Saved(result.state, resolved).dumps()
        return BotTurn(state, tuple(commands), handoff, tuple(counters), tuple(surveys))

    def _open_room(self, handoff: bot.Handoff) -> OpenRoom:
        # after_hours: the flow already told the citizen nobody is there and took a
        # message; the room is opened to wait in the queue without asking again.
        return OpenRoom(
            department=handoff.department_id or handoff.department or self._default,
            transcript=handoff.transcript,
            fields=dict(handoff.fields),
            tags=tuple(_unique(handoff.tags)),
            topic=handoff.service or "",
            priority=None if handoff.priority == "normal" else handoff.priority,
            told_no_agent=handoff.after_hours,
            offline="queue" if handoff.after_hours else handoff.offline,
            offline_text=handoff.offline_text,
            attachments=tuple(
                Media(m.kind, m.ref, m.mime, m.filename) for m in handoff.attachments.values()
            ),
        )


def _input(message: CitizenMessage) -> bot.Input:
    media = message.media
    location = message.location
    return bot.Input(
        text="" if message.rendered else message.text,
        shown=message.text if message.rendered else "",
        choice_id=message.choice_id,
        media=bot.Media(cast(Any, media.kind), media.media_id, media.mime, media.filename)
        if media
        else None,
        location=bot.Location(
            location.latitude, location.longitude, location.name, location.address
        )
        if location
        else None,
    )


def _command(reply: bot.Reply) -> Command:
    match reply:
        case bot.TextReply(text=text):
            return SendText(text)
        case bot.ButtonsReply():
            return SendMenu(
                {
                    "kind": "buttons",
                    "body": reply.body,
                    "header": reply.header,
                    "footer": reply.footer,
                    "buttons": [{"id": b.id, "title": b.title} for b in reply.buttons],
                }
            )
        case bot.ListReply():
            return SendMenu(
                {
                    "kind": "list",
                    "body": reply.body,
                    "button": reply.button,
                    "header": reply.header,
                    "footer": reply.footer,
                    "sections": [
                        {
                            "title": s.title,
                            "rows": [
                                {"id": r.id, "title": r.title, "description": r.description}
                                for r in s.rows
                            ],
                        }
                        for s in reply.sections
                    ],
                }
            )
    raise AssertionError(f"unknown reply {reply!r}")  # pragma: no cover


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
