"""One validated webhook item (models.py) as what the core acts on, or as Skipped."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.core.model import (
    CitizenMessage,
    ConversationKey,
    Location,
    Media,
    OutboundFailed,
    WaId,
    WaMessageId,
)
from bridge.whatsapp import models


@dataclass(frozen=True)
class Skipped:
    """An item we acknowledge but do not act on; `record` marks the unexpected ones."""

    reason: str
    record: bool


Item = CitizenMessage | OutboundFailed | Skipped


def message(m: models.Message, phone_number_id: str, names: dict[str, str]) -> Item:
    # Username users may come without `from`; their business-scoped id keys them (§2.6).
    sender = m.sender or m.from_user_id
    if not sender or not m.id or not phone_number_id:
        return Skipped(f"message without sender/id ({m.type})", record=True)
    if m.type in ("system", "revoke", "edit", "request_welcome") or (
        m.type == "reaction" and not (m.reaction and m.reaction.emoji)
    ):
        return Skipped(f"message kind {m.type}", record=False)
    text, choice, media, rendered = _content(m)
    place = m.location if m.type == "location" else None
    return CitizenMessage(
        key=ConversationKey(phone_number_id, WaId(sender)),
        wamid=WaMessageId(m.id),
        timestamp=m.timestamp,
        profile_name=names.get(sender, ""),
        text=text,
        choice_id=choice,
        media=media,
        location=_location(place) if place else None,
        reply_to=m.context.id if m.context is not None and m.context.id else None,
        reacts_to=m.reaction.message_id if m.type == "reaction" and m.reaction else None,
        rendered=rendered,
    )


def _location(place: models.Place) -> Location | None:
    if place.latitude is None or place.longitude is None:
        return None
    return Location(place.latitude, place.longitude, place.name, place.address)


def _content(m: models.Message) -> tuple[str, str | None, Media | None, bool]:
    """(text, tapped choice id, media, rendered) for each message kind; odd kinds become
    readable text, marked rendered (the citizen did not write it)."""
    if m.type == "text":
        return (m.text.body if m.text else ""), None, None, False
    if m.type == "interactive":
        return _interactive(m.interactive or models.Interactive())
    if m.type == "button" and m.button:  # quick reply of a template (§2.2)
        return m.button.text, m.button.payload or m.button.text, None, False
    media = m.media()
    if media is not None and media.id:
        found = Media(m.type, media.id, media.mime_type, media.filename)
        return media.caption or "", None, found, False
    return _describe(m), None, None, True


def _interactive(body: models.Interactive) -> tuple[str, str | None, Media | None, bool]:
    reply = body.button_reply if body.type == "button_reply" else None
    reply = body.list_reply if body.type == "list_reply" else reply
    if reply is not None:
        return reply.title, reply.id, None, False
    if body.type == "nfm_reply" and body.nfm_reply is not None:
        return body.nfm_reply.response_json or body.nfm_reply.body or "", None, None, True
    return f"[interactive {body.type or '?'}]", None, None, True


def _describe(m: models.Message) -> str:
    if m.type == "location" and m.location:
        place = ", ".join(p for p in (m.location.name, m.location.address) if p)
        coords = f"{m.location.latitude}, {m.location.longitude}"
        return f"📍 {coords}" + (f" ({place})" if place else "")
    if m.type == "contacts":
        return "\n".join(_contact_card(card) for card in m.contacts or [])
    if m.type == "reaction" and m.reaction:
        return m.reaction.emoji or ""
    if m.type == "order" and m.order:
        items = m.order.product_items
        return "🛒 " + ", ".join(f"{_qty(i.quantity)}× {i.product_retailer_id}" for i in items)
    unsupported = (m.unsupported.type if m.unsupported else None) or m.type or "?"
    return f"[{unsupported}]"


def _qty(quantity: float | None) -> str:
    whole = quantity is not None and quantity == int(quantity)
    return str(int(quantity)) if whole and quantity is not None else str(quantity)


def _contact_card(card: models.Card) -> str:
    phones = ", ".join(p.phone for p in card.phones)
    return f"👤 {card.name.formatted_name} {phones}".strip()


def status(status: models.Status) -> Item:
    if status.status != "failed":
        # sent / delivered / read / played: informative only (§2.4), and they come
        # out of order anyway; the bridge acts on failures alone.
        return Skipped(f"status {status.status}", record=False)
    first = status.errors[0] if status.errors else models.ErrorObject()
    return OutboundFailed(
        wamid=WaMessageId(status.id),
        code=first.code,
        title=first.title or first.message or "failed",
        at=status.timestamp,
    )
