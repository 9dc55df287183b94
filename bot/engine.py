"""The bot engine: a pure function of (flow, state, input, time) to replies, a new state
and actions. No I/O, no clock, no randomness: the bridge passes `now` and stores the
state; tests drive it as tables.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.actions import (
    Action,
    ContactStarted,
    Ended,
    Handoff,
    OfflinePolicy,
    OutOfHours,
    Priority,
    Resolved,
    SurveyAnswered,
    SurveyCommented,
)
from bot.flow import FlowError, load_flow, parse_flow
from bot.handoff import after_refusal, offline_values
from bot.inputs import Input, Location, Media
from bot.listen import end_survey, handle
from bot.matching import keyword_hit
from bot.model import Flow, HandoffNode, SurveyNode
from bot.replies import ButtonsReply, ListReply, Option, Reply, Row, Section, TextReply
from bot.state import Exchange, State, Step
from bot.turn import Turn, describe
from bot.walk import enter

__all__ = [
    "Action",
    "ButtonsReply",
    "ContactStarted",
    "Ended",
    "Exchange",
    "Flow",
    "FlowError",
    "Handoff",
    "Input",
    "ListReply",
    "Location",
    "Media",
    "OfflinePolicy",
    "Option",
    "OutOfHours",
    "Priority",
    "Reply",
    "Resolved",
    "Row",
    "Section",
    "State",
    "Step",
    "SurveyAnswered",
    "SurveyCommented",
    "TextReply",
    "after_agent_closed",
    "load_flow",
    "no_agent_online",
    "parse_flow",
    "step",
]


def step(flow: Flow, state: State | None, inp: Input, now: datetime) -> Step:
    """React to one citizen message. `state` None means a contact never seen before;
    a naive `now` is read in the flow's time zone."""
    turn = Turn(flow, _aware(flow, now), state or State())
    fresh = _is_over(flow, state)
    timed_out = not fresh and _expired(flow, turn.state, turn.now)
    if timed_out:
        end_survey(turn)
        turn.emit(Ended("timeout"))
    if fresh or timed_out:
        turn.state = State()
        turn.emit(ContactStarted())
    turn.remember("citizen", describe(inp, flow.messages.transcript))
    if timed_out:
        turn.text(flow.messages.timeout)
    keyword = keyword_hit(inp.text, flow.keywords) if inp.choice_id is None else None
    if keyword is not None:
        end_survey(turn)
        enter(turn, keyword.goto)
    elif fresh or timed_out:
        enter(turn, flow.start)
    else:
        handle(turn, inp)
    return turn.finish()


def after_agent_closed(
    flow: Flow, state: State | None, now: datetime, *, reachable: bool = True
) -> Step:
    """The agent closed the room: the bot takes the conversation back, says goodbye and
    asks the satisfaction survey (as the flow's `after_close` says). Not `reachable`
    (WhatsApp's 24 h window closed): nothing said now would arrive, so nothing is said
    and no survey waits for an answer; the citizen's next message starts afresh."""
    base = replace(state or State(), node=None, phase="", misses=0, survey_score=None, offset=0)
    turn = Turn(flow, _aware(flow, now), base)
    if not reachable:
        return turn.finish()
    if flow.after_close.text:
        turn.text(flow.after_close.text)
    if flow.after_close.goto:
        enter(turn, flow.after_close.goto)
    return turn.finish()


def no_agent_online(flow: Flow, state: State | None, now: datetime) -> Step:
    """Rocket.Chat refused the room that the last Handoff asked for because no agent is
    online. Tells the citizen (the flow's `messages.offline` texts) and applies the handoff
    node's offline policy: 'tell_hours' ends (or goes to `offline_goto`), 'leave_message'
    waits for the message and hands off again with after_hours=True, 'queue' keeps the
    conversation handed off (the room waits in the queue)."""
    turn = Turn(flow, _aware(flow, now), state or State())
    node = flow.nodes.get(turn.state.node or "")
    if not isinstance(node, HandoffNode) or turn.state.phase != "handed_off":
        return Step((), turn.state)
    offline = flow.messages.offline
    turn.text(
        offline.no_agent + "\n\n" + offline.policy_text(node.offline), offline_values(flow, node)
    )
    following = after_refusal(turn, node, reason="no_agent")
    if following is not None:
        enter(turn, following)
    return turn.finish()


def _aware(flow: Flow, now: datetime) -> datetime:
    return now.replace(tzinfo=ZoneInfo(flow.settings.timezone)) if now.tzinfo is None else now


def _is_over(flow: Flow, state: State | None) -> bool:
    """No live bot conversation: new contact, finished, handed off, or from an old flow."""
    return (
        state is None
        or state.node is None
        or state.node not in flow.nodes
        or state.phase == "handed_off"
    )


def _expired(flow: Flow, state: State, now: datetime) -> bool:
    # A citizen asked to leave a message out of hours may answer much later; their words
    # must reach the department, not restart the menu.
    if state.last_activity is None or state.phase == "leave_message":
        return False
    node = flow.nodes.get(state.node or "")
    minutes = (
        flow.settings.survey_minutes
        if isinstance(node, SurveyNode)
        else (flow.settings.inactivity_minutes)
    )
    return now.timestamp() - state.last_activity > minutes * 60
