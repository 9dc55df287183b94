"""Composition root: build_app(settings) wires every part; resources live in cleanup_ctx."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

import aiohttp
import structlog
from aiohttp import web
from yarl import URL

from bridge.core.decide import Bot, Policy, Template, Texts
from bridge.core.delivery import Deliverer
from bridge.core.intake import Intake
from bridge.core.lines import Line, Lines
from bridge.core.outbox import Outbox
from bridge.core.outcomes import RetryPolicy
from bridge.core.reconcile import Reconciler
from bridge.core.storage import Storage, StorageUnavailable
from bridge.health import Reachability
from bridge.httpjson import json_text
from bridge.lgpd import retention_forever
from bridge.metrics import Metrics, Snapshot
from bridge.probe import probe_forever
from bridge.rocketchat.client import RocketChatClient
from bridge.rocketchat.webhook import RocketChatWebhook
from bridge.settings import Settings
from bridge.store import Database, is_postgres, open_store
from bridge.supervisor import Supervisor
from bridge.whatsapp.client import GraphClient
from bridge.whatsapp.webhook import WhatsAppWebhook

log = structlog.get_logger("bridge.app")


@dataclass
class Parts:
    """Everything built at start-up, for handlers and tests (app[PARTS])."""

    store: Storage
    intake: Intake
    outbox: Outbox
    reconciler: Reconciler
    graphs: dict[str, GraphClient]  # one per WhatsApp number (its token)
    rocketchat: RocketChatClient
    supervisor: Supervisor

    @property
    def graph(self) -> GraphClient:
        """The first number's client (the only one in a single-number set-up)."""
        return next(iter(self.graphs.values()))


SETTINGS = web.AppKey("settings", Settings)
WEBHOOK_SOURCES = frozenset({"whatsapp", "rocketchat"})
SPARE_CONNECTIONS = 16  # HTTP connections beyond the deliveries in flight
METRICS = web.AppKey("metrics", Metrics)
PARTS = web.AppKey("parts", Parts)


def build_app(
    settings: Settings,
    texts: Texts,
    bot: Bot | None = None,
    bots: Mapping[str, Bot | None] | None = None,
) -> web.Application:
    """`bot` answers on WHATSAPP_PHONE_NUMBER_ID; `bots` on each of WHATSAPP_NUMBERS (a
    number missing from it uses `bot`)."""
    metrics = Metrics(remotes_of(settings))
    app = web.Application(
        client_max_size=settings.bridge_max_body_bytes, middlewares=[_count_webhooks]
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    lines = lines_of(settings, texts, bot, bots or {})
    app.cleanup_ctx.append(_parts(lines))
    app.cleanup_ctx.append(_workers)
    parts = _lazy(app)
    whatsapp = WhatsAppWebhook(lambda: parts().intake, apps_of(settings), verify_tokens(settings))
    # Several replicas (PostgreSQL): an agent's message first replays what the room holds
    # that no replica has seen yet, so a webhook lost with a dying replica is not overtaken.
    in_order = None
    if is_postgres(settings.database):

        async def in_order(room: str, arriving: frozenset[str]) -> int:
            return await parts().reconciler.replay_room(room, arriving)  # built when the app runs

    rocketchat = RocketChatWebhook(
        lambda: parts().intake, settings.rocketchat_webhook_token.get_secret_value(), in_order
    )
    app.router.add_routes(whatsapp.routes() + rocketchat.routes())
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    return app


def remotes_of(settings: Settings) -> dict[str, str]:
    """host:port of each remote, for the metrics' `remote` label."""
    found = {}
    for name, url in (("whatsapp", settings.graph_base), ("rocketchat", settings.rocketchat_base)):
        parsed = URL(url)
        found[f"{parsed.host}:{parsed.port}"] = name
    return found


@web.middleware
async def _count_webhooks(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/webhooks/") or request.method != "POST":
        return cast(web.StreamResponse, await handler(request))
    # Only the routes' own names: any other path would be a new label series per request.
    source = request.path.removeprefix("/webhooks/")
    source = source if source in WEBHOOK_SOURCES else "other"
    try:
        response = cast(web.StreamResponse, await handler(request))
    except web.HTTPException as exc:  # 413 from client_max_size, 404, ...
        request.app[METRICS].webhook(source, exc.status)
        raise
    request.app[METRICS].webhook(source, response.status)
    return response


async def metrics_page(request: web.Request) -> web.Response:
    """Prometheus text format; the database's figures are read at each scrape."""
    metrics, parts = request.app[METRICS], request.app[PARTS]
    snapshot = Snapshot(taken_at=time.time(), workers=parts.supervisor.status())
    try:
        snapshot.backlog = await parts.store.outbox_backlog()
        snapshot.states = await parts.store.conversation_states()
        for record in await parts.store.counters():
            key = (record.name, record.label)
            snapshot.statistics[key] = snapshot.statistics.get(key, 0) + record.value
    except StorageUnavailable as exc:
        log.error("metrics.storage_unavailable", error=str(exc))
    metrics.snapshot = snapshot
    return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})  # fmt: skip


def policy_of(settings: Settings, texts: Texts) -> Policy:
    template = None
    if settings.whatsapp_template_name:
        template = Template(
            settings.whatsapp_template_name,
            settings.whatsapp_template_language,
            settings.template_parameters,
        )
    return Policy(
        settings.rocketchat_department,
        settings.bridge_agent_prefix,
        texts,
        template=template,
        window_margin=settings.bridge_window_margin_seconds,
        read_receipts=settings.bridge_read_receipts,
        typing=settings.bridge_typing_indicator,
        announce_agent=settings.bridge_announce_agent,
    )


def apps_of(settings: Settings) -> dict[str, frozenset[str]]:
    """Each Meta app secret and the numbers it signs for: WHATSAPP_APP_SECRET covers
    WHATSAPP_PHONE_NUMBER_ID and every listed number that names no secret of its own."""
    default = settings.whatsapp_app_secret.get_secret_value()
    apps: dict[str, set[str]] = {default: {settings.whatsapp_phone_number_id}}
    for number in settings.whatsapp_numbers:
        secret = number.app_secret.get_secret_value() if number.app_secret else default
        apps.setdefault(secret, set()).add(number.phone_number_id)
    return {secret: frozenset(numbers) for secret, numbers in apps.items()}


def verify_tokens(settings: Settings) -> list[str]:
    tokens = [settings.whatsapp_verify_token.get_secret_value()]
    tokens += [
        n.verify_token.get_secret_value() for n in settings.whatsapp_numbers if n.verify_token
    ]
    return tokens


def lines_of(
    settings: Settings, texts: Texts, bot: Bot | None, bots: Mapping[str, Bot | None]
) -> Lines:
    policy = policy_of(settings, texts)
    by_number = {
        n.phone_number_id: Line(
            replace(policy, default_department=n.department or settings.rocketchat_department),
            bots.get(n.phone_number_id, bot),
        )
        for n in settings.whatsapp_numbers
    }
    return Lines(Line(policy, bot), by_number)


def _lazy(app: web.Application) -> Callable[[], Parts]:
    return lambda: app[PARTS]


def _parts(
    lines: Lines,
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def parts(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        store = await open_store(settings.database)
        # Closed whatever happens: aiosqlite's thread would otherwise keep a process that
        # failed to start from exiting.
        timeout = aiohttp.ClientTimeout(total=30, connect=5)

        def _reachability(name: str) -> Reachability:
            return Reachability(name, grace=settings.bridge_unreachable_seconds)

        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(store.close)
            timed = (app[METRICS].client_middleware(),)
            # Room for every delivery in flight beside the reconciler's and probes' calls
            # (aiohttp's default pool is 100 connections in all).
            pool = aiohttp.TCPConnector(
                limit=settings.bridge_outbox_concurrency + SPARE_CONNECTIONS
            )
            http = await stack.enter_async_context(
                aiohttp.ClientSession(
                    connector=pool, timeout=timeout, middlewares=timed, json_serialize=json_text
                )
            )
            graphs = {
                number: GraphClient(
                    http, settings.graph_base, number, token, _reachability(f"whatsapp:{number}")
                )
                for number, token in settings.numbers()
            }
            rocketchat = RocketChatClient.of(http, settings, _reachability("rocketchat"))
            app[PARTS] = _assemble(
                settings,
                lines=lines,
                store=store,
                graphs=graphs,
                rocketchat=rocketchat,
                metrics=app[METRICS],
            )
            yield

    return parts


def _assemble(
    settings: Settings,
    *,
    lines: Lines,
    store: Database,
    graphs: dict[str, GraphClient],
    rocketchat: RocketChatClient,
    metrics: Metrics,
) -> Parts:
    deliverer = Deliverer(
        graphs,
        rocketchat,
        settings.token_secret,
        lines,
        links=store,
        texts=lines.default.policy.texts,
        window_margin=settings.bridge_window_margin_seconds,
        max_file_bytes=settings.bridge_media_max_bytes,
    )
    retry = RetryPolicy(
        base=settings.bridge_retry_base_seconds,
        cap=settings.bridge_retry_max_seconds,
        limit=settings.bridge_retry_limit,
        no_agent_delay=settings.bridge_no_agent_retry_seconds,
    )
    doorbell = asyncio.Event()  # rung by intake, awaited by the outbox
    owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    outbox = Outbox(
        store,
        deliverer,
        lines,
        retry,
        doorbell,
        owner=owner,
        concurrency=settings.bridge_outbox_concurrency,
        lease=settings.bridge_lease_seconds,
        observer=metrics,
    )
    intake = Intake(store, lines, doorbell.set, metrics, receiver=outbox)
    reconciler = Reconciler(
        intake, rocketchat, settings.bridge_reconcile_seconds, deliverer.token_of
    )
    supervisor = Supervisor(backoff=settings.bridge_restart_backoff_seconds)
    supervisor.add("outbox", outbox.run)
    supervisor.add(
        "reconciler", lambda: _leading(store, "reconciler", reconciler.run),
        once=settings.bridge_reconcile_seconds <= 0,
    )  # fmt: skip
    probes = [(rocketchat.health, rocketchat.probe)] + [
        (g.health, g.probe) for g in graphs.values()
    ]
    every = settings.bridge_probe_seconds
    supervisor.add("probe", lambda: probe_forever(probes, every), once=every <= 0)
    supervisor.add("store", store.maintain)
    supervisor.add("wake-ups", lambda: store.watch(outbox.wake), once=True)
    if settings.bridge_retention_days > 0:
        days = settings.bridge_retention_days
        supervisor.add("retention", lambda: retention_forever(store, days))
    return Parts(store, intake, outbox, reconciler, graphs, rocketchat, supervisor)


async def _leading(store: Storage, role: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run `work` only while this replica leads `role` (always, with one process)."""
    async with store.lead(role):
        await work()


async def _workers(app: web.Application) -> AsyncIterator[None]:
    """The supervised background work, stopped with the app."""
    supervisor = app[PARTS].supervisor
    supervisor.start()
    yield
    await supervisor.stop()


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    parts = request.app[PARTS]
    writable = await _database_writable(parts.store)
    # One reading of everything else, after the only await: an outage's grace period can
    # run out while the database is probed, and a 503 must name what it is for.
    rc = parts.rocketchat.health.problem()
    numbers = {g.health.name: g.health.problem() for g in parts.graphs.values()}
    workers = parts.supervisor.status()
    checks = {
        "database": writable,
        "whatsapp": all(p is None for p in numbers.values()),
        "rocketchat": rc is None,
        "workers": all(w["healthy"] for w in workers.values()),
    }
    remotes = {parts.rocketchat.health.name: rc, **numbers}
    problems = {name: p for name, p in remotes.items() if p is not None}
    problems |= {f"worker:{n}": w["state"] for n, w in workers.items() if not w["healthy"]}
    if not writable:
        problems["database"] = "not writable"
    ready = all(checks.values())
    body: dict[str, Any] = {"ready": ready, "checks": checks, "problems": problems}
    body["workers"] = workers
    try:
        body["outbox"] = await parts.store.outbox_depth()
    except StorageUnavailable:
        body["outbox"] = None
    return web.json_response(body, status=200 if ready else 503)


async def _database_writable(store: Storage) -> bool:
    try:
        await store.check_writable()
    except Exception as exc:
        log.error("readyz.database", error=str(exc))
        return False
    return True
