"""Platform state of the Graph fake: service windows, pair limit, media, scripted faults.

Contract whatsapp-cloud-api.md §8.1 (24 h window), §8.2 (pair rate limit), §6 (media
lifetime: download URL valid 5 minutes, Bearer token required).
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BusinessNumber:
    """A phone number of the WABA: its system-user token reaches it; a number registered
    in another Meta app has that app's secret signing its webhooks."""

    phone_number_id: str
    access_token: str
    display_phone_number: str
    app_secret: str


class WindowTracker:
    """Customer-service windows, one per business number and user: opened/refreshed by
    every user message to that number (§8.1). Keys are "number/wa_id"."""

    def __init__(self) -> None:
        self._last_inbound: dict[str, float] = {}

    def touch(self, wa_id: str) -> None:
        self._last_inbound[wa_id] = time.monotonic()

    def expire(self, wa_id: str) -> None:
        self._last_inbound.pop(wa_id, None)

    def is_open(self, wa_id: str, window_seconds: float) -> bool:
        last = self._last_inbound.get(wa_id)
        return last is not None and time.monotonic() - last < window_seconds


class PairLimiter:
    """Sends per recipient in a sliding period; more than `burst` -> 131056 (§8.2)."""

    def __init__(self) -> None:
        self._sends: dict[str, deque[float]] = {}

    def allow(self, wa_id: str, *, burst: int, period: float) -> bool:
        now = time.monotonic()
        sends = self._sends.setdefault(wa_id, deque())
        while sends and now - sends[0] >= period:
            sends.popleft()
        if len(sends) >= burst:
            return False
        sends.append(now)
        return True


@dataclass
class MediaItem:
    media_id: str
    data: bytes
    mime: str
    filename: str
    # The number the media was uploaded on; None for inbound (webhook) media, which must
    # not be resolved with ?phone_number_id= (§6.2).
    phone_number_id: str | None


class MediaStore:
    """Media by id, and short-lived download links (`ext` ≈ now + TTL, §2.2/§6.2)."""

    def __init__(self) -> None:
        self.items: dict[str, MediaItem] = {}
        self._links: dict[str, tuple[str, float]] = {}

    def add(self, item: MediaItem) -> None:
        self.items[item.media_id] = item

    def delete(self, media_id: str) -> bool:
        return self.items.pop(media_id, None) is not None

    def link(self, base_url: str, media_id: str, ttl: float, *, webhook: bool) -> str:
        """A lookaside-style URL; the expiry is kept server-side at full precision."""
        token = secrets.token_urlsafe(16)
        expires_at = time.time() + ttl
        self._links[token] = (media_id, expires_at)
        source = "&source=webhook" if webhook else ""
        return (
            f"{base_url}/whatsapp_business/attachments/?mid={media_id}{source}"
            f"&ext={int(expires_at)}&hash={token}"
        )

    def resolve(self, media_id: str, token: str) -> MediaItem | None:
        """The item behind a download link, or None when unknown, expired or deleted."""
        entry = self._links.get(token)
        if entry is None or entry[0] != media_id or time.time() > entry[1]:
            return None
        return self.items.get(media_id)


@dataclass
class ScriptedFault:
    target: str  # "message", "read", "media" or "any"
    code: int | None  # None = raw HTTP failure (gateway error, non-JSON body)
    http_status: int | None
    details: str | None
    retry_after: float | None
    remaining: int


@dataclass
class FaultQueue:
    faults: list[ScriptedFault] = field(default_factory=list)

    def add(self, fault: ScriptedFault) -> None:
        self.faults.append(fault)

    def take(self, target: str) -> ScriptedFault | None:
        for fault in self.faults:
            if fault.remaining > 0 and fault.target in (target, "any"):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None
