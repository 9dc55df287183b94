"""Webhook bodies exactly as Meta writes them (contract whatsapp-cloud-api.md §2, §3).

Public helpers so tests can build their own payloads: ``meta_dumps``/``sign`` reproduce
Meta's bytes and signature, ``envelope``/``make_message_payload`` wrap one inbound message,
and the ``*_message`` builders produce the `messages[i]` objects of §2.2.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

DEFAULT_PHONE_NUMBER_ID = "106540352242922"
DEFAULT_DISPLAY_NUMBER = "5511999990000"
DEFAULT_WABA_ID = "100200300400500"
DEFAULT_NAME = "Maria da Silva"


def meta_dumps(obj: Any) -> bytes:
    """Serialise like Meta (§3): compact, non-ASCII as lowercase ``\\uXXXX``, ``/`` as ``\\/``.

    The recipe is the contract's (inferred) one; a receiver that re-serialises the parsed
    JSON before checking the signature fails on accents, emoji (surrogate pairs) and URLs.
    """
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def sign(app_secret: str, body: bytes) -> str:
    """Value of ``X-Hub-Signature-256``: ``sha256=`` + lowercase hex HMAC-SHA256 (§3)."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def now_ts() -> str:
    """Unix seconds as a string, as in every `timestamp` field (§2.1)."""
    return str(int(time.time()))


def new_wamid(wa_id: str, *, inbound: bool = False) -> str:
    """A `wamid.` id shaped like real ones: base64 of an opaque record holding the wa_id.

    (observed shape: ``wamid.HBgN<wa_id>FQIAERgS...``). Receivers must treat it as opaque.
    """
    digits = "".join(ch for ch in wa_id if ch.isdigit()).encode("ascii")
    if inbound:
        tail = b"\x15\x02\x00\x12\x18\x20" + secrets.token_hex(16).upper().encode("ascii")
    else:
        tail = b"\x15\x02\x00\x11\x18\x12" + secrets.token_hex(9).upper().encode("ascii")
    raw = b"\x1c\x18" + bytes([len(digits)]) + digits + tail + b"\x00"
    return "wamid." + base64.b64encode(raw).decode("ascii")


def new_media_id() -> str:
    """Media ids are numeric strings (§8.5)."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


def sha256_b64(data: bytes) -> str:
    """Webhook media `sha256` is base64 (§2.2), unlike ``GET /{media-id}`` (hex)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def envelope(value: dict[str, Any], *, waba_id: str = DEFAULT_WABA_ID) -> dict[str, Any]:
    """Wrap one `value` in the §2.1 envelope (`entry[].id` is the WABA id)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}],
    }


def metadata(phone_number_id: str, display_phone_number: str) -> dict[str, str]:
    return {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id}


def make_message_payload(
    *,
    wa_id: str,
    message: dict[str, Any],
    name: str | None = DEFAULT_NAME,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_NUMBER,
    waba_id: str = DEFAULT_WABA_ID,
) -> dict[str, Any]:
    """A whole inbound-message webhook body: `contacts[]` + one `messages[]` item."""
    contact: dict[str, Any] = {"profile": {"name": name}, "wa_id": wa_id}
    if name is None:
        contact.pop("profile")  # §2.1: the profile name may be missing (inferred)
    value = {
        "messaging_product": "whatsapp",
        "metadata": metadata(phone_number_id, display_phone_number),
        "contacts": [contact],
        "messages": [message],
    }
    return envelope(value, waba_id=waba_id)


def _base(wa_id: str, kind: str, wamid: str | None, timestamp: str | None) -> dict[str, Any]:
    return {
        "from": wa_id,
        "id": wamid or new_wamid(wa_id, inbound=True),
        "timestamp": timestamp or now_ts(),
        "type": kind,
    }


def text_message(
    wa_id: str, body: str, *, wamid: str | None = None, timestamp: str | None = None
) -> dict[str, Any]:
    message = _base(wa_id, "text", wamid, timestamp)
    message["text"] = {"body": body}
    return message


def button_reply_message(
    wa_id: str, button_id: str, title: str, *, context: dict[str, str] | None = None
) -> dict[str, Any]:
    """Reply to our reply-buttons message; `context` names our interactive wamid (§2.2)."""
    message = _base(wa_id, "interactive", None, None)
    if context is not None:
        message = {"context": context, **message}
    message["interactive"] = {
        "type": "button_reply",
        "button_reply": {"id": button_id, "title": title},
    }
    return message


def list_reply_message(
    wa_id: str,
    row_id: str,
    title: str,
    description: str | None = None,
    *,
    context: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`description` is omitted when the row had none (pywa fixture, §2.2)."""
    message = _base(wa_id, "interactive", None, None)
    if context is not None:
        message = {"context": context, **message}
    reply: dict[str, str] = {"id": row_id, "title": title}
    if description is not None:
        reply["description"] = description
    message["interactive"] = {"type": "list_reply", "list_reply": reply}
    return message


def media_message(wa_id: str, kind: str, media: dict[str, Any]) -> dict[str, Any]:
    """image / video / audio / document / sticker: the type-keyed object is given."""
    message = _base(wa_id, kind, None, None)
    message[kind] = media
    return message


def location_message(
    wa_id: str,
    latitude: float,
    longitude: float,
    *,
    name: str | None = None,
    address: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """Coordinates are JSON numbers; name/address/url only for a chosen place (§2.2)."""
    location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    for key, value in (("name", name), ("address", address), ("url", url)):
        if value is not None:
            location[key] = value
    message = _base(wa_id, "location", None, None)
    message["location"] = location
    return message


def pricing(*, template: bool, category: str = "utility") -> dict[str, Any]:
    """PMP pricing (§2.4): service replies inside the window are free (inferred example)."""
    if not template:
        return {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}


def status_item(
    wamid: str,
    status: str,
    recipient_id: str,
    *,
    price: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    biz_opaque_callback_data: str | None = None,
) -> dict[str, Any]:
    """One `statuses[]` entry (§2.4); no `conversation` object (Graph v24+)."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": now_ts(),
        "recipient_id": recipient_id,
    }
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if price is not None:
        item["pricing"] = price
    if errors is not None:
        item["errors"] = errors
    return item


def status_payload(
    item: dict[str, Any],
    *,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_NUMBER,
    waba_id: str = DEFAULT_WABA_ID,
) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": metadata(phone_number_id, display_phone_number),
        "statuses": [item],
    }
    return envelope(value, waba_id=waba_id)
