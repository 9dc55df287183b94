"""Composition root: build_app(settings) wires every part; resources live in cleanup_ctx."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from bridge.core.decide import Bot, Policy, Template, Texts
from bridge.core.delivery import Deliverer
from bridge.core.intake import Intake
from bridge.core.outbox import Outbox
from bridge.core.outcomes import RetryPolicy, Rules
from bridge.core.reconcile import Reconciler
from bridge.core.storage import Storage, StorageUnavailable
from bridge.health import Reachability
from bridge.probe import probe_remotes
from bridge.rocketchat.client import RocketChatClient
from bridge.rocketchat.webhook import RocketChatWebhook
from bridge.settings import Settings
from bridge.store import open_store
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
    graph: GraphClient
    rocketchat: RocketChatClient
    supervisor: Supervisor


SETTINGS = web.AppKey("settings", Settings)
PARTS = web.AppKey("parts", Parts)


def build_app(settings: Settings, texts: Texts, bot: Bot | None = None) -> web.Application:
    app = web.Application(client_max_size=settings.bridge_max_body_bytes)
    app[SETTINGS] = settings
    policy = policy_of(settings, texts)
    app.cleanup_ctx.append(_parts(policy, bot))
    app.cleanup_ctx.append(_workers)
    parts = _lazy(app)
    whatsapp = WhatsAppWebhook(
        lambda: parts().intake,
        settings.whatsapp_app_secret.get_secret_value(),
        settings.whatsapp_verify_token.get_secret_value(),
        settings.whatsapp_phone_number_id,
    )
    rocketchat = RocketChatWebhook(
        lambda: parts().intake, settings.rocketchat_webhook_token.get_secret_value()
    )
    app.router.add_routes(whatsapp.routes() + rocketchat.routes())
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


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


def _lazy(app: web.Application) -> Callable[[], Parts]:
    return lambda: app[PARTS]


def _parts(
    policy: Policy, bot: Bot | None
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def parts(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        store = await open_store(settings.bridge_db)
        # Closed whatever happens: aiosqlite's thread would otherwise keep a process that
        # failed to start from exiting.
        timeout = aiohttp.ClientTimeout(total=30, connect=5)
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(store.close)
            http = await stack.enter_async_context(aiohttp.ClientSession(timeout=timeout))
            graph = GraphClient(
                http,
                settings.graph_base,
                settings.whatsapp_phone_number_id,
                settings.whatsapp_access_token.get_secret_value(),
                Reachability("whatsapp"),
            )
            rocketchat = RocketChatClient(
                http,
                settings.rocketchat_base,
                settings.rocketchat_user_id,
                settings.rocketchat_auth_token.get_secret_value(),
                Reachability("rocketchat"),
            )
            app[PARTS] = _assemble(
                settings, policy=policy, bot=bot, store=store, graph=graph, rocketchat=rocketchat
            )
            yield

    return parts


def _assemble(
    settings: Settings,
    *,
    policy: Policy,
    bot: Bot | None,
    store: Storage,
    graph: GraphClient,
    rocketchat: RocketChatClient,
) -> Parts:
    deliverer = Deliverer(
        graph,
        rocketchat,
        settings.whatsapp_app_secret.get_secret_value().encode(),
        settings.rocketchat_department,
        links=store,
        texts=policy.texts,
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
    intake = Intake(store, policy, bot, doorbell.set)
    rules = Rules(policy, bot, retry)
    owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    outbox = Outbox(
        store, deliverer, rules, doorbell, owner=owner, lease=settings.bridge_lease_seconds
    )
    reconciler = Reconciler(intake, rocketchat, settings.bridge_reconcile_seconds)
    supervisor = Supervisor(backoff=settings.bridge_restart_backoff_seconds)
    supervisor.add("outbox", outbox.run)
    supervisor.add("reconciler", reconciler.run, once=settings.bridge_reconcile_seconds <= 0)
    supervisor.add("probe", lambda: probe_remotes(graph, rocketchat), once=True)
    supervisor.add("store", store.maintain)
    return Parts(store, intake, outbox, reconciler, graph, rocketchat, supervisor)


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
    checks = {
        "database": await _database_writable(parts.store),
        "whatsapp": parts.graph.health.healthy(),
        "rocketchat": parts.rocketchat.health.healthy(),
        "workers": parts.supervisor.healthy(),
    }
    ready = all(checks.values())
    body: dict[str, Any] = {"ready": ready, "checks": checks}
    body["workers"] = parts.supervisor.status()
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
