"""Loading config/messages.yaml: what the bridge itself says to citizens and agents."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from bridge.core.decide import Texts


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CitizenTexts(_Strict):
    no_agent_online: str
    room_closed: str = ""
    agent_prefix: str = "*{agent}*: {text}"
    edited: str = "{text}"
    handoff_failed: str = ""
    file_not_delivered: str = ""
    file_not_relayed: str = ""
    agent_took: str = ""


class AgentTexts(_Strict):
    transcript: str
    window_closed_notice: str
    window_template_notice: str = ""
    window_waiting_notice: str = ""
    template_failed_notice: str = ""
    not_delivered_notice: str
    unsupported_file_notice: str
    quoted_reply: str = "{text}"
    reaction: str = "{emoji}"
    reaction_unknown: str = "{emoji}"
    # Room topic prefix by priority, so urgency shows in the queue on Community Edition too.
    priority_topic: dict[str, str] = {}


class MessagesFile(_Strict):
    citizen: CitizenTexts
    agent: AgentTexts


class TextsError(Exception):
    """The messages file is missing or invalid; the message names the file and field."""


def load_texts(path: Path) -> Texts:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = MessagesFile.model_validate(raw)
    except OSError as exc:
        raise TextsError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise TextsError(f"{path}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors()
        )
        raise TextsError(f"{path}: {problems}") from None
    c, a = parsed.citizen, parsed.agent
    return Texts(
        no_agent_online=c.no_agent_online,
        room_closed=c.room_closed,
        transcript=a.transcript,
        agent_prefix=c.agent_prefix,
        edited=c.edited,
        window_closed_notice=a.window_closed_notice,
        not_delivered_notice=a.not_delivered_notice,
        unsupported_file_notice=a.unsupported_file_notice,
        priority_topic=dict(a.priority_topic),
        handoff_failed=c.handoff_failed,
        window_template_notice=a.window_template_notice,
        window_waiting_notice=a.window_waiting_notice,
        template_failed_notice=a.template_failed_notice,
        file_not_delivered=c.file_not_delivered,
        file_not_relayed=c.file_not_relayed,
        agent_took=c.agent_took,
        quoted_reply=a.quoted_reply,
        reaction=a.reaction,
        reaction_unknown=a.reaction_unknown,
    )
