"""The Cloud API webhook body, parsed into core events (whatsapp-cloud-api.md §2).

Parsing is lenient by design: Meta adds keys and message kinds without notice, and an item
we cannot use must be recorded and acknowledged, never answered with a 5xx that Meta would
retry for seven days (§4.2). Each item is validated on its own (models.py): one that does
not fit is recorded and its neighbours go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Value(_Lenient):
    metadata: dict[str, Any] = Field(default_factory=dict)
    contacts: list[dict[str, Any]] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)
    statuses: list[dict[str, Any]] = Field(default_factory=list)
    errors: list[Any] = Field(default_factory=list)


class Change(_Lenient):
    field: str
    value: dict[str, Any] = Field(default_factory=dict)


class Entry(_Lenient):
    id: str = ""
    changes: list[dict[str, Any]] = Field(default_factory=list)


class Envelope(_Lenient):
    object: str
    entry: list[dict[str, Any]]


@dataclass(frozen=True)
class Skipped:
    """An item we acknowledge but do not act on; `record` marks the unexpected ones."""

    reason: str
    record: bool


Item = CitizenMessage | OutboundFailed | Skipped


@dataclass(frozen=True)
class Parsed:
    item: Item
    raw: bytes  # the item's own JSON (message, status, change or error object)


def parse(body: bytes) -> list[Item]:
    """Every entry × change × message × status of one delivery, in order."""
    return [p.item for p in parse_items(body)]


def parse_items(body: bytes) -> list[Parsed]:
    """As `parse`, each item with its own JSON. Raises ValueError only when the envelope
    itself is unusable; an item that does not fit its model is a recorded Skipped."""
    envelope = Envelope.model_validate_json(body)
    if envelope.object != "whatsapp_business_account":
        return [Parsed(Skipped(f"object {envelope.object!r}", record=True), body)]
    items: list[Parsed] = []
    for raw_entry in envelope.entry:
        for raw_change in _changes(raw_entry, items):
            items.extend(_change(raw_change))
    return items


def _changes(raw_entry: dict[str, Any], out: list[Parsed]) -> list[dict[str, Any]]:
    try:
        return Entry.model_validate(raw_entry).changes
    except ValidationError as exc:
        out.append(_invalid("entry", raw_entry, exc))
        return []


def _change(raw: dict[str, Any]) -> Iterator[Parsed]:
    try:
        change = Change.model_validate(raw)
        value = Value.model_validate(change.value) if change.field == "messages" else None
    except ValidationError as exc:
        yield _invalid("change", raw, exc)
        return
    if value is None:
        # account_update, templates, calls...: subscribed fields the bridge has no use for.
        yield Parsed(Skipped(f"field {change.field}", record=False), dumps_compact(raw))
        return
    phone_number_id = str(value.metadata.get("phone_number_id") or "")
    names = _profile_names(value.contacts)
    for message in value.messages:
        yield _one(message, lambda m: _message(m, phone_number_id, names), "message")
    for status in value.statuses:
        yield _one(status, _status, "status")
    for error in value.errors:
        code = error.get("code") if isinstance(error, dict) else None
        yield Parsed(Skipped(f"value error {code}", record=True), dumps_compact(error))


def _one(raw: dict[str, Any], convert: Callable[[dict[str, Any]], Item], what: str) -> Parsed:
    try:
        return Parsed(convert(raw), dumps_compact(raw))
    except ValidationError as exc:
        return _invalid(what, raw, exc)


def _invalid(what: str, raw: Any, exc: ValidationError) -> Parsed:
    # Where and what type, never the offending value (it may be the citizen's words).
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or what
    reason = f"invalid {what}: {where}: {first['type']}"
    return Parsed(Skipped(reason, record=True), dumps_compact(raw))


def _profile_names(contacts: list[dict[str, Any]]) -> dict[str, str]:
    names = {}
    for raw in contacts:
        try:
            contact = models.Contact.model_validate(raw)
        except ValidationError:
            continue  # only a display name is lost
        for ident in (contact.wa_id, contact.user_id):
            if ident:
                names[ident] = contact.profile.name or ""
    return names


def _message(raw: dict[str, Any], phone_number_id: str, names: dict[str, str]) -> Item:
    m = models.Message.model_validate(raw)
    # Username users may come without `from`; their business-scoped id keys them (§2.6).
    sender = m.sender or m.from_user_id
    if not sender or not m.id or not phone_number_id:
        return Skipped(f"message without sender/id ({m.type})", record=True)
    if m.type in ("system", "revoke", "edit", "request_welcome") or (
        m.type == "reaction" and not (m.reaction and m.reaction.emoji)
    ):
        return Skipped(f"message kind {m.type}", record=False)
    text, choice, media = _content(m)
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
    )


def _location(place: models.Place) -> Location | None:
    if place.latitude is None or place.longitude is None:
        return None
    return Location(place.latitude, place.longitude, place.name, place.address)


def _content(m: models.Message) -> tuple[str, str | None, Media | None]:
    """(text, tapped choice id, media) for each message kind; odd kinds become readable text."""
    if m.type == "text":
        return (m.text.body if m.text else ""), None, None
    if m.type == "interactive":
        return _interactive(m.interactive or models.Interactive())
    if m.type == "button" and m.button:  # quick reply of a template (§2.2)
        return m.button.text, m.button.payload or m.button.text, None
    media = m.media()
    if media is not None and media.id:
        found = Media(m.type, media.id, media.mime_type, media.filename)
        return media.caption or "", None, found
    return _describe(m), None, None


def _interactive(body: models.Interactive) -> tuple[str, str | None, Media | None]:
    reply = body.button_reply if body.type == "button_reply" else None
    reply = body.list_reply if body.type == "list_reply" else reply
    if reply is not None:
        return reply.title, reply.id, None
    if body.type == "nfm_reply" and body.nfm_reply is not None:
        return body.nfm_reply.response_json or body.nfm_reply.body or "", None, None
    return f"[interactive {body.type or '?'}]", None, None


def _describe(m: models.Message) -> str:
    if m.type == "location" and m.location:
        place = ", ".join(p for p in (m.location.name, m.location.address) if p)
        coords = f"{m.location.latitude}, {m.location.longitude}"
        return f"📍 {coords}" + (f" ({place})" if place else "")
    if m.type == "contacts":
        return "\n".join(_contact_card(card) for card in m.contacts or [])
    if m.type == "reaction" and m.reaction:
        return f"↩️ {m.reaction.emoji or ''}"
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


def _status(raw: dict[str, Any]) -> Item:
    status = models.Status.model_validate(raw)
    if status.status != "failed":
        # sent / delivered / read / played: informative only (§2.4), and they come
        # out of order anyway; the bridge acts on failures alone.
        return Skipped(f"status {status.status}", record=False)
    first = status.errors[0] if status.errors else models.ErrorObject()
    return OutboundFailed(
        wamid=WaMessageId(status.id),
        code=first.code,
        title=first.title or first.message or "failed",
    )


def dumps_compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
