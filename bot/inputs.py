"""What a citizen sent, stripped of the WhatsApp wire format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MediaKind = Literal["image", "document", "audio", "video", "sticker"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("image", "document", "audio", "video", "sticker")


@dataclass(frozen=True)
class Media:
    """A file the citizen sent. `ref` is whatever the bridge needs to fetch it later
    (the WhatsApp media id); the bot never downloads anything."""

    kind: MediaKind
    ref: str
    mime: str = ""
    filename: str | None = None


@dataclass(frozen=True)
class Location:
    """A location pin the citizen shared."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Input:
    """One message from the citizen.

    `text` is the typed text, a media caption, or the title of the tapped button/row;
    `choice_id` is the button or list reply id when the citizen tapped instead of typing;
    `shown` is what the citizen sent without writing it (a poll, a contact card), as the
    transcript shows it: never an answer.
    """

    text: str = ""
    choice_id: str | None = None
    media: Media | None = None
    location: Location | None = None
    shown: str = ""
