"""Omnichannel webhook bodies parsed into core events (rocketchat-omnichannel.md §4)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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


def parse(payload: Payload) -> list[tuple[RoomEvent, str]]:
    """(event, dedupe id) pairs; empty for events the bridge does not act on."""
    room = RoomId(payload.id)
    if payload.type == "Message":
        return [(e, e.event_id) for m in payload.messages if (e := agent_message(room, m))]
    if payload.type == "LivechatSession":
        return [(RoomClosed(room), f"closed:{room}")]
    if payload.type == "LivechatSessionForwarded" and payload.departmentId:
        dedupe = f"forwarded:{room}:{payload.oldDepartmentId}:{payload.departmentId}"
        return [(RoomForwarded(room, payload.departmentId), dedupe)]
    return []


def agent_message(room: RoomId, message: dict[str, Any]) -> AgentMessage | None:
    """An agent's message, or None for visitor echoes, system and closing messages.

    `agentId` is present iff the sender is not the visitor (§4.3); `msg` is absent for
    a file sent without text."""
    if not message.get("agentId") or message.get("t") or message.get("closingMessage"):
        return None
    user = message.get("u") or {}
    return AgentMessage(
        room_id=room,
        message_id=str(message.get("_id", "")),
        edited_at=_text(message.get("editedAt")),
        agent_name=str(user.get("name") or message.get("username") or user.get("username") or ""),
        text=text_of(message),
        file=_file(message),
    )


def text_of(message: dict[str, Any]) -> str:
    """`msg`; for a file sent with a description and no text, the description, which
    Rocket.Chat keeps in the attachment (§5), so the citizen gets the agent's words too."""
    text = str(message.get("msg") or "")
    if text or not message.get("file"):
        return text
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict) and attachment.get("description"):
            return str(attachment["description"])
    return ""


def _file(message: dict[str, Any]) -> AgentFile | None:
    upload = message.get("fileUpload") or {}
    url = upload.get("publicFilePath")
    if not url:
        return None
    file = message.get("file") or {}
    return AgentFile(
        url=str(url),
        name=str(file.get("name") or "arquivo"),
        mime=str(file.get("type") or upload.get("type") or "application/octet-stream"),
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict) and "$date" in value:  # EJSON, seen in some exports
        return str(value["$date"])
    return str(value)
