"""The LGPD duties, as the core names them: what storage must do to export, erase and
purge a citizen's data, and keep an append-only audit of who did it (issue #10 §5-6).

A citizen is named by phone; the bridge stores WhatsApp ids (`wa_id`: digits, and for
Brazilian mobiles registered before 2016 without the ninth digit, contract §10.5), so a
phone asked about becomes every `wa_id` it may be stored as. WhatsApp message ids embed
the recipient's or sender's number (an observation, not a documented format:
"wamid." + base64 of a record starting 0x1C 0x18, the number's length and its digits), so
seen ids of a number are found by that prefix; ids of another shape are left to the
retention purge.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.core import phones
from bridge.core.model import DERIVED_TOKEN


class NotAPhone(ValueError):
    """A --phone that cannot be a WhatsApp number."""


@dataclass(frozen=True)
class AuditEntry:
    at: float
    operator: str  # the OS user, or --operator
    action: str  # setup | export | forget | purge | report
    subject: str  # the hashed phone, or "" (never the phone itself)
    detail: str  # counts and options, never personal data


@dataclass(frozen=True)
class Visitor:
    phone_number_id: str
    wa_id: str
    token: str  # as stored: model.DERIVED_TOKEN when derived from the key
    room_id: str | None


class PersonalData(Protocol):
    async def export(self, wa_ids: Sequence[str]) -> dict[str, Any]:
        """Everything stored about these ids, as JSON-ready data."""
        ...

    async def visitors(self, wa_ids: Sequence[str]) -> list[Visitor]:
        """The Rocket.Chat visitor of each conversation of these ids."""
        ...

    async def forget(self, wa_ids: Sequence[str]) -> Mapping[str, int]:
        """Erase it all, in one transaction; rows erased per kind."""
        ...

    async def purge(self, before: float) -> Mapping[str, int]:
        """Erase what is older than `before` (epoch seconds): idle conversations (with
        their surveys and links), dead letters, rejected payloads, seen ids, links."""
        ...

    async def audit(self, entry: AuditEntry, wa_id: str | None = None) -> None:
        """Append one line; with `wa_id`, its subject is the keyed hash of that id."""
        ...

    async def audit_log(self, limit: int) -> list[AuditEntry]: ...


# Meta retries a webhook for up to 7 days (contract §4.2): dedupe records kept for less
# would let a late retry through twice. Also the reconciler's horizon (reconcile.py).
SHORTEST_RETENTION_DAYS = 7


def shown_token(token: str | None) -> str | None:
    """A visitor token as an export shows it: whether it is kept, never its value (it is a
    bearer key to the citizen's Rocket.Chat history)."""
    if not token:
        return None
    return "(not stored: derived when needed)" if token == DERIVED_TOKEN else "(stored, not shown)"


def wa_ids_for(phone: str) -> list[str]:
    """Every wa_id a phone may be stored as: digits only; a Brazilian number given
    without the country code (10 or 11 digits) gets 55; a mobile is looked up with and
    without its ninth digit."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) in (10, 11) and not phone.strip().startswith("+"):
        digits = phones.BRAZIL + digits
    if not 8 <= len(digits) <= 15:
        raise NotAPhone(f"{phone!r} is not a phone number (8 to 15 digits with country code)")
    found = [digits]
    if digits.startswith(phones.BRAZIL) and len(digits) == 13 and digits[4] == "9":
        old = digits[:4] + digits[5:]
        if phones.with_ninth_digit(old) == digits:  # the old form of a mobile, not a landline
            found.append(old)
    elif (with_nine := phones.with_ninth_digit(digits)) is not None:
        found.append(with_nine)
    return found


def quoted_forms(wa_id: str) -> tuple[bytes, ...]:
    """How a citizen's id appears as a JSON string in a body kept for audit: Meta's
    `"5511..."`, and Rocket.Chat's visitor phone, `"+55..."` as the bridge registered it
    (phones.display, the ninth digit restored) or as it came."""
    forms = dict.fromkeys((wa_id, f"+{wa_id}", phones.display(wa_id)))
    return tuple(f'"{form}"'.encode() for form in forms)


def wamid_prefix(wa_id: str) -> str:
    """The start every message id to or from `wa_id` shares (see the module docstring):
    the base64 of whole 3-byte groups of the header and digits. Neighbouring numbers may
    share it too: `wamid_of` decides."""
    raw = _header(wa_id)
    whole = len(raw) - len(raw) % 3
    return "wamid." + base64.b64encode(raw[:whole]).decode()


def wamid_of(message_id: str, wa_id: str) -> bool:
    """Whether a message id (or a seen id starting with one, "wamid...:failed") carries
    exactly this number."""
    encoded = message_id.removeprefix("wamid.").split(":", 1)[0]
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        return False
    return raw.startswith(_header(wa_id))


def _header(wa_id: str) -> bytes:
    return bytes([0x1C, 0x18, len(wa_id)]) + wa_id.encode()


def subject_of(key: bytes, wa_id: str) -> str:
    """A keyed hash of the number as dialled today (both stored forms hash alike); the
    key is the database's own, so the hash cannot be reversed by trying every phone."""
    canonical = phones.display(wa_id).lstrip("+")
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()[:24]
