"""The daemon's retention schedule: not during start-up, then every `every` seconds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bridge.lgpd import purge_command, retention_forever


class Store:
    def __init__(self) -> None:
        self.purges: list[float] = []
        self.audits: list[Any] = []

    async def purge(self, before: float) -> dict[str, int]:
        self.purges.append(before)
        return {"seen_event": len(self.purges) % 2}  # something, then nothing, ...

    async def audit(self, entry: Any, wa_id: str | None = None) -> None:
        self.audits.append(entry)


async def test_the_first_purge_waits_then_they_repeat_and_only_real_ones_are_audited() -> None:
    store = Store()
    task = asyncio.create_task(retention_forever(store, 30, every=0.01, first=0.2))  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    assert store.purges == []  # start-up is left alone
    await asyncio.sleep(0.3)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(store.purges) >= 3
    assert 1 <= len(store.audits) < len(store.purges)  # quiet when nothing was erased
    assert all(a.action == "purge" and a.operator == "bridge" for a in store.audits)


async def test_a_purge_shorter_than_meta_retries_last_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store()
    assert await purge_command(store, 3, "dpo") == 2  # type: ignore[arg-type]
    assert store.purges == [] and store.audits == []
    assert "at least 7" in capsys.readouterr().err
    assert await purge_command(store, 7, "dpo") == 0  # type: ignore[arg-type]
    assert len(store.purges) == 1
