"""Pydantic models of one webhook item (whatsapp-cloud-api.md §2.2–§2.5).

Each message, status and error object is validated on its own, so a field of an
unexpected type rejects that item cleanly and never its neighbours. Unknown keys are
ignored (Meta adds them without notice); every object is optional because Meta omits
them (an `interactive` message without its `interactive` object, §2.2)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, FiniteFloat


def _time_or_none(value: Any) -> float | None:
    """An optional time: one that does not read as a number is unknown, never a reason to
    drop the item that carries it (a `failed` status must still be reported)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) else None


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Profile(_Item):
    name: str | None = None


class Contact(_Item):
    wa_id: str | None = None
    user_id: str | None = None  # business-scoped user id, from 2026 (§2.6)
    profile: Profile = Field(default_factory=Profile)


class Text(_Item):
    body: str = ""


class Reply(_Item):
    id: str = ""
    title: str = ""


class FlowReply(_Item):
    response_json: str | None = None
    body: str | None = None


class Interactive(_Item):
    type: str = ""
    button_reply: Reply | None = None
    list_reply: Reply | None = None
    nfm_reply: FlowReply | None = None


class Button(_Item):  # quick reply of a template
    text: str = ""
    payload: str | None = None


class MediaObject(_Item):
    id: str | None = None
    mime_type: str = ""
    caption: str | None = None
    filename: str | None = None


class Place(_Item):
    latitude: FiniteFloat | None = None
    longitude: FiniteFloat | None = None
    name: str | None = None
    address: str | None = None


class CardName(_Item):
    formatted_name: str = ""


class CardPhone(_Item):
    phone: str = ""


class Card(_Item):
    name: CardName = Field(default_factory=CardName)
    phones: list[CardPhone] = Field(default_factory=list)


class Reaction(_Item):
    message_id: str | None = None
    emoji: str | None = None


class OrderItem(_Item):
    product_retailer_id: str | None = None
    quantity: FiniteFloat | None = None  # 1e400 or NaN: this item is invalid, not a 500


class Order(_Item):
    product_items: list[OrderItem] = Field(default_factory=list)


class Unsupported(_Item):
    type: str | None = None


class Context(_Item):
    """A reply's quoted message (§2.3); forwards carry flags and no id."""

    id: str | None = None


class Message(_Item):
    sender: str | None = Field(None, alias="from")
    from_user_id: str | None = None
    id: str | None = None
    timestamp: FiniteFloat = 0.0
    type: str = ""
    text: Text | None = None
    interactive: Interactive | None = None
    button: Button | None = None
    image: MediaObject | None = None
    video: MediaObject | None = None
    audio: MediaObject | None = None
    document: MediaObject | None = None
    sticker: MediaObject | None = None
    location: Place | None = None
    contacts: list[Card] | None = None
    reaction: Reaction | None = None
    order: Order | None = None
    unsupported: Unsupported | None = None
    context: Context | None = None

    def media(self) -> MediaObject | None:
        found: MediaObject | None = getattr(self, self.type, None) if self.type in MEDIA else None
        return found


MEDIA = ("image", "video", "audio", "document", "sticker")


class ErrorObject(_Item):
    code: int = 0
    title: str | None = None
    message: str | None = None


class Status(_Item):
    id: str = ""
    status: str = ""
    # when it happened, by Meta's clock (seconds, as a string)
    timestamp: Annotated[float | None, BeforeValidator(_time_or_none)] = None
    errors: list[ErrorObject] = Field(default_factory=list)


# --- the whole delivery in one pass (wire.py's fast path) ---------------------------------


class Metadata(_Item):
    phone_number_id: str = ""


class Value(_Item):
    metadata: Metadata = Field(default_factory=Metadata)
    contacts: list[Contact] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    statuses: list[Status] = Field(default_factory=list)
    errors: list[object] = Field(default_factory=list)


class Change(_Item):
    field: str
    value: Value = Field(default_factory=Value)


class Entry(_Item):
    changes: list[Change] = Field(default_factory=list)


class Delivery(_Item):
    object: str
    entry: list[Entry]
