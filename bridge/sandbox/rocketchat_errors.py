"""Rocket.Chat REST error bodies (contract rocketchat-omnichannel.md §1.3).

Each helper returns an :class:`RCError`, which the app middleware renders as JSON. The
shapes differ on purpose, as in the real server: plain ``Error('x')`` gives
``{"success":false,"error":"x"}``; ``Meteor.Error(code, reason)`` adds ``[code]`` and
``errorType``; upload failures use ``reason`` and have no ``error`` key.
"""

from __future__ import annotations

import math
from typing import Any


class RCError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error") or body.get("reason") or status)
        self.status = status
        self.body = body
        self.headers: dict[str, str] = {}


def plain(message: str, status: int = 400) -> RCError:
    """``throw new Error(message)`` inside a handler -> 400 ``{success, error}``."""
    return RCError(status, {"success": False, "error": message})


def meteor(code: str, reason: str | None = None, status: int = 400) -> RCError:
    """``Meteor.Error(code, reason)``: ``"<reason> [<code>]"`` (or ``"[<code>]"``)."""
    error = f"{reason} [{code}]" if reason else f"[{code}]"
    return RCError(status, {"success": False, "error": error, "errorType": code})


def invalid_params(message: str) -> RCError:
    """ajv validation failure, e.g. ``must have required property 'token' [invalid-params]``."""
    return meteor("invalid-params", message)


def match_error(message: str) -> RCError:
    """Meteor ``check()`` failure: ``Match error: ...`` without errorType (inferred, §1.3)."""
    return RCError(400, {"success": False, "error": f"Match error: {message}"})


def failure_reason(reason: str, **extra: Any) -> RCError:
    """``API.v1.failure({reason})``: the object itself plus success:false (upload, §2.7)."""
    return RCError(400, {"reason": reason, **extra, "success": False})


def unauthorized(major: int) -> RCError:
    """401 for a missing/invalid login; 8.x keeps the legacy status/message keys (§1.3)."""
    text = "You must be logged in to do this."
    if major >= 9:
        return RCError(401, {"success": False, "error": text})
    return RCError(401, {"success": False, "error": text, "status": "error", "message": text})


def forbidden(major: int) -> RCError:
    """``forbidden()`` (8.x) / ``unauthorized()`` (6.x): 403; 9.0 renames the text."""
    return RCError(403, {"success": False, "error": "forbidden" if major >= 9 else "unauthorized"})


def internal_error() -> RCError:
    return RCError(500, {"success": False, "error": "Internal server error"})


def too_many_requests(wait_ms: float) -> RCError:
    """429 body of the rate limiter (§1.3, §1.4)."""
    seconds = max(1, math.ceil(wait_ms / 1000))
    text = (
        "Error, too many requests. Please slow down. You must wait "
        f"{seconds} seconds before trying this endpoint again. [error-too-many-requests]"
    )
    return RCError(429, {"success": False, "error": text})


def duplicate_key(message_id: str) -> RCError:
    """Re-using a message `_id` (§2.4): a MongoDB duplicate-key error surfaces as a plain
    400. The exact text is **inferred** from MongoDB's E11000 format; match on "E11000"."""
    return plain(
        "E11000 duplicate key error collection: rocketchat.rocketchat_message index: _id_ "
        f'dup key: {{ _id: "{message_id}" }}'
    )
