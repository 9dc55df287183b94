"""Who is there: the remote services are probed together at start-up and then every
BRIDGE_PROBE_SECONDS, so an idle bridge still notices an expired token or an outage.

The bridge accepts webhooks even while a remote is down (the outbox holds the work), so
this runs in the background: it logs what it finds and feeds /readyz through each
client's Reachability."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import structlog

from bridge.core.ports import DeliveryError
from bridge.health import Reachability

log = structlog.get_logger("bridge.probe")

Probe = tuple[Reachability, Callable[[], Awaitable[str]]]


async def probe_forever(probes: Sequence[Probe], every: float) -> None:
    """One round now, then one every `every` seconds (0: only the first). The first
    round is logged whole; later ones only when something changed."""
    await probe_once(probes, loud=True)
    while every > 0:
        await asyncio.sleep(every)
        await probe_once(probes, loud=False)


async def probe_once(probes: Sequence[Probe], *, loud: bool = True) -> None:
    await asyncio.gather(*(_probe(health, check, loud) for health, check in probes))


async def _probe(health: Reachability, check: Callable[[], Awaitable[str]], loud: bool) -> None:
    was = health.problem()
    try:
        detail = await check()
    except DeliveryError as exc:
        # Retryable: the client marked the service unreachable; Permanent: it answered.
        if loud or health.problem() != was:
            log.warning("probe.failed", remote=health.name, reason=exc.reason)
        return
    problem = health.problem()
    if loud or problem != was:
        if problem is None:
            log.info("probe.ok", remote=health.name, detail=detail)
        else:
            log.warning("probe.problem", remote=health.name, problem=problem)
