"""One engine call's scratchpad: the state so far, the replies and the actions.

It is created and thrown away inside `step` (and friends), so the engine stays a pure
function even though the node handlers append to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot import limits
from bot.actions import Action
from bot.inputs import Input
from bot.model import Flow, Transcript
from bot.replies import Reply, TextReply, reply_text
from bot.state import Author, Exchange, State, Step
from bot.texts import fill


@dataclass
class Turn:
    flow: Flow
    now: datetime  # timezone-aware
    state: State
    replies: list[Reply] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)

    def update(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)

    def fill(self, text: str, extra: Mapping[str, str] | None = None) -> str:
        return fill(text, {**self.state.answers, **(extra or {})})

    def say(self, reply: Reply) -> None:
        self.replies.append(reply)
        self.remember("bot", reply_text(reply))

    def text(self, text: str, extra: Mapping[str, str] | None = None) -> None:
        self.say(TextReply(limits.clip(self.fill(text, extra), limits.TEXT_BODY)))

    def emit(self, action: Action) -> None:
        self.actions.append(action)

    def remember(self, author: Author, text: str) -> None:
        keep = self.flow.settings.history
        history = (*self.state.history, Exchange(author, text))
        self.update(history=history[max(0, len(history) - keep) :] if keep else ())

    def finish(self) -> Step:
        self.update(last_activity=self.now.timestamp())
        return Step(tuple(self.replies), self.state, tuple(self.actions))


def describe(inp: Input, labels: Transcript) -> str:
    """The citizen's message in words, for the transcript ("[foto] poste da esquina")."""
    parts: list[str] = []
    if inp.media is not None:
        parts.append(f"[{labels.media.get(inp.media.kind, inp.media.kind)}]")
    if inp.location is not None:
        place = inp.location.address or inp.location.name
        where = place or f"{inp.location.latitude:.6f},{inp.location.longitude:.6f}"
        parts.append(f"[{labels.location}] {where}")
    if inp.text.strip():
        parts.append(inp.text.strip())
    elif not parts and inp.choice_id:
        parts.append(inp.choice_id)
    elif not parts and inp.shown:
        parts.append(inp.shown)
    return " ".join(parts)
