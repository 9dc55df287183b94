"""Omnichannel webhook bodies and history messages parsed into core events
(rocketchat-omnichannel.md §4, §5). Each message is validated on its own: one that does not
fit is reported as Invalid and its neighbours go on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.core.model import (
    AgentFile,
    AgentMessage,
    RoomClosed,
    RoomEvent,
    RoomForwarded,
    RoomId,
)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Payload(_Lenient):
    type: str
    id: str = Field(alias="_id")
    departmentId: str | None = None
    oldDepartmentId: str | None = None
    messages: list[dict[str, Any]] = Field(default_factory=list)


class User(_Lenient):
    name: str | None = None
    username: str | None = None


class FileInfo(_Lenient):
    name: str | None = None
    type: str | None = None


class FileUpload(_Lenient):
    publicFilePath: str | None = None
    type: str | None = None


class Attachment(_Lenient):
    description: str | None = None


class Message(_Lenient):
    """One message as the webhook (§4.3) and `messages.history` (§2.6) carry it."""

    id: str = Field("", alias="_id")
    msg: str | None = None
    t: str | None = None
    token: str | None = None  # set on the visitor's own messages (history)
    agentId: str | None = None  # present iff the sender is not the visitor (§4.3)
    closingMessage: bool | None = None
    username: str | None = None
    u: User = Field(default_factory=User)
    editedAt: Any = None  # an ISO string, or EJSON {"$date": ...} in some exports
    file: FileInfo | None = None
    fileUpload: FileUpload | None = None
    attachments: list[Attachment] = Field(default_factory=list)


@dataclass(frozen=True)
class Invalid:
    """A message that does not fit its model; kept for the audit trail."""

    reason: str
    raw: bytes


Parsed = tuple[RoomEvent, str] | Invalid


def parse(payload: Payload) -> list[Parsed]:
    """(event, dedupe id) pairs, or Invalid; empty for events the bridge does not act on."""
    room = RoomId(payload.id)
    if payload.type == "Message":
        found: list[Parsed] = []
        for raw in payload.messages:
            message = validate(raw)
            if isinstance(message, Invalid):
                found.append(message)
            elif event := agent_message(room, message):
                found.append((event, event.event_id))
        return found
    if payload.type == "LivechatSession":
        return [(RoomClosed(room), f"closed:{room}")]
    if payload.type == "LivechatSessionForwarded" and payload.departmentId:
        dedupe = f"forwarded:{room}:{payload.oldDepartmentId}:{payload.departmentId}"
        return [(RoomForwarded(room, payload.departmentId), dedupe)]
    return []


def validate(raw: dict[str, Any]) -> Message | Invalid:
    try:
        return Message.model_validate(raw)
    except ValidationError as exc:
        # Where and what type, never the offending value (it may be an agent's words).
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return Invalid(f"invalid message: {where}: {first['type']}", _dumps(raw))


def agent_message(room: RoomId, message: Message) -> AgentMessage | None:
    """An agent's message, or None for visitor echoes, system and closing messages.

    `msg` is absent for a file sent without text."""
    if not message.agentId or message.t or message.closingMessage:
        return None
    return AgentMessage(
        room_id=room,
        message_id=message.id,
        edited_at=edited_at(message),
        agent_name=agent_name(message),
        text=text_of(message),
        file=_file(message),
    )


def agent_name(message: Message) -> str:
    return message.u.name or message.username or message.u.username or ""


def text_of(message: Message) -> str:
    """`msg`; for a file sent with a description and no text, the description, which
    Rocket.Chat keeps in the attachment (§5), so the citizen gets the agent's words too."""
    text = message.msg or ""
    if text or message.file is None:
        return text
    return next((a.description for a in message.attachments if a.description), "")


def _file(message: Message) -> AgentFile | None:
    upload = message.fileUpload
    if upload is None or not upload.publicFilePath:
        return None
    file = message.file or FileInfo()
    return AgentFile(
        url=upload.publicFilePath,
        name=file.name or "arquivo",
        mime=file.type or upload.type or "application/octet-stream",
    )


def edited_at(message: Message) -> str | None:
    value = message.editedAt
    if value is None:
        return None
    if isinstance(value, dict) and "$date" in value:
        return str(value["$date"])
    return str(value)


def _dumps(raw: Any) -> bytes:
    return json.dumps(raw, separators=(",", ":"), ensure_ascii=False, default=str).encode()
