"""Start-up check that the remote services answer, retried with tenacity.

The bridge accepts webhooks even while a remote is down (the outbox holds the work), so
this runs in the background: it logs what it finds and feeds /readyz."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from bridge.core.ports import Retryable
from bridge.rocketchat.client import RocketChatClient
from bridge.whatsapp.client import GraphClient

log = structlog.get_logger("bridge.probe")


async def probe_remotes(graphs: list[GraphClient], rocketchat: RocketChatClient) -> None:
    await _probe("rocketchat", rocketchat.probe)
    for graph in graphs:
        await _probe(graph.health.name, graph.probe)


async def _probe(name: str, check: Callable[[], Awaitable[str]]) -> None:
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(Retryable),
        wait=wait_exponential(multiplier=1, max=60),
        stop=stop_after_attempt(8),
        reraise=True,
    )
    detail = ""
    try:
        async for attempt in retrying:
            with attempt:
                detail = await check()
    except Retryable as exc:
        log.warning("probe.unreachable", remote=name, reason=exc.reason)
        return
    log.info("probe.ok", remote=name, detail=detail)
