"""The LGPD commands: `export`, `forget`, `purge` and `audit` (issue #10 §5-6), and the
retention purge the daemon runs on its own.

Each command appends to the append-only audit table who ran it (the OS user, or
--operator), what, and for which phone as a keyed hash; never the phone itself."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

import aiohttp
import structlog

from bridge.core.delivery import derive_visitor_token
from bridge.core.keyed import KeyedHash
from bridge.core.model import DERIVED_TOKEN, ConversationKey, WaId
from bridge.core.ports import DeliveryError
from bridge.core.privacy import (
    SHORTEST_RETENTION_DAYS,
    AuditEntry,
    NotAPhone,
    Visitor,
    wa_ids_for,
)
from bridge.health import Reachability
from bridge.rocketchat.client import RocketChatClient
from bridge.settings import Settings
from bridge.store import Database, StoreError, open_admin_store

log = structlog.get_logger("bridge.lgpd")

DAY = 86400.0


def add_commands(commands: Any) -> None:
    """The subcommands, on the main parser's subparsers."""
    for name, help_text in (
        ("export", "print, as JSON, everything the bridge holds about a phone number"),
        ("forget", "erase everything the bridge holds about a phone number"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--phone", required=True, help="e.g. +55 11 98765-4321")
        _operator(command)
    forget = commands.choices["forget"]
    forget.add_argument(
        "--rocketchat",
        action="store_true",
        help="also remove the Rocket.Chat visitor with their rooms and messages",
    )
    purge = commands.add_parser("purge", help="erase what is older than BRIDGE_RETENTION_DAYS")
    purge.add_argument("--days", type=float, help="instead of BRIDGE_RETENTION_DAYS")
    _operator(purge)
    audit = commands.add_parser("audit", help="print the audit log (newest last)")
    audit.add_argument("--limit", type=int, default=100)


def _operator(command: argparse.ArgumentParser) -> None:
    command.add_argument("--operator", help="who runs this, for the audit log (default: OS user)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_run(settings, args))


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        wa_ids = wa_ids_for(args.phone) if getattr(args, "phone", None) else []
    except NotAPhone as exc:
        print(f"--phone: {exc}", file=sys.stderr)
        return 2
    try:
        store = await open_admin_store(settings.database)
    except (StoreError, OSError) as exc:
        print(f"database {settings.database_shown}: {exc}", file=sys.stderr)
        return 1
    try:
        operator = getattr(args, "operator", None) or os_user()
        if args.command == "export":
            return await export(store, wa_ids, operator)
        if args.command == "forget":
            return await forget(store, settings, wa_ids, operator, rocketchat=args.rocketchat)
        if args.command == "purge":
            days = args.days if args.days is not None else settings.bridge_retention_days
            return await purge_command(store, days, operator)
        return await print_audit(store, args.limit)
    finally:
        await store.close()


async def export(
    store: Database, wa_ids: list[str], operator: str, out: TextIO = sys.stdout
) -> int:
    data = await store.export(wa_ids)
    await store.audit(_entry(operator, "export", f"conversations={len(data['conversations'])}"),
                      wa_ids[0])  # fmt: skip
    json.dump(data, out, ensure_ascii=False, indent=2, default=str)
    print(file=out)
    return 0


async def forget(
    store: Database, settings: Settings, wa_ids: list[str], operator: str, *, rocketchat: bool
) -> int:
    # Erased here first: closing a room in Rocket.Chat sends the bridge its close webhook,
    # which must find nothing left to answer (no goodbye, no survey to this citizen).
    visitors = await store.visitors(wa_ids) if rocketchat else []
    erased = await store.forget(wa_ids)
    failure, removed = "", 0
    if rocketchat:
        try:
            removed = await _forget_in_rocketchat(settings, visitors)
        except DeliveryError as exc:
            failure = exc.reason
    detail = "erasure" + (f"; rocketchat visitors={removed}" if rocketchat else "")
    await store.audit(_entry(operator, "forget", detail + (" (failed)" if failure else "")),
                      wa_ids[0])  # fmt: skip
    print(f"erased here: {_counts(erased)}")
    if rocketchat:
        print(f"Rocket.Chat visitors removed: {removed} of {len(visitors)}")
    if failure:
        rooms = ", ".join(v.room_id for v in visitors if v.room_id) or "none open"
        print(f"Rocket.Chat refused: {failure}. Remove the visitor by hand in Omnichannel ›"
              f" Contacts (rooms: {rooms}).", file=sys.stderr)  # fmt: skip
        return 1
    return 0


async def _forget_in_rocketchat(settings: Settings, visitors: list[Visitor]) -> int:
    """Remove each conversation's visitor (and so their rooms, messages and files,
    contract §2.2), closing an open room first: Rocket.Chat refuses to remove a visitor
    with open rooms."""
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        client = RocketChatClient.of(http, settings, Reachability("rocketchat"))
        removed = 0
        keyed = KeyedHash(settings.token_secret)
        for visitor in visitors:
            token = visitor.token
            if token == DERIVED_TOKEN:
                key = ConversationKey(visitor.phone_number_id, WaId(visitor.wa_id))
                token = derive_visitor_token(keyed, key)
            removed += await client.forget_visitor(token, visitor.room_id)
    return removed


async def purge_command(store: Database, days: float, operator: str) -> int:
    if days <= 0:
        print("retention is off (BRIDGE_RETENTION_DAYS=0): nothing purged")
        return 0
    if days < SHORTEST_RETENTION_DAYS:
        # As BRIDGE_RETENTION_DAYS: younger dedupe records are what stops a retried
        # webhook, or a re-read room history, from reaching the citizen twice.
        print(f"--days must be at least {SHORTEST_RETENTION_DAYS}: nothing purged", file=sys.stderr)
        return 2
    purged = await retention_purge(store, days, operator)
    print(f"purged (older than {days:g} days): {_counts(purged)}")
    return 0


async def retention_purge(
    store: Database, days: float, operator: str, *, quiet_if_none: bool = False
) -> Mapping[str, int]:
    """Erase what is older than `days`; one audit line (the hourly run of the daemon
    writes one only when it erased something)."""
    purged = await store.purge(time.time() - days * DAY)
    if any(purged.values()) or not quiet_if_none:
        await store.audit(_entry(operator, "purge", f"days={days:g}; {_counts(purged)}"))
        log.info("retention.purged", days=days, **purged)
    return purged


async def retention_forever(
    store: Database, days: float, every: float = 3600.0, first: float = 300.0
) -> None:
    """The daemon's schedule: every hour, the first a few minutes after start-up, not
    during it (a purge over a large store would compete with the first webhooks)."""
    await asyncio.sleep(first)
    while True:
        await retention_purge(store, days, "bridge", quiet_if_none=True)
        await asyncio.sleep(every)


async def print_audit(store: Database, limit: int) -> int:
    for entry in await store.audit_log(limit):
        when = datetime.fromtimestamp(entry.at, UTC).isoformat(timespec="seconds")
        subject = f" phone#{entry.subject}" if entry.subject else ""
        print(f"{when} {entry.operator} {entry.action}{subject} {entry.detail}".rstrip())
    return 0


async def record(settings: Settings, operator: str | None, action: str, detail: str) -> None:
    """One audit line from a command that does not otherwise touch the database (setup);
    a database that cannot be opened is reported, not fatal to the command."""
    try:
        store = await open_admin_store(settings.database)
    except (StoreError, OSError) as exc:
        print(f"audit log not written: database {settings.database_shown}: {exc}", file=sys.stderr)
        return
    try:
        await store.audit(_entry(operator or os_user(), action, detail))
    finally:
        await store.close()


def _entry(operator: str, action: str, detail: str) -> AuditEntry:
    return AuditEntry(time.time(), operator, action, "", detail)


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{kind}={n}" for kind, n in counts.items())


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's uid with no passwd entry
        return "unknown"
