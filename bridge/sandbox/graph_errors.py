"""Graph API errors: the envelope (contract whatsapp-cloud-api.md §7.1) and code table (§7.2).

Titles are Meta's error titles as quoted in the contract and in captured responses; where a
title is not quoted anywhere we read, it is marked (inferred). The HTTP status comes from
Meta's table: note that the rate limits 130429 / 131056 are HTTP **400**, not 429.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

ERROR_CODES_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

# code -> (title, HTTP status); §7.2 table.
CODE_TABLE: dict[int, tuple[str, int]] = {
    0: ("AuthException", 401),
    1: ("API Unknown", 400),
    2: ("Service temporarily unavailable", 503),
    3: ("API Method", 500),
    4: ("Application request limit reached", 400),
    10: ("Permission Denied", 403),
    33: ("Parameter value is not valid", 400),
    100: ("Invalid parameter", 400),
    190: ("Invalid OAuth access token - Cannot parse access token", 401),
    200: ("Permission Denied", 403),
    368: ("Temporarily blocked for policies violations", 403),
    80007: ("Rate limit issues", 400),
    130429: ("Rate limit hit", 400),
    130472: ("User's number is part of an experiment", 400),
    131000: ("Something went wrong", 500),
    131005: ("Access denied", 403),
    131008: ("Required parameter is missing", 400),
    131009: ("Parameter value is not valid", 400),
    131016: ("Service unavailable", 500),
    131021: ("Recipient cannot be sender", 400),
    131026: ("Message Undeliverable", 400),
    131030: ("Recipient phone number not in allowed list", 400),  # HTTP inferred (§7.2)
    131031: ("Account has been locked", 403),
    131042: ("Business eligibility payment issue", 400),
    131045: ("Incorrect certificate", 500),
    131047: ("Re-engagement message", 400),
    131048: ("Spam rate limit hit", 400),
    131049: ("This message was not delivered to maintain healthy ecosystem engagement.", 400),
    131050: ("User has stopped marketing messages", 400),  # title (inferred)
    131051: ("Unsupported message type", 400),
    131052: ("Media download error", 400),
    131053: ("Media upload error", 400),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 400),
    131057: ("Account in maintenance mode", 500),
    131062: ("Business-scoped user ID recipients not supported", 400),  # (inferred)
    132000: ("Number of parameters does not match the expected number of params", 400),
    132001: ("Template name does not exist in the translation", 404),
    132005: ("Translated text too long", 400),
    132007: ("Template Format Character Policy Violated", 400),
    132012: ("Parameter format does not match format in the created template", 400),
    132015: ("Template is Paused", 400),
    132016: ("Template is Disabled", 400),
    133010: ("Phone number Not Registered", 400),
    135000: ("Generic user error", 400),
}

# Default `error_data.details` for codes a test is likely to script; the 131047 text is the
# one seen in real failed-status webhooks.
DEFAULT_DETAILS: dict[int, str] = {
    130429: "Cloud API message throughput has been reached.",
    131047: (
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number."
    ),
    131056: (
        "Message failed to send because there were too many messages sent from this phone "
        "number to the same phone number in a short period of time."
    ),
    131026: "Message Undeliverable.",
    131053: "Media upload error.",
    131000: "Something went wrong.",
}


def title_of(code: int) -> str:
    return CODE_TABLE.get(code, ("Unknown error", 400))[0]


def http_status_of(code: int) -> int:
    return CODE_TABLE.get(code, ("Unknown error", 400))[1]


def fbtrace_id() -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    return "A" + "".join(secrets.choice(alphabet) for _ in range(22))


@dataclass(eq=False)
class GraphError(Exception):
    """A synchronous Graph error; the route middleware turns it into the §7.1 envelope.

    `error_data` is only attached to WhatsApp-level codes (13xxxx) or when details are
    given: captured Graph-level errors such as "(#100) The parameter messaging_product is
    required." carry no `error_data`.
    """

    code: int
    message: str | None = None
    details: str | None = None
    http_status: int | None = None
    subcode: int | None = None
    type: str = "OAuthException"

    def status(self) -> int:
        return self.http_status if self.http_status is not None else http_status_of(self.code)

    def envelope(self) -> dict[str, Any]:
        message = self.message if self.message is not None else default_message(self.code)
        error: dict[str, Any] = {"message": message, "type": self.type, "code": self.code}
        details = self.details
        if details is None and self.code >= 130000:
            details = DEFAULT_DETAILS.get(self.code, title_of(self.code))
        if details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}


def default_message(code: int) -> str:
    if code == 190:
        # Captured 401 bodies carry the bare text, without the "(#190)" prefix.
        return title_of(code)
    return f"(#{code}) {title_of(code)}"


def param_error(message: str) -> GraphError:
    """A Graph-level (#100) parameter error, e.g. "(#100) Param text['body'] must be ..."."""
    return GraphError(100, message=f"(#100) {message}")


def invalid_value(details: str) -> GraphError:
    """131009 with its `details`, e.g. the observed button-title length message."""
    return GraphError(131009, details=details)


def missing_param(details: str) -> GraphError:
    return GraphError(131008, details=details)


def unknown_object(object_id: str, method: str) -> GraphError:
    """Graph's standard "object does not exist" answer (code 100, subcode 33)."""
    return GraphError(
        100,
        message=(
            f"Unsupported {method} request. Object with ID '{object_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation. "
            "Please read the Graph API documentation at "
            "https://developers.facebook.com/docs/graph-api"
        ),
        subcode=33,
        type="GraphMethodException",
    )


def status_error(code: int, details: str | None = None) -> dict[str, Any]:
    """The `errors[]` item of a failed status webhook (§2.4)."""
    title = title_of(code)
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or DEFAULT_DETAILS.get(code, title)},
        "href": ERROR_CODES_HREF,
    }
