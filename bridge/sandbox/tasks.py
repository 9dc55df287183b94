"""A tracked set of background tasks for the sandbox fakes.

The fakes emit webhooks "later", like the real services do, but a test must be able to
wait for that "later" without sleeping and must never leak a task past ``close()``.
Every task lives in one set; ``wait_idle()`` waits until the set is empty (tasks may spawn
more tasks, e.g. a status ladder), and ``close()`` cancels and awaits whatever is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class BackgroundTasks:
    """Owns every background task of one fake."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._errors: list[BaseException] = []

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            # A fake's own bug must not vanish silently: wait_idle() re-raises it.
            self._errors.append(error)

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until no task is running, including tasks spawned while waiting."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._errors:
            error = self._errors.pop(0)
            raise RuntimeError("a sandbox background task failed") from error

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
