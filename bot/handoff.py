"""Handing a conversation to people, and what to do when nobody is there.

The flow's business hours are checked here (the engine knows them); Rocket.Chat's own
"no agent online" answer reaches the bot later through `no_agent_online` in the engine.
"""

from __future__ import annotations

from bot.actions import Ended, Handoff, OutOfHours
from bot.model import Flow, HandoffNode
from bot.transcript import carried, label, service_of, transcript
from bot.turn import Turn


def arrive(turn: Turn, node: HandoffNode) -> str | None:
    """Enter a handoff node; returns the node to continue with, if any."""
    flow = turn.flow
    if flow.is_open(node.hours or node.department, turn.now):
        if node.text:
            turn.text(node.text, offline_values(flow, node))
        hand_off(turn, node, after_hours=False)
        return None
    offline = flow.messages.offline
    closed = node.offline_text or offline.closed + "\n\n" + offline.policy_text(node.offline)
    turn.text(closed, offline_values(flow, node))
    turn.emit(OutOfHours(node.department or ""))
    return after_refusal(turn, node, reason="out_of_hours")


def after_refusal(turn: Turn, node: HandoffNode, reason: str) -> str | None:
    """The citizen was told nobody can answer now; apply the node's offline policy."""
    if node.offline == "leave_message":
        turn.update(node=node.id, phase="leave_message")
        return None
    if node.offline == "queue":
        if turn.state.phase != "handed_off":
            hand_off(turn, node, after_hours=True)
        return None
    if node.offline_goto:
        return node.offline_goto
    turn.emit(Ended("no_agent" if reason == "no_agent" else "out_of_hours"))
    turn.update(node=None, phase="")
    return None


def hand_off(turn: Turn, node: HandoffNode, after_hours: bool) -> None:
    flow, state = turn.flow, turn.state
    names = carried(flow, node, state)
    department = flow.department(node.department)
    offline = flow.messages.offline
    offline_text = offline.no_agent + "\n\n" + offline.policy_text(node.offline)
    turn.emit(
        Handoff(
            department=node.department,
            priority=node.priority,
            tags=node.tags,
            fields={n: state.answers[n] for n in names if n not in state.files},
            transcript=transcript(flow, node, state),
            offline=node.offline,
            offline_text=turn.fill(offline_text, offline_values(flow, node)),
            labels={n: label(flow, n) for n in names},
            attachments={n: state.files[n] for n in names if n in state.files},
            department_id=department.id if department else None,
            service=service_of(node, state),
            after_hours=after_hours,
            node=node.id,
        )
    )
    turn.update(node=node.id, phase="handed_off")


def offline_values(flow: Flow, node: HandoffNode) -> dict[str, str]:
    values = flow.offline_values(node.department)
    hours = flow.hours_for(node.hours) if node.hours else None
    if hours is not None:
        values["hours"] = hours.description
    return values
