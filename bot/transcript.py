"""The first message an agent reads in the Rocket.Chat room: what the citizen chose,
the data they gave, and the last exchanges with the bot, so nobody asks twice."""

from __future__ import annotations

from bot import limits
from bot.model import Flow, HandoffNode
from bot.state import State

OFFLINE_MESSAGE = "offline_message"  # the answer name of a message left out of hours
_EXCHANGE_CHARS = 300


def carried(flow: Flow, node: HandoffNode, state: State) -> list[str]:
    """The answer names this handoff carries, in the order they were given."""
    wanted = node.carry if node.carry is not None else tuple(state.answers)
    names = [name for name in wanted if name in state.answers]
    if OFFLINE_MESSAGE in state.answers and OFFLINE_MESSAGE not in names:
        names.append(OFFLINE_MESSAGE)
    return names


def label(flow: Flow, name: str) -> str:
    if name == OFFLINE_MESSAGE:
        return flow.messages.transcript.offline_message
    return flow.labels.get(name, name)


def service_of(node: HandoffNode, state: State) -> str | None:
    """The service the citizen asked for: the flow's words, else the menu path taken."""
    return node.service or (" › ".join(state.choices[-3:]) if state.choices else None)


def transcript(flow: Flow, node: HandoffNode, state: State) -> str:
    words = flow.messages.transcript
    lines = [words.urgent] if node.priority == "urgent" else []
    lines.append(words.title)
    service = service_of(node, state)
    if service:
        lines.append(f"{words.service}: {service}")
    lines.append(f"{words.priority}: {words.priorities.get(node.priority, node.priority)}")
    data = [f"• {label(flow, n)}: {_value(flow, state, n)}" for n in carried(flow, node, state)]
    if data:
        lines += ["", f"{words.data}:", *data]
    if state.history:
        who = {"citizen": words.citizen, "bot": words.bot}
        lines += ["", f"{words.history}:"]
        lines += [f"{who[e.author]}: {_one_line(e.text)}" for e in state.history]
    return limits.clip("\n".join(lines), limits.TEXT_BODY)


def _value(flow: Flow, state: State, name: str) -> str:
    media = state.files.get(name)
    if media is None:
        return _one_line(state.answers[name])
    words = flow.messages.transcript
    kind = words.media.get(media.kind, media.kind)
    text = state.answers.get(name, "")
    caption = "" if text in (media.ref, media.filename) else _one_line(text)
    return " ".join(p for p in (f"[{words.attachment}: {kind}]", media.filename, caption) if p)


def _one_line(text: str) -> str:
    return limits.clip(
        " / ".join(line for line in text.splitlines() if line.strip()), _EXCHANGE_CHARS
    )
