"""The sandbox console: /status shows the outbox, --now sets the bot's clock."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bridge.sandbox.console import clock_from, command, settle, start_sandbox


async def test_status_shows_rooms_agents_and_the_outbox(tmp_path: Path) -> None:
    out = io.StringIO()
    async with start_sandbox(0, None, None, tmp_path, out) as sandbox:
        await command(sandbox, "oi")
        await settle(sandbox)
        await command(sandbox, "/status")
    status = out.getvalue().splitlines()[-1]
    assert status.startswith("open rooms: ['") and status.endswith("outbox: empty")


def test_now_starts_the_clock_where_asked_and_lets_it_run() -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    clock = clock_from("2026-11-23 14:00", zone)
    assert clock is not None
    start = datetime(2026, 11, 23, 14, 0, tzinfo=zone)
    first = clock()
    assert start <= first < start + timedelta(seconds=5)
    assert clock() >= first  # it runs on from there
    assert clock_from(None, zone) is None
    with pytest.raises(ValueError):
        clock_from("amanhã cedo", zone)
