"""The Cloud API webhook body, parsed into core events (whatsapp-cloud-api.md §2).

Parsing is lenient by design: Meta adds keys and message kinds without notice, and an item
we cannot use must be recorded and acknowledged, never answered with a 5xx that Meta would
retry for seven days (§4.2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bridge.core.model import (
    CitizenMessage,
    ConversationKey,
    Location,
    Media,
    OutboundFailed,
    WaId,
    WaMessageId,
)

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Contact(_Lenient):
    wa_id: str | None = None
    user_id: str | None = None  # business-scoped user id, from 2026 (§2.6)
    profile: dict[str, Any] = Field(default_factory=dict)


class Value(_Lenient):
    metadata: dict[str, Any] = Field(default_factory=dict)
    contacts: list[Contact] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)
    statuses: list[dict[str, Any]] = Field(default_factory=list)
    errors: list[dict[str, Any]] = Field(default_factory=list)


class Change(_Lenient):
    field: str
    value: dict[str, Any] = Field(default_factory=dict)


class Entry(_Lenient):
    id: str = ""
    changes: list[Change] = Field(default_factory=list)


class Envelope(_Lenient):
    object: str
    entry: list[Entry]


@dataclass(frozen=True)
class Skipped:
    """An item we acknowledge but do not act on; `record` marks the unexpected ones."""

    reason: str
    record: bool


Item = CitizenMessage | OutboundFailed | Skipped


def parse(body: bytes) -> list[Item]:
    """Every entry × change × message × status of one delivery, in order."""
    envelope = Envelope.model_validate_json(body)
    if envelope.object != "whatsapp_business_account":
        return [Skipped(f"object {envelope.object!r}", record=True)]
    items: list[Item] = []
    for entry in envelope.entry:
        for change in entry.changes:
            items.extend(_change(change))
    return items


def _change(change: Change) -> Iterator[Item]:
    if change.field != "messages":
        # account_update, templates, calls...: subscribed fields the bridge has no use for.
        yield Skipped(f"field {change.field}", record=False)
        return
    value = Value.model_validate(change.value)
    phone_number_id = str(value.metadata.get("phone_number_id", ""))
    names = _profile_names(value.contacts)
    for raw in value.messages:
        yield _message(raw, phone_number_id, names)
    for status in value.statuses:
        yield from _status(status)
    for error in value.errors:
        yield Skipped(f"value error {error.get('code')}", record=True)


def _profile_names(contacts: list[Contact]) -> dict[str, str]:
    names = {}
    for contact in contacts:
        name = str(contact.profile.get("name") or "")
        for ident in (contact.wa_id, contact.user_id):
            if ident:
                names[ident] = name
    return names


def _message(raw: dict[str, Any], phone_number_id: str, names: dict[str, str]) -> Item:
    # Username users may come without `from`; their business-scoped id keys them (§2.6).
    sender = raw.get("from") or raw.get("from_user_id")
    wamid = raw.get("id")
    kind = str(raw.get("type", ""))
    if not sender or not wamid or not phone_number_id:
        return Skipped(f"message without sender/id ({kind})", record=True)
    if kind in ("system", "revoke", "edit", "request_welcome") or (
        kind == "reaction" and not raw.get("reaction", {}).get("emoji")
    ):
        return Skipped(f"message kind {kind}", record=False)
    text, choice, media = _content(kind, raw)
    return CitizenMessage(
        key=ConversationKey(phone_number_id, WaId(str(sender))),
        wamid=WaMessageId(str(wamid)),
        timestamp=float(raw.get("timestamp") or 0),
        profile_name=names.get(str(sender), ""),
        text=text,
        choice_id=choice,
        media=media,
        location=_location(raw) if kind == "location" else None,
    )


def _content(kind: str, raw: dict[str, Any]) -> tuple[str, str | None, Media | None]:
    """(text, tapped choice id, media) for each message kind; odd kinds become readable text."""
    body = raw.get(kind)
    body = body if isinstance(body, dict) else {}
    if kind == "text":
        return str(body.get("body", "")), None, None
    if kind == "interactive":
        return _interactive(body)
    if kind == "button":  # quick reply of a template (§2.2)
        return str(body.get("text", "")), str(body.get("payload") or body.get("text", "")), None
    if kind in MEDIA_KINDS and body.get("id"):
        media = Media(kind, str(body["id"]), str(body.get("mime_type", "")), body.get("filename"))
        return str(body.get("caption") or ""), None, media
    return _describe(kind, raw, body), None, None


def _interactive(body: dict[str, Any]) -> tuple[str, str | None, Media | None]:
    reply_kind = str(body.get("type", ""))
    reply = body.get(reply_kind)
    if isinstance(reply, dict) and reply_kind in ("button_reply", "list_reply"):
        return str(reply.get("title", "")), str(reply.get("id", "")), None
    if isinstance(reply, dict) and reply_kind == "nfm_reply":
        return str(reply.get("response_json") or reply.get("body") or ""), None, None
    return f"[interactive {reply_kind or '?'}]", None, None


def _describe(kind: str, raw: dict[str, Any], body: dict[str, Any]) -> str:
    if kind == "location":
        place = ", ".join(str(body[k]) for k in ("name", "address") if body.get(k))
        coords = f"{body.get('latitude')}, {body.get('longitude')}"
        return f"📍 {coords}" + (f" ({place})" if place else "")
    if kind == "contacts":
        return "\n".join(_contact_card(card) for card in raw.get("contacts") or [])
    if kind == "reaction":
        return f"↩️ {body.get('emoji', '')}"
    if kind == "order":
        items = body.get("product_items") or []
        return "🛒 " + ", ".join(
            f"{i.get('quantity')}× {i.get('product_retailer_id')}" for i in items
        )
    unsupported = (raw.get("unsupported") or {}).get("type") or kind or "?"
    return f"[{unsupported}]"


def _location(raw: dict[str, Any]) -> Location | None:
    body = raw.get("location")
    if not isinstance(body, dict):
        return None
    try:
        lat, lon = float(body["latitude"]), float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    name, address = body.get("name"), body.get("address")
    return Location(lat, lon, str(name) if name else None, str(address) if address else None)


def _contact_card(card: dict[str, Any]) -> str:
    name = (card.get("name") or {}).get("formatted_name", "")
    phones = ", ".join(p.get("phone", "") for p in card.get("phones") or [])
    return f"👤 {name} {phones}".strip()


def _status(status: dict[str, Any]) -> Iterator[Item]:
    if status.get("status") != "failed":
        # sent / delivered / read / played: informative only (§2.4), and they come
        # out of order anyway; the bridge acts on failures alone.
        yield Skipped(f"status {status.get('status')}", record=False)
        return
    errors = status.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    yield OutboundFailed(
        wamid=WaMessageId(str(status.get("id", ""))),
        code=int(first.get("code") or 0),
        title=str(first.get("title") or first.get("message") or "failed"),
    )


def dumps_compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
