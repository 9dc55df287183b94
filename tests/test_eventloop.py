"""The serving process's runtime: its collector and thread switching are tuned and its
start-up heap frozen."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bridge import __main__ as entry
from bridge.core.decide import Texts
from bridge.eventloop import GC_THRESHOLDS, SWITCH_INTERVAL, freeze_heap, tune_collector
from tests.support.e2e import make_settings


@pytest.fixture
def collector() -> Iterator[None]:
    """Whatever a test changes in this (the test) process's collector or thread switch
    interval is put back."""
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("collector")
def test_the_collector_runs_less_often() -> None:
    gc.set_threshold(700, 10, 10)
    tune_collector()
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > 700


@pytest.mark.usefixtures("collector")
def test_what_exists_at_start_up_is_frozen() -> None:
    gc.unfreeze()
    start_up = [object() for _ in range(3)], {"built": "at start-up"}
    freeze_heap()
    assert gc.get_freeze_count() > 0
    assert all(o is not start_up[1] for o in gc.get_objects())  # not walked any more


@pytest.mark.usefixtures("collector")
async def test_serving_freezes_the_heap_once_the_parts_are_built(
    tmp_path: Path, texts: Texts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` hands run_app an app whose last start-up step freezes the heap, after the
    store and workers (cleanup_ctx) exist."""
    served: list[web.Application] = []

    def run_app(app: web.Application, **kwargs: Any) -> None:
        served.append(app)
        kwargs["loop"].close()

    monkeypatch.setattr(entry.web, "run_app", run_app)
    settings = make_settings(tmp_path / "bridge.db", "http://127.0.0.1:9", "http://127.0.0.1:9")
    gc.set_threshold(700, 10, 10)
    sys.setswitchinterval(0.005)
    assert entry.serve(settings, texts, None, {}) == 0
    [app] = served
    assert gc.get_threshold() == GC_THRESHOLDS
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL) and SWITCH_INTERVAL < 0.005
    assert list(app.on_startup)[-1] is entry._freeze_heap
    gc.unfreeze()
    await entry._freeze_heap(app)
    assert gc.get_freeze_count() > 0
