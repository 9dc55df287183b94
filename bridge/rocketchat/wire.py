"""Omnichannel webhook bodies and history messages parsed into core events
(rocketchat-omnichannel.md §4, §5). Each message is validated on its own: one that does not
fit is reported as Invalid and its neighbours go on."""

from __future__ import annotations

import json
import mimetypes
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.core.model import (
    AgentFile,
    AgentMessage,
    RoomClosed,
    RoomEvent,
    RoomForwarded,
    RoomId,
    RoomTaken,
)

# The closing transcript's agent messages younger than this are relayed if not yet
# (_unrelayed): Rocket.Chat's retries end after about 80 s (5 attempts, 20 s apart, §4.2).
TRANSCRIPT_REPLAY = 3600.0
FILE_UPLOAD = "/file-upload/"  # where Rocket.Chat serves uploads, outside /api (§5)
# "[ ](https://server/live/<rid>?msg=<id>) " in front of a reply that quotes a message.
_QUOTE_LINK = re.compile(r"\[ ?\]\([^)\s]*\)\s*")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Agent(_Lenient):
    id: str | None = Field(None, alias="_id")
    username: str | None = None
    name: str | None = None


class Payload(_Lenient):
    type: str
    id: str = Field(alias="_id")
    departmentId: str | None = None
    oldDepartmentId: str | None = None
    agent: Agent | None = None
    servedBy: Agent | None = None
    messages: list[dict[str, Any]] = Field(default_factory=list)


class User(_Lenient):
    name: str | None = None
    username: str | None = None


class FileInfo(_Lenient):
    id: str | None = Field(None, alias="_id")
    name: str | None = None
    type: str | None = None


class FileUpload(_Lenient):
    publicFilePath: str | None = None
    type: str | None = None


class Attachment(_Lenient):
    description: str | None = None
    title: str | None = None
    title_link: str | None = None  # relative: /file-upload/<file id>/<name> (§5)
    image_type: str | None = None
    audio_type: str | None = None
    video_type: str | None = None
    message_link: str | None = None  # a quote: .../live/<rid>?msg=<quoted message id>

    def mime(self) -> str | None:
        return self.image_type or self.audio_type or self.video_type


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
    ts: Any = None  # when it was sent: as editedAt
    editedAt: Any = None  # an ISO string, or EJSON {"$date": ...} in some exports
    file: FileInfo | None = None
    files: list[FileInfo] = Field(default_factory=list)
    fileUpload: FileUpload | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    blocks: list[Any] | None = None


@dataclass(frozen=True)
class Invalid:
    """A message that does not fit its model; kept for the audit trail."""

    reason: str
    raw: bytes


Parsed = tuple[RoomEvent, str] | Invalid


def parse(payload: Payload, now: float | None = None) -> list[Parsed]:
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
        closing = _unrelayed(room, payload.messages, time.time() if now is None else now)
        return [*closing, (RoomClosed(room), f"closed:{room}")]
    if payload.type == "LivechatSessionForwarded" and payload.departmentId:
        dedupe = f"forwarded:{room}:{payload.oldDepartmentId}:{payload.departmentId}"
        return [(RoomForwarded(room, payload.departmentId), dedupe)]
    if payload.type == "LivechatSessionTaken":
        # Built from the room before the agent was set in some 7.x releases (PR #33209):
        # without an agent there is nothing to record.
        agent = payload.agent or payload.servedBy
        if agent is not None and (agent.id or agent.username):
            name = agent.name or agent.username or ""
            return [(RoomTaken(room, name), f"taken:{room}:{agent.id or agent.username}")]
    return []


def _unrelayed(room: RoomId, transcript: list[dict[str, Any]], now: float) -> list[Parsed]:
    """The agent's recent messages in the closing transcript (§4.4), ahead of the close:
    Rocket.Chat retries a failed webhook for about a minute and sends events in no order
    (§4.2), so a reply retried after the agent closed would come to a room the bridge no
    longer holds, and the reconciler reads open rooms only. Those already relayed are
    deduplicated; older ones were the open room's reconciler's to recover, and their
    dedupe records may be gone with the retention purge."""
    found: list[Parsed] = []
    for raw in transcript:
        message = validate(raw)
        if isinstance(message, Invalid):
            continue  # recorded when its own Message webhook came
        sent = sent_at(message)
        if sent is not None and now - sent > TRANSCRIPT_REPLAY:
            continue
        if event := agent_message(room, message):
            found.append((event, event.event_id))
    return found


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
        files=files_of(message),
        quotes=quoted_id(message),
    )


def agent_name(message: Message) -> str:
    return message.u.name or message.username or message.u.username or ""


def quoted_id(message: Message) -> str | None:
    """The message an agent quoted: Rocket.Chat adds an attachment with its permalink."""
    for attachment in message.attachments:
        if attachment.message_link:
            found = parse_qs(urlsplit(attachment.message_link).query).get("msg")
            if found:
                return found[0]
    return None


def text_of(message: Message) -> str:
    """`msg` (without the permalink markup a quote puts in front of it); blocks rendered
    as text when an app posted only blocks (§5: the webhook then carries
    `msg = JSON.stringify(blocks)`, which must never reach a citizen); for a file sent with
    a description and no text, the description, which Rocket.Chat keeps in the attachment
    (§5), so the citizen gets the agent's words too."""
    text = _QUOTE_LINK.sub("", message.msg or "").strip() if message.msg else ""
    if message.blocks and (not text or _is_blocks_json(text)):
        return render_blocks(message.blocks)
    if text or message.file is None:
        return text
    return next((a.description for a in message.attachments if a.description), "")


def files_of(message: Message) -> tuple[AgentFile, ...]:
    """Every file of the message, in the order of its attachments. Rocket.Chat 8.x keeps
    `file` = the first "for compatibility" and lists all in `files`/`attachments` (§5).

    Each is fetched from the attachment's relative link on the configured Rocket.Chat,
    with the visitor's credentials (allowed even after the room closed, §5), not from
    `fileUpload.publicFilePath`: that one is absolute on `Site_Url`, the address agents
    open (a reverse proxy's, or the image's default http://localhost:3000), which the
    bridge, talking to Rocket.Chat at another address, may not reach and must not send
    the visitor's token to. Only a message without attachments falls back on its path."""
    known = {f.id: f for f in message.files if f.id}
    if message.file is not None and message.file.id:
        known.setdefault(message.file.id, message.file)
    found: list[AgentFile] = []
    for attachment in (a for a in message.attachments if a.title_link):
        link = attachment.title_link or ""
        info = known.get(_file_id(link) or "") or FileInfo(
            name=attachment.title, type=attachment.mime()
        )
        found.append(_agent_file(link, info, None))
    if not found and message.fileUpload is not None and message.fileUpload.publicFilePath:
        link = _on_this_server(message.fileUpload.publicFilePath)
        found.append(_agent_file(link, message.file, message.fileUpload))
    return tuple(found)


def _on_this_server(public: str) -> str:
    """`<Site_Url>/file-upload/<id>/<name>?token=<JWT>` as a link relative to the server
    (the download joins it to ROCKETCHAT_URL); anything else is left for the download
    to refuse."""
    at = public.find(FILE_UPLOAD)
    return public[at:] if at > 0 and "://" in public[:at] else public


def _agent_file(url: str, info: FileInfo | None, upload: FileUpload | None) -> AgentFile:
    info = info or FileInfo()
    name = info.name or "arquivo"
    mime = info.type or (upload.type if upload else None) or mimetypes.guess_type(name)[0]
    return AgentFile(url=url, name=name, mime=mime or "application/octet-stream")


def _file_id(link: str) -> str | None:
    parts = link.split("?", 1)[0].split("/")
    if len(parts) >= 3 and parts[-3] == "file-upload":
        return parts[-2]
    return None


def _is_blocks_json(text: str) -> bool:
    if not text.startswith("["):
        return False
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False


def render_blocks(blocks: list[Any]) -> str:
    """The words of UIKit blocks (section, header, context, fields, button labels), one
    per line, in order; everything else (ids, actions, images) left out."""
    lines: list[str] = []
    _collect(blocks, lines)
    return "\n".join(line for line in (item.strip() for item in lines) if line)


def _collect(node: Any, out: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect(item, out)
    elif isinstance(node, dict):
        text = node.get("text")
        if isinstance(text, str) and node.get("type") in ("plain_text", "mrkdwn", None):
            out.append(text)
        for key in ("text", "fields", "elements", "blocks", "accessory"):
            if isinstance(node.get(key), dict | list):
                _collect(node[key], out)


def edited_at(message: Message) -> str | None:
    value = message.editedAt
    if value is None:
        return None
    if isinstance(value, dict) and "$date" in value:
        return str(value["$date"])
    return str(value)


def sent_at(message: Message) -> float | None:
    """`ts` as epoch seconds: an ISO string, or EJSON {"$date": ISO or milliseconds}."""
    value = message.ts
    if isinstance(value, dict):
        value = value.get("$date")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    return None


def _dumps(raw: Any) -> bytes:
    return json.dumps(raw, separators=(",", ":"), ensure_ascii=False, default=str).encode()
