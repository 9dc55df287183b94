"""The bot's memory of one conversation, stored by the bridge in the conversation row.

Everything the engine needs between two messages is here, so a restart of the daemon is
invisible to the citizen. `to_json`/`from_json` give a stable, versioned text form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from bot.actions import Action
from bot.inputs import MEDIA_KINDS, Media
from bot.replies import Reply

# "" waits for an answer at `node`; "comment" waits for the survey comment;
# "leave_message" waits for the out-of-hours message; "handed_off" belongs to people now.
Phase = Literal["", "comment", "leave_message", "handed_off"]
PHASES: tuple[Phase, ...] = ("", "comment", "leave_message", "handed_off")
Author = Literal["citizen", "bot"]
_VERSION = 1


@dataclass(frozen=True)
class Exchange:
    """One line of the recent conversation, kept for the agent's transcript."""

    author: Author
    text: str


@dataclass(frozen=True)
class State:
    """Where a conversation stands. `node` None means no bot conversation is running."""

    node: str | None = None
    answers: Mapping[str, str] = field(default_factory=dict)
    misses: int = 0
    last_activity: float | None = None
    history: tuple[Exchange, ...] = ()
    phase: Phase = ""
    files: Mapping[str, Media] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    survey_score: int | None = None
    offset: int = 0

    def to_json(self) -> str:
        data = {
            "v": _VERSION,
            "node": self.node,
            "phase": self.phase,
            "answers": dict(self.answers),
            "files": {k: _media_dict(m) for k, m in self.files.items()},
            "misses": self.misses,
            "last_activity": self.last_activity,
            "history": [[e.author, e.text] for e in self.history],
            "choices": list(self.choices),
            "survey_score": self.survey_score,
            "offset": self.offset,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> State:
        """Parse `to_json` output; raises ValueError on anything else."""
        try:
            data = json.loads(text)
            return _state_from(data)
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a bot state: {exc}") from exc


@dataclass(frozen=True)
class Step:
    """The result of one engine call: what to send, what to remember, what to do."""

    replies: tuple[Reply, ...]
    state: State
    actions: tuple[Action, ...] = ()


def _media_dict(media: Media) -> dict[str, str | None]:
    return {"kind": media.kind, "ref": media.ref, "mime": media.mime, "filename": media.filename}


def _media_from(data: Mapping[str, Any]) -> Media:
    kind = data["kind"]
    if kind not in MEDIA_KINDS:
        raise TypeError(f"unknown media kind {kind!r}")
    name = data.get("filename")
    filename = None if name is None else str(name)
    return Media(kind, str(data["ref"]), str(data.get("mime", "")), filename)


def _state_from(data: Any) -> State:
    if not isinstance(data, dict) or data.get("v") != _VERSION:
        raise TypeError("missing or unknown version")
    phase = data.get("phase", "")
    if phase not in PHASES:
        raise TypeError(f"unknown phase {phase!r}")
    history = tuple(_exchange(item) for item in data.get("history", []))
    last = data.get("last_activity")
    score = data.get("survey_score")
    return State(
        node=None if data.get("node") is None else str(data["node"]),
        answers={str(k): str(v) for k, v in data.get("answers", {}).items()},
        misses=int(data.get("misses", 0)),
        last_activity=None if last is None else float(last),
        history=history,
        phase=cast(Phase, phase),
        files={str(k): _media_from(v) for k, v in data.get("files", {}).items()},
        choices=tuple(str(c) for c in data.get("choices", [])),
        survey_score=None if score is None else int(score),
        offset=int(data.get("offset", 0)),
    )


def _exchange(item: Any) -> Exchange:
    author, text = item
    if author not in ("citizen", "bot"):
        raise TypeError(f"unknown author {author!r}")
    return Exchange(cast(Author, author), str(text))
