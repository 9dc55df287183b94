"""Rocket.Chat's answers and errors, turned into one short line that is safe to print."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from rocketchat_API.APIExceptions.RocketExceptions import (
    RocketApiException,
    RocketAuthenticationException,
    RocketBadStatusCodeException,
    RocketConnectionException,
)

# Everything that can go wrong talking to Rocket.Chat through rocketchat_API. ValueError
# covers a non-JSON answer (a proxy's HTML page) and our own "unexpected answer".
API_ERRORS = (
    RocketApiException,
    RocketBadStatusCodeException,
    RocketAuthenticationException,
    RocketConnectionException,
    requests.RequestException,
    ValueError,
)


def as_object(value: Any) -> dict[str, Any]:
    """Rocket.Chat answers JSON objects; anything else is a wrong URL or a proxy page."""
    if not isinstance(value, dict):
        raise ValueError("unexpected answer (not a Rocket.Chat API object)")
    return value


def error_text(exc: BaseException) -> str:
    """Rocket.Chat's `error` (which usually ends in `[errorType]`), else its `message`."""
    body = getattr(exc, "response_json", None)
    if not isinstance(body, dict):
        return ""
    error = str(body.get("error") or body.get("message") or "")
    error_type = str(body.get("errorType") or "")
    return error if error_type in error else f"{error} [{error_type}]"


def reason(exc: BaseException, base: str = "") -> str:
    """One short line for an error; never the raw body, which may echo a request."""
    if isinstance(exc, requests.RequestException) and not isinstance(exc, ValueError):
        where = f" {without_userinfo(base)}" if base else " Rocket.Chat"
        return f"cannot reach{where} ({type(exc).__name__}): check ROCKETCHAT_URL"
    status = http_status(exc)
    if status is None:
        return str(exc) or type(exc).__name__
    message = " ".join(error_text(exc).split())[:200] or "no error message"
    return f"HTTP {status}: {message}{_STATUS_HINTS.get(status, '')}"


def http_status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


_STATUS_HINTS = {
    401: " (ROCKETCHAT_USER_ID / ROCKETCHAT_AUTH_TOKEN refused?)",
    403: " (the account lacks a permission: give it the livechat-manager role or use an admin)",
    404: " (is ROCKETCHAT_URL the Rocket.Chat root URL?)",
}


def without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
