"""Arriving at nodes: say what the node says and follow automatic transitions until the
flow waits for the citizen (menu, question, survey) or stops (handoff, end)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.actions import Ended, Resolved
from bot.handoff import arrive as arrive_handoff
from bot.matching import normalize
from bot.model import (
    AnswerNode,
    AskNode,
    BranchNode,
    Condition,
    EndNode,
    Flow,
    HandoffNode,
    MenuNode,
    MessageNode,
    Node,
    SurveyNode,
)
from bot.render import render_menu, render_yesno
from bot.turn import Turn

# Flows are checked at load for loops made only of message/answer/branch nodes, so this is
# a belt-and-braces bound, not a limit a real flow can reach.
MAX_HOPS = 100


def enter(turn: Turn, node_id: str) -> None:
    """Go to `node_id` and keep going while nodes need no answer."""
    target: str | None = node_id
    for _ in range(MAX_HOPS):
        if target is None:
            return
        turn.update(node=target, misses=0, phase="", offset=0, survey_score=None)
        target = arrive(turn, turn.flow.nodes[target])
    turn.update(node=None, phase="")


def arrive(turn: Turn, node: Node) -> str | None:
    """Do what `node` does on arrival; return the next node when it moves on by itself."""
    if isinstance(node, MessageNode):
        turn.text(node.text)
        return node.next
    if isinstance(node, AnswerNode):
        turn.text(node.text)
        turn.emit(Resolved(node.topic))
        return node.next
    if isinstance(node, MenuNode | SurveyNode):
        turn.say(render_menu(node, turn.fill(node.text), turn.flow.messages))
        return None
    if isinstance(node, AskNode):
        prompt(turn, node, node.text)
        return None
    if isinstance(node, BranchNode):
        return branch(turn.flow, node, turn.state.answers, turn.now)
    if isinstance(node, HandoffNode):
        return arrive_handoff(turn, node)
    finish(turn, node)
    return None


def prompt(turn: Turn, node: AskNode, text: str) -> None:
    """Ask (or ask again); yes/no questions get two buttons."""
    if node.validation == "yesno":
        turn.say(render_yesno(node.id, turn.fill(text), turn.flow.messages))
    else:
        turn.text(text)


def finish(turn: Turn, node: EndNode) -> None:
    if node.text:
        turn.text(node.text)
    turn.emit(Ended("end", node.id))
    turn.update(node=None, phase="")


def branch(flow: Flow, node: BranchNode, answers: Mapping[str, str], now: datetime) -> str:
    """The first case whose condition holds, else the default."""
    return next((c.goto for c in node.cases if holds(flow, c.when, answers, now)), node.default)


def holds(flow: Flow, when: Condition, answers: Mapping[str, str], now: datetime) -> bool:
    if when.open is not None:
        return flow.is_open(when.open, now)
    if when.closed is not None:
        return not flow.is_open(when.closed, now)
    if when.holiday is not None:
        hours = flow.hours_for(when.holiday)
        return hours is not None and hours.is_holiday(now)
    value = normalize(answers.get(when.answer or "", ""))
    if when.equals is not None:
        return value == normalize(when.equals)
    if when.one_of is not None:
        return value in {normalize(v) for v in when.one_of}
    return bool(value)
