"""structlog set-up: JSON lines in production, readable console output in development.

Personal data (message bodies, phone numbers, names) is never logged at info level; the
redaction processor below is a second line of defence for keys that slip through."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import MutableMapping
from typing import Any

import structlog
import structlog.tracebacks

# Keys that may carry a citizen's data; their values are masked unless LOG_LEVEL=debug.
SENSITIVE_KEYS = frozenset({"text", "body", "msg", "phone", "wa_id", "name", "profile_name"})


# An exception's message may quote what it choked on; phone numbers are long digit runs.
_DIGITS = re.compile(r"\d{8,}")


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in SENSITIVE_KEYS & event.keys():
        event[key] = "[redacted]"
    if "exception" in event:
        event["exception"] = _scrub(event["exception"])
    return event


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _DIGITS.sub("[redacted]", value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value


def configure(level: str = "info", fmt: str = "json") -> None:
    numeric = logging.getLevelName(level.upper())
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "json":
        # Tracebacks as structured frames inside the JSON line, never with the frames'
        # local variables (they would hold the citizens' messages).
        transformer = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        processors.append(structlog.processors.ExceptionRenderer(transformer))
    else:
        processors.append(structlog.processors.format_exc_info)
    if numeric > logging.DEBUG:
        processors.append(redact)
    if fmt == "json":
        processors.append(structlog.processors.JSONRenderer())
    else:
        processors.append(structlog.dev.ConsoleRenderer())
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        # Each module's logger is built once, not at every call: at thousands of messages a
        # second the rebuilding showed in profiles. configure() is called once, at start-up.
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)


SLOW_WEBHOOK_MS = 1000.0  # senders give up after a few seconds (Meta, Rocket.Chat: 5 s)


def handled(logger: Any, started: float, **fields: Any) -> None:
    """One line per webhook at debug level; at warning when it was slow. At thousands of
    webhooks a second an info line each is noise; rates are what metrics are for."""
    ms = round((time.perf_counter() - started) * 1000, 2)
    if ms >= SLOW_WEBHOOK_MS:
        logger.warning("webhook.slow", ms=ms, **fields)
    else:
        logger.debug("webhook.handled", ms=ms, **fields)
