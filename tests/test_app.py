"""The app factory: resources are released even when start-up fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bridge import app as app_module
from bridge.core.decide import Texts
from bridge.store import SqliteStore as Store
from tests.support.e2e import make_settings


async def test_a_failed_start_closes_the_database(
    tmp_path: Path, texts: Texts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer thread would keep a bridge that could not start from exiting."""
    closed: list[Store] = []
    real_close = Store.close

    async def recording_close(self: Store) -> None:
        closed.append(self)
        await real_close(self)

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("wiring failed")

    monkeypatch.setattr(Store, "close", recording_close)
    monkeypatch.setattr(app_module, "_assemble", broken)
    settings = make_settings(tmp_path / "bridge.db", "http://127.0.0.1:9", "http://127.0.0.1:9")
    runner = web.AppRunner(app_module.build_app(settings, texts))
    with pytest.raises(RuntimeError, match="wiring failed"):
        await runner.setup()
    assert len(closed) == 1
