"""Core types: conversations, the events that reach the core and the commands it emits.

Nothing here knows a wire format. Commands are stored in the outbox as JSON, so each one
round-trips through `command_to_json` / `command_from_json`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, NewType

import orjson

WaId = NewType("WaId", str)  # citizen's WhatsApp id: country code + number, digits only
WaMessageId = NewType("WaMessageId", str)  # "wamid.HBgN..." (dashboard tests use other forms)
RoomId = NewType("RoomId", str)  # Rocket.Chat livechat room _id
VisitorToken = NewType("VisitorToken", str)  # Rocket.Chat livechat visitor token


class State(StrEnum):
    BOT = "bot"  # the first-layer bot (or nobody yet) talks to the citizen
    WAITING = "waiting"  # a room was asked for and is not open yet
    AGENT = "agent"  # a room is open; messages are relayed both ways


class Destination(StrEnum):
    WHATSAPP = "whatsapp"
    ROCKETCHAT = "rocketchat"


# Stored instead of a visitor token that the bridge derives from the conversation's key
# and its secret (delivery.derive_visitor_token): a bearer key to the citizen's Rocket.Chat
# history is then not in the database at all (issue #10 §5). Rocket.Chat can hand back
# another visitor's token (phone match, contract §2.1); only such a token is stored.
DERIVED_TOKEN = VisitorToken("=")


@dataclass(frozen=True)
class ConversationKey:
    phone_number_id: str  # our business number, as Graph names it
    wa_id: WaId


@dataclass(frozen=True)
class Conversation:
    id: int
    key: ConversationKey
    profile_name: str = ""
    state: State = State.BOT
    department: str = ""
    visitor_token: VisitorToken | None = None
    room_id: RoomId | None = None
    bot_state: str | None = None
    last_citizen_at: float | None = None  # Meta's timestamp: opens the 24 h window
    held_since: float | None = None  # agent messages wait for the citizen since then
    last_wamid: str | None = None  # the citizen's last message (read receipts, typing)


# --- events: what the adapters hand to the core -------------------------------------------


@dataclass(frozen=True)
class Media:
    kind: str  # image | document | audio | video | sticker
    media_id: str  # Graph media id; downloadable for 7 days (contract §6)
    mime: str
    filename: str | None = None


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class CitizenMessage:
    key: ConversationKey
    wamid: WaMessageId
    timestamp: float
    profile_name: str
    text: str  # typed text, caption, tapped title, or a readable rendering of other kinds
    choice_id: str | None = None
    media: Media | None = None
    location: Location | None = None
    reply_to: str | None = None  # the WhatsApp message this one answers (a quote)
    reacts_to: str | None = None  # set for a reaction: `text` is the emoji
    # `text` renders what the citizen sent but did not write (a location, a contact card,
    # a reaction, a poll or a kind WhatsApp does not show us): the agent reads it, the
    # bot never takes it as an answer.
    rendered: bool = False

    def to_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies through reflection, and this runs for
        # every message the outbox stores.
        return {
            "key": {"phone_number_id": self.key.phone_number_id, "wa_id": self.key.wa_id},
            "wamid": self.wamid,
            "timestamp": self.timestamp,
            "profile_name": self.profile_name,
            "text": self.text,
            "choice_id": self.choice_id,
            "media": asdict(self.media) if self.media else None,
            "location": asdict(self.location) if self.location else None,
            "reply_to": self.reply_to,
            "reacts_to": self.reacts_to,
            "rendered": self.rendered,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CitizenMessage:
        key = ConversationKey(**data["key"])
        media = Media(**data["media"]) if data.get("media") else None
        location = Location(**data["location"]) if data.get("location") else None
        rest = {k: v for k, v in data.items() if k not in ("key", "media", "location")}
        return cls(key=key, media=media, location=location, **rest)


@dataclass(frozen=True)
class OutboundFailed:
    """WhatsApp refused a message we sent (synchronously or as a `failed` status)."""

    wamid: WaMessageId
    code: int
    title: str
    at: float | None = None  # the `failed` status's time (Meta's clock); None: just now


@dataclass(frozen=True)
class AgentFile:
    url: str  # absolute URL to download the file from Rocket.Chat
    name: str
    mime: str


@dataclass(frozen=True)
class AgentMessage:
    room_id: RoomId
    message_id: str
    edited_at: str | None
    agent_name: str
    text: str
    files: tuple[AgentFile, ...] = ()  # every file of the message, in order
    quotes: str | None = None  # the Rocket.Chat message the agent quoted

    @property
    def event_id(self) -> str:
        return f"{self.message_id}@{self.edited_at}" if self.edited_at else self.message_id


@dataclass(frozen=True)
class RoomClosed:
    room_id: RoomId


@dataclass(frozen=True)
class RoomForwarded:
    room_id: RoomId
    department: str


@dataclass(frozen=True)
class RoomTaken:
    """An agent took the chat (LivechatSessionTaken, contract §4.4)."""

    room_id: RoomId
    agent_name: str


RoomEvent = AgentMessage | RoomClosed | RoomForwarded | RoomTaken


# --- commands: what the core asks the outbox to deliver -----------------------------------


@dataclass(frozen=True)
class SendText:
    """A text to the citizen on WhatsApp."""

    text: str
    origin: str | None = None  # Rocket.Chat message id it relays, to map failures back
    agent: str = ""  # who wrote it, when an agent did (a template parameter may name them)
    reply_to: str | None = None  # a Rocket.Chat message id: shown quoted, if WhatsApp has it
    destination: Destination = field(default=Destination.WHATSAPP, init=False)


@dataclass(frozen=True)
class MarkRead:
    """Blue ticks on the citizen's message (and the ones before it), with the typing
    indicator when `typing` (contract §5.3): shown until our reply arrives, or 25 s."""

    message_id: str
    typing: bool = False
    destination: Destination = field(default=Destination.WHATSAPP, init=False)


@dataclass(frozen=True)
class SendTemplate:
    """An approved message template: the only thing WhatsApp delivers outside the 24 h
    window (contract §5.3, §8.1). Used to invite the citizen back to the conversation."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()
    destination: Destination = field(default=Destination.WHATSAPP, init=False)


@dataclass(frozen=True)
class SendFile:
    """A file an agent posted, fetched from Rocket.Chat and uploaded to WhatsApp."""

    url: str
    name: str
    mime: str
    caption: str | None
    origin: str
    agent: str = ""
    # The room it was posted in: the visitor's credentials fetch it even after that room
    # closed (§5), which an agent's "here is your form, bye" does at once. None in rows
    # queued by an earlier release: the conversation's open room, then.
    room: str | None = None
    # A file of an edited message: sent only if its original never was (a replay that
    # saw the message only once edited), not again with every corrected caption.
    from_edit: bool = False
    destination: Destination = field(default=Destination.WHATSAPP, init=False)


@dataclass(frozen=True)
class SendMenu:
    """An interactive message from the bot, as the bot's neutral reply (JSON)."""

    reply: dict[str, Any]
    destination: Destination = field(default=Destination.WHATSAPP, init=False)


@dataclass(frozen=True)
class OpenRoom:
    """Register the visitor, open the room and post the transcript as its first message.

    `offline` is what to do when nobody is online in the department: 'wait' (tell the
    citizen once, retry until someone is), 'queue' (tell once, open the room anyway so it
    waits in the queue), or 'tell_hours' / 'leave_message' (give the conversation back to
    the bot, which says so). `attachments` are files the bot collected: decide turns each
    into its own relay row behind the request, so a stored OpenRoom carries none.
    """

    department: str
    transcript: str
    fields: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    priority: str | None = None
    told_no_agent: bool = False
    offline: str = "wait"
    offline_text: str = ""
    attachments: tuple[Media, ...] = ()
    topic: str = ""  # the room's topic, for agents scanning the queue
    destination: Destination = field(default=Destination.ROCKETCHAT, init=False)


@dataclass(frozen=True)
class RelayToRoom:
    """A citizen's message for the agent's room (text or media)."""

    message: CitizenMessage
    destination: Destination = field(default=Destination.ROCKETCHAT, init=False)


@dataclass(frozen=True)
class PostNotice:
    """A short note from the bridge into the agent's room (e.g. a reply that did not arrive)."""

    text: str
    destination: Destination = field(default=Destination.ROCKETCHAT, init=False)


Command = (
    SendText | SendFile | SendMenu | SendTemplate | MarkRead | OpenRoom | RelayToRoom | PostNotice
)
_COMMANDS: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (
        SendText,
        SendFile,
        SendMenu,
        SendTemplate,
        MarkRead,
        OpenRoom,
        RelayToRoom,
        PostNotice,
    )
}


# Field names per command class, read once: every queued message is encoded with them.
_FIELDS = {name: tuple(f.name for f in fields(cls) if f.init) for name, cls in _COMMANDS.items()}


def command_to_json(command: Command) -> str:
    kind = type(command).__name__
    if isinstance(command, RelayToRoom):
        return _dumps({"kind": kind, "message": command.message.to_dict()})
    body = {name: getattr(command, name) for name in _FIELDS[kind]}
    if isinstance(command, OpenRoom):
        body["attachments"] = [asdict(m) for m in command.attachments]
    return _dumps({"kind": kind, **body})


def _dumps(data: dict[str, Any]) -> str:
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()


def command_from_json(raw: str) -> Command:
    data = orjson.loads(raw)
    cls = _COMMANDS[data.pop("kind")]
    if cls is RelayToRoom:
        return RelayToRoom(CitizenMessage.from_dict(data["message"]))
    if cls is OpenRoom:
        data["tags"] = tuple(data.get("tags", ()))
        data["attachments"] = tuple(Media(**m) for m in data.get("attachments", ()))
    if cls is SendTemplate:
        data["parameters"] = tuple(data.get("parameters", ()))
    return cls(**data)
