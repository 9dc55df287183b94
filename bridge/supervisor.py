"""Supervised background work: the outbox, the reconciler and every periodic task.

A worker that raises is logged with its traceback, waits (exponential backoff, reset once
it has run quietly for a while) and starts again. While one is down, or has crashed
`flapping_limit` times within `flapping_window` seconds, `/readyz` answers 503 and says
which: nothing restarts forever in silence.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger("bridge.supervisor")

Job = Callable[[], Awaitable[None]]


@dataclass
class Worker:
    name: str
    job: Job
    once: bool  # done when it returns (a start-up probe); otherwise it must run forever
    state: str = "starting"  # running | restarting | finished | stopped
    restarts: int = 0
    last_error: str | None = None
    crashes: deque[float] = field(default_factory=deque)

    def view(self) -> dict[str, Any]:
        return {"state": self.state, "restarts": self.restarts, "last_error": self.last_error}


class Supervisor:
    def __init__(
        self,
        *,
        backoff: float = 1.0,
        backoff_cap: float = 60.0,
        flapping_limit: int = 3,
        flapping_window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backoff = backoff
        self._cap = backoff_cap
        self._limit = flapping_limit
        self._window = flapping_window
        self._clock = clock
        self._workers: dict[str, Worker] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, name: str, job: Job, *, once: bool = False) -> None:
        self._workers[name] = Worker(name, job, once)

    def start(self) -> None:
        for worker in self._workers.values():
            task = asyncio.create_task(self._keep(worker), name=f"worker:{worker.name}")
            self._tasks.append(task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for worker in self._workers.values():
            if worker.state != "finished":
                worker.state = "stopped"

    def status(self) -> dict[str, dict[str, Any]]:
        return {n: {**w.view(), "healthy": self._healthy(w)} for n, w in self._workers.items()}

    def _healthy(self, worker: Worker) -> bool:
        self._forget_old(worker)
        return worker.state in ("running", "finished") and len(worker.crashes) < self._limit

    def _forget_old(self, worker: Worker) -> None:
        while worker.crashes and self._clock() - worker.crashes[0] > self._window:
            worker.crashes.popleft()

    async def _keep(self, worker: Worker) -> None:
        while True:
            worker.state = "running"
            try:
                await worker.job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._crashed(worker, exc)
            else:
                if worker.once:
                    worker.state = "finished"
                    return
                self._crashed(worker, None)
            worker.state = "restarting"
            await asyncio.sleep(self._delay(worker))
            worker.restarts += 1
            log.warning("worker.restarted", worker=worker.name, restarts=worker.restarts)

    def _crashed(self, worker: Worker, exc: Exception | None) -> None:
        worker.crashes.append(self._clock())
        self._forget_old(worker)
        if exc is None:
            worker.last_error = "returned"
            log.error("worker.returned", worker=worker.name)
            return
        worker.last_error = type(exc).__name__
        log.error(
            "worker.crashed",
            worker=worker.name,
            error=type(exc).__name__,
            crashes_recently=len(worker.crashes),
            exc_info=exc,
        )

    def _delay(self, worker: Worker) -> float:
        # Crashes long ago do not count: a worker that ran quietly starts again quickly.
        return min(self._cap, self._backoff * 2.0 ** max(0, len(worker.crashes) - 1))
