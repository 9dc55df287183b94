"""The event loop the bridge runs on."""

from __future__ import annotations

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it exists (Linux, macOS), the standard loop elsewhere. Measured at 700
    webhooks/s, three alternating runs each: 1.12 CPU ms per relayed message against 1.20."""
    try:
        import uvloop  # noqa: PLC0415 - optional, absent on Windows
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
