"""The Cloud API webhook body, parsed into core events (whatsapp-cloud-api.md §2).

Parsing is lenient by design: Meta adds keys and message kinds without notice, and an item
we cannot use must be recorded and acknowledged, never answered with a 5xx that Meta would
retry for seven days (§4.2). Each item is validated on its own (models.py): one that does
not fit is recorded with its own JSON, and its neighbours go on.

Ordinary deliveries take a fast path: the whole body validated in one pass. Any body that
pass cannot take as it is (an item that does not fit, or one to record) is parsed again
item by item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.core.model import CitizenMessage, OutboundFailed
from bridge.errors import failure
from bridge.whatsapp import convert, models
from bridge.whatsapp.convert import Item, Skipped

log = structlog.get_logger("bridge.whatsapp.wire")

__all__ = ["Item", "Parsed", "Skipped", "dumps_compact", "parse", "parse_items"]


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
class _InBody:
    """Where the fast path found an item: its JSON is cut out only if someone asks."""

    body: bytes
    number: frozenset[str] | None
    index: int


@dataclass(frozen=True)
class Parsed:
    item: Item
    source: Any  # what it was parsed from: bytes, the item's JSON object, or _InBody

    @property
    def raw(self) -> bytes:
        """The item's own JSON (message, status, change or error object), for the audit."""
        if isinstance(self.source, _InBody):
            return _slow(self.source.body, self.source.number)[self.source.index].raw
        return self.source if isinstance(self.source, bytes) else dumps_compact(self.source)


def parse(body: bytes, number: str | frozenset[str] | None = None) -> list[Item]:
    """Every entry × change × message × status of one delivery, in order."""
    return [p.item for p in parse_items(body, number)]


def parse_items(body: bytes, number: str | frozenset[str] | None = None) -> list[Parsed]:
    """As `parse`, each item with its own JSON. Raises ValueError only when the envelope
    itself is unusable. With `number`, messages to another phone number of the account are
    recorded, not relayed: their replies would leave from ours."""
    numbers = frozenset({number}) if isinstance(number, str) else number
    fast = _fast(body, numbers)
    if fast is not None:
        return [Parsed(item, _InBody(body, numbers, n)) for n, item in enumerate(fast)]
    return _slow(body, numbers)


def _slow(body: bytes, number: frozenset[str] | None) -> list[Parsed]:
    envelope = Envelope.model_validate_json(body)
    if envelope.object != "whatsapp_business_account":
        return [Parsed(Skipped(f"object {envelope.object!r}", record=True), body)]
    items: list[Parsed] = []
    for raw_entry in envelope.entry:
        for raw_change in _changes(raw_entry, items):
            items.extend(_change(raw_change, number))
    return items


def _fast(body: bytes, number: frozenset[str] | None) -> list[Item] | None:
    try:
        delivery = models.Delivery.model_validate_json(body)
    except ValueError:
        return None
    if delivery.object != "whatsapp_business_account":
        return None
    items: list[Item] = []
    for change in (c for entry in delivery.entry for c in entry.changes):
        value = change.value
        if change.field != "messages":
            items.append(Skipped(f"field {change.field}", record=False))
            continue
        if value.errors:
            return None
        names, to = _names(value.contacts), value.metadata.phone_number_id
        try:
            messages = [convert.message(m, to, names) for m in value.messages]
            statuses = [convert.status(s) for s in value.statuses]
        except Exception:  # a conversion bug: the slow path records that item alone
            return None
        if _other_number(messages + statuses, to, number):
            return None
        items += messages + statuses
    if any(isinstance(item, Skipped) and item.record for item in items):
        return None  # the slow path keeps each one's own JSON
    return items


def _other_number(items: list[Item], to: str, numbers: frozenset[str] | None) -> bool:
    """A message to, or a failure of a send from, a number this delivery's app does not
    serve here (not in WHATSAPP_PHONE_NUMBER_ID or WHATSAPP_NUMBERS, or another app's):
    kept for audit instead of acted on."""
    mine = numbers is None or to in numbers
    return not mine and any(isinstance(i, CitizenMessage | OutboundFailed) for i in items)


def _changes(raw_entry: dict[str, Any], out: list[Parsed]) -> list[dict[str, Any]]:
    try:
        return Entry.model_validate(raw_entry).changes
    except ValidationError as exc:
        out.append(_invalid("entry", raw_entry, exc))
        return []


def _change(raw: dict[str, Any], number: frozenset[str] | None) -> Iterator[Parsed]:
    try:
        change = Change.model_validate(raw)
        value = Value.model_validate(change.value) if change.field == "messages" else None
    except ValidationError as exc:
        yield _invalid("change", raw, exc)
        return
    if value is None:
        # account_update, templates, calls...: subscribed fields the bridge has no use for.
        yield Parsed(Skipped(f"field {change.field}", record=False), raw)
        return
    phone_number_id = str(value.metadata.get("phone_number_id") or "")
    names = _names(_contacts(value.contacts))
    for message in value.messages:
        yield _message(message, phone_number_id, names, number)
    for status in value.statuses:
        try:
            item = convert.status(models.Status.model_validate(status))
        except ValidationError as exc:
            yield _invalid("status", status, exc)
            continue
        except Exception as exc:  # a bug met by this item alone
            yield _failed("status", status, exc)
            continue
        if _other_number([item], phone_number_id, number):
            # Not acted on (another app's number); not kept either: a shared account's
            # other numbers may fail sends all day, and nothing here is the citizen's.
            item = Skipped(f"other number {phone_number_id}", record=False)
        yield Parsed(item, status)
    for error in value.errors:
        code = error.get("code") if isinstance(error, dict) else None
        yield Parsed(Skipped(f"value error {code}", record=True), error)


def _message(
    raw: dict[str, Any], phone_number_id: str, names: dict[str, str], number: frozenset[str] | None
) -> Parsed:
    try:
        message = models.Message.model_validate(raw)
    except ValidationError as exc:
        return _invalid("message", raw, exc)
    try:
        item = convert.message(message, phone_number_id, names)
    except Exception as exc:  # a bug met by this item alone: recorded, the others go on
        return _failed("message", raw, exc)
    if _other_number([item], phone_number_id, number):
        return Parsed(Skipped(f"other number {phone_number_id}", record=True), raw)
    return Parsed(item, raw)


def _invalid(what: str, raw: Any, exc: ValidationError) -> Parsed:
    # Where and what type, never the offending value (it may be the citizen's words).
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or what
    reason = f"invalid {what}: {where}: {first['type']}"
    return Parsed(Skipped(reason, record=True), raw)


def _failed(what: str, raw: Any, exc: Exception) -> Parsed:
    # Where it happened, never the exception's message (it may quote the citizen).
    reason = failure(exc, what)
    log.error("webhook.item_failed", source="whatsapp", reason=reason)
    return Parsed(Skipped(reason, record=True), raw)


def _contacts(raw: list[dict[str, Any]]) -> list[models.Contact]:
    found = []
    for contact in raw:
        try:
            found.append(models.Contact.model_validate(contact))
        except ValidationError:
            continue  # only a display name is lost
    return found


def _names(contacts: list[models.Contact]) -> dict[str, str]:
    names = {}
    for contact in contacts:
        for ident in (contact.wa_id, contact.user_id):
            if ident:
                names[ident] = contact.profile.name or ""
    return names


def dumps_compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
