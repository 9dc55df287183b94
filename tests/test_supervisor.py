"""The supervisor: crashed workers restart with backoff and say so; nothing dies silently."""

from __future__ import annotations

import asyncio

import pytest

from bridge.supervisor import Supervisor
from tests.support.e2e import until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def healthy(supervisor: Supervisor) -> bool:
    """As /readyz reads it: every worker healthy."""
    return all(w["healthy"] for w in supervisor.status().values())


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_crashing_worker_restarts_and_is_unhealthy_meanwhile() -> None:
    runs: list[int] = []
    release = asyncio.Event()

    async def worker() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("bug")
        await release.wait()  # the second run keeps running

    supervisor = Supervisor(backoff=0.05)
    supervisor.add("outbox", worker)
    supervisor.start()
    await settle()
    status = supervisor.status()["outbox"]
    assert status["state"] == "restarting" and not healthy(supervisor)
    assert status["last_error"] == "RuntimeError"
    await until(lambda: len(runs) >= 2)
    await settle()
    assert supervisor.status()["outbox"]["restarts"] == 1
    assert healthy(supervisor)
    await supervisor.stop()
    assert supervisor.status()["outbox"]["state"] == "stopped"


async def test_repeated_crashes_are_unhealthy_until_they_age_out() -> None:
    clock = Clock()

    async def always() -> None:
        raise ValueError("again")

    supervisor = Supervisor(backoff=0.001, flapping_limit=3, flapping_window=300, clock=clock)
    supervisor.add("reconciler", always)
    supervisor.start()
    await until(lambda: supervisor.status()["reconciler"]["restarts"] >= 3)
    assert not healthy(supervisor)
    await supervisor.stop()
    clock.now += 301  # five quiet minutes later the old crashes no longer count
    assert supervisor.status()["reconciler"]["healthy"] is False  # still stopped
    assert not supervisor._workers["reconciler"].crashes


async def test_backoff_doubles_with_recent_crashes_up_to_the_cap() -> None:
    supervisor = Supervisor(backoff=1.0, backoff_cap=5.0, clock=Clock())

    async def idle() -> None:
        await asyncio.sleep(3600)

    supervisor.add("w", idle)
    worker = supervisor._workers["w"]
    delays = []
    for _ in range(5):
        worker.crashes.append(1000.0)
        delays.append(supervisor._delay(worker))
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]


async def test_a_one_shot_job_finishes_and_a_forever_worker_that_returns_restarts() -> None:
    calls = {"probe": 0, "loop": 0}

    async def probe() -> None:
        calls["probe"] += 1

    async def loop() -> None:
        calls["loop"] += 1

    supervisor = Supervisor(backoff=0.01)
    supervisor.add("probe", probe, once=True)
    supervisor.add("loop", loop)
    supervisor.start()
    await until(lambda: calls["loop"] >= 2)
    status = supervisor.status()
    assert status["probe"]["state"] == "finished" and calls["probe"] == 1
    assert calls["loop"] >= 2 and status["loop"]["last_error"] == "returned"
    await supervisor.stop()


async def test_crashes_are_logged_with_their_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    async def broken() -> None:
        {}["missing"]

    supervisor = Supervisor(backoff=10)
    supervisor.add("broken", broken)
    supervisor.start()
    await settle()
    await supervisor.stop()
    out = capsys.readouterr().out
    assert "worker.crashed" in out and "KeyError" in out and "Traceback" in out
