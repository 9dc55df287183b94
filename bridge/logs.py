"""structlog set-up: JSON lines in production, readable console output in development.

Personal data (message bodies, phone numbers, names) is never logged at info level; the
redaction processor below is a second line of defence for keys that slip through."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys that may carry a citizen's data; their values are masked unless LOG_LEVEL=debug.
SENSITIVE_KEYS = frozenset({"text", "body", "msg", "phone", "wa_id", "name", "profile_name"})


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in SENSITIVE_KEYS & event.keys():
        event[key] = "[redacted]"
    return event


def configure(level: str = "info", fmt: str = "json") -> None:
    numeric = logging.getLevelName(level.upper())
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if numeric > logging.DEBUG:
        processors.append(redact)
    processors.append(structlog.processors.format_exc_info)
    if fmt == "json":
        processors.append(structlog.processors.JSONRenderer())
    else:
        processors.append(structlog.dev.ConsoleRenderer())
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)
