"""What the core needs from the two remote services, and the only errors they may raise.

Each client translates its wire errors once into these classes; the outbox never looks at
status codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from bridge.core.model import AgentFile, RoomId, VisitorToken, WaMessageId


class DeliveryError(Exception):
    """Base of every error a port raises."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Retryable(DeliveryError):
    """Try again later; `after` is the server's own hint in seconds, when it gave one."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class RateLimited(Retryable):
    """The server asked us to wait (HTTP 429, Graph 130429): not a failure of the message,
    so it does not use up the retry budget."""


class CredentialsRefused(RateLimited):
    """Our token was refused (Graph 190, HTTP 401): waited out like throttling, for the
    operator to replace it (/readyz says so), instead of failing every message meanwhile."""


class Permanent(DeliveryError):
    """Trying again cannot help (bad request, window closed, invalid recipient...)."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.code = code


class TooLong(Permanent):
    """Rocket.Chat refused a text over its character limit (an option agents' admins may
    switch on: Livechat_enable_message_character_limit, §2.4)."""


class ForeignUrl(Permanent):
    """A link that does not point where it must come from (another host, credentials in
    it): never fetched."""


class UnknownDepartment(Permanent):
    """Rocket.Chat does not know the department (`error-invalid-department`, contract §2.1)."""


class RoomIsClosed(DeliveryError):
    """Rocket.Chat answered `room-closed` / `invalid-room`: the agent side is gone."""


class VisitorIsGone(DeliveryError):
    """Rocket.Chat answered `invalid-token`: the visitor no longer exists."""


class WindowClosed(DeliveryError):
    """The citizen's 24 h window is closed: no free-form message may go (contract §8.1)."""


class NoAgentOnline(DeliveryError):
    """Rocket.Chat refused to open a room: nobody is available in the department."""


class TooLarge(Permanent):
    """A file over the limit of where it must go (WhatsApp's per type, BRIDGE_MEDIA_MAX_BYTES)."""


@dataclass(frozen=True)
class Download:
    """A file in transit. Small ones are bytes; larger ones an unnamed temporary file, so a
    100 MB document never sits in memory. The receiver uploads `body()` and then `close()`s."""

    content: bytes | BinaryIO
    size: int
    mime: str
    filename: str | None = None

    @classmethod
    def of(cls, data: bytes, mime: str, filename: str | None = None) -> Download:
        return cls(data, len(data), mime, filename)

    def body(self) -> bytes | BinaryIO:
        if not isinstance(self.content, bytes):
            self.content.seek(0)
        return self.content

    def read(self) -> bytes:
        """All of it (tests, and small files)."""
        body = self.body()
        return body if isinstance(body, bytes) else body.read()

    def renamed(self, filename: str) -> Download:
        return Download(self.content, self.size, self.mime, filename)

    def close(self) -> None:
        if not isinstance(self.content, bytes):
            self.content.close()


@dataclass(frozen=True)
class RoomLabels:
    """What helps agents sort a new room: topic, tags, room fields and our priority."""

    topic: str
    tags: Sequence[str]
    fields: dict[str, str]
    priority: str | None = None


@dataclass(frozen=True)
class RoomMessage:
    """A message read back from a room's history (reconciliation)."""

    id: str
    text: str
    from_visitor: bool
    system_type: str | None
    agent_name: str
    edited_at: str | None
    files: tuple[AgentFile, ...] = ()
    sent_at: float | None = None  # epoch seconds, when Rocket.Chat's answer says


class Links(Protocol):
    """Which WhatsApp message became which Rocket.Chat message (the store keeps them)."""

    async def excerpt(self, whatsapp_id: str) -> str | None:
        """The first words of a message we relayed or sent, to show what a reply quotes."""
        ...

    async def whatsapp_id(self, rocketchat_id: str) -> str | None:
        """The WhatsApp message a Rocket.Chat message was relayed as (or from)."""
        ...

    async def relayed(self, rocketchat_id: str, excerpt: str) -> bool:
        """Whether this part of a Rocket.Chat message (a file: its excerpt) went out."""
        ...


class WhatsApp(Protocol):
    async def send_text(self, to: str, text: str, reply_to: str | None = None) -> WaMessageId: ...

    async def send_interactive(self, to: str, menu: dict[str, Any]) -> WaMessageId: ...

    async def send_template(
        self, to: str, name: str, language: str, parameters: Sequence[str]
    ) -> WaMessageId: ...

    async def mark_read(self, message_id: str, typing: bool) -> None: ...

    async def send_file(self, to: str, file: Download, caption: str | None) -> WaMessageId: ...

    async def download_media(self, media_id: str, limit: int) -> Download: ...

    def media_limit(self, mime: str) -> int:
        """The largest file of this type WhatsApp delivers (contract §6.5)."""
        ...


class RocketChat(Protocol):
    async def register_visitor(
        self,
        token: VisitorToken,
        name: str,
        phone: str,
        department: str,
        fields: dict[str, str],
    ) -> VisitorToken: ...

    async def agents_online(self, department: str) -> bool: ...

    async def open_room(self, token: VisitorToken) -> RoomId: ...

    async def send_message(
        self, token: VisitorToken, room_id: RoomId, text: str, message_id: str
    ) -> str: ...

    async def upload(
        self, token: VisitorToken, room_id: RoomId, file: Download, description: str
    ) -> str: ...

    async def history(
        self, token: VisitorToken, room_id: RoomId, limit: int
    ) -> Sequence[RoomMessage]: ...

    async def download(
        self, url: str, token: VisitorToken, room_id: RoomId, limit: int
    ) -> Download: ...

    async def label_room(
        self, room_id: RoomId, token: VisitorToken, labels: RoomLabels
    ) -> None: ...
