"""`python -m bridge run|check|setup|sandbox`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog
from aiohttp import web

from bot import FlowError
from bridge import lgpd, logs, report
from bridge.app import build_app
from bridge.core.decide import Bot, Texts
from bridge.eventloop import freeze_heap, new_event_loop, tune_collector, tune_threads
from bridge.settings import Settings, SettingsError, load_settings
from bridge.store.errors import StoreError
from bridge.texts import TextsError, load_texts

EXIT_CONFIG = 2
EXIT_START = 1  # the configuration is valid; the database or the port is not available


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridge", description=__doc__)
    parser.add_argument("--env-file", default=".env", help="settings file (default: .env)")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="serve the webhooks and relay messages (default)")
    commands.add_parser("check", help="validate settings, texts, flow and database, then exit")
    setup = commands.add_parser("setup", help="configure Rocket.Chat for the bridge (one-off)")
    setup.add_argument(
        "--admin-user",
        help="Rocket.Chat admin username, its password in env ROCKETCHAT_ADMIN_PASSWORD "
        "(default: the service account's token)",
    )
    setup.add_argument(
        "--bridge-url",
        default="http://bridge:8080",
        help="the bridge's URL as Rocket.Chat reaches it (default: %(default)s, the compose "
        "service; give the real address for an existing Rocket.Chat)",
    )
    setup.add_argument("--dry-run", action="store_true", help="only report what would change")
    setup.add_argument(
        "--replace-webhook",
        action="store_true",
        help="replace an Omnichannel webhook that points elsewhere (another integration)",
    )
    setup.add_argument("--operator", help="who runs this, for the audit log (default: OS user)")
    lgpd.add_commands(commands)
    report.add_command(commands)
    moving = commands.add_parser(
        "migrate-store", help="copy a SQLite database into an empty PostgreSQL database"
    )
    moving.add_argument("--from", dest="source", required=True, help="sqlite:///path")
    moving.add_argument("--to", dest="target", required=True, help="postgresql://…")
    sandbox = commands.add_parser(
        "sandbox", help="run against local fakes and chat in the terminal"
    )
    sandbox.add_argument("--port", type=int, default=8080)
    sandbox.add_argument(
        "--flow",
        default="config/flow.yaml",
        help="flow file for the sandbox (default: config/flow.yaml; '' for no bot)",
    )
    sandbox.add_argument(
        "--now", help="start the bot's clock here, e.g. '2026-11-23 14:00' (flow time zone)"
    )
    for command in commands.choices.values():
        # Also after the subcommand (`python -m bridge check --env-file prod.env`);
        # SUPPRESS keeps the main parser's value when it is not given here.
        command.add_argument("--env-file", default=argparse.SUPPRESS, help="settings file")
    args = parser.parse_args(argv)
    if args.command == "migrate-store":  # needs no settings: both databases are named
        from bridge.store import migrate  # noqa: PLC0415 - asyncpg only when asked

        return migrate.run(args)
    if args.command == "sandbox":
        from bridge.sandbox.console import run_sandbox  # noqa: PLC0415 - dev-only

        return run_sandbox(port=args.port, flow=args.flow, now=args.now)
    try:
        settings = load_settings(args.env_file)
        texts = load_texts(settings.bridge_messages)
        bot = load_bot(settings)
        bots = load_number_bots(settings, bot)
    except (SettingsError, TextsError) as exc:
        return config_error(str(exc))
    except NumberFlowError as exc:
        return config_error(f"{exc.where}\n{exc.error}")
    except FlowError as exc:
        return config_error(f"BRIDGE_FLOW={settings.bridge_flow}\n{exc}")
    logs.configure(settings.log_level, settings.log_format)
    if args.command == "check":
        from bridge.diagnose import run_check  # noqa: PLC0415 - admin-only

        return asyncio.run(run_check(settings))
    if args.command == "setup":
        return run_setup(settings, args)
    if args.command in ("export", "forget", "purge", "audit"):
        return lgpd.run(settings, args)
    if args.command == "report":
        return report.run(settings, args)
    return serve(settings, texts, bot, bots)


def config_error(text: str) -> int:
    """Why the bridge cannot start. One JSON line when logs are JSON and nobody reads a
    terminal (a container: `docker compose logs | jq` keeps working), else plain text."""
    if os.environ.get("LOG_FORMAT", "json") == "json" and not sys.stderr.isatty():
        line = {
            "event": "config.invalid",
            "level": "error",
            "error": f"configuration error: {text}",
        }
        print(json.dumps(line, ensure_ascii=False), file=sys.stderr)
    else:
        print(f"configuration error: {text}", file=sys.stderr)
    return EXIT_CONFIG


def load_bot(settings: Settings) -> Bot | None:
    """The flow bot, or None (no-bot mode: every contact goes to the default department)."""
    if settings.bridge_flow is None:
        return None
    from bridge.botlink import load_flow_bot  # noqa: PLC0415 - only when a flow is set

    return load_flow_bot(settings.bridge_flow, settings.rocketchat_department)


class NumberFlowError(Exception):
    def __init__(self, where: str, error: FlowError) -> None:
        super().__init__(where)
        self.where, self.error = where, error


def load_number_bots(settings: Settings, default: Bot | None) -> dict[str, Bot | None]:
    """The bot of each extra number (WHATSAPP_NUMBERS): BRIDGE_FLOW's unless it names its
    own flow ("" for none). A broken flow stops start-up, naming the number."""
    from bridge.botlink import load_flow_bot  # noqa: PLC0415 - only when numbers name flows

    bots: dict[str, Bot | None] = {}
    for n, number in enumerate(settings.whatsapp_numbers):
        department = number.department or settings.rocketchat_department
        if number.flow is None:
            bots[number.phone_number_id] = default
        elif not number.flow:
            bots[number.phone_number_id] = None
        else:
            try:
                bots[number.phone_number_id] = load_flow_bot(Path(number.flow), department)
            except FlowError as exc:
                raise NumberFlowError(f"WHATSAPP_NUMBERS[{n}].flow={number.flow}", exc) from exc
    return bots


def serve(settings: Settings, texts: Texts, bot: Bot | None, bots: dict[str, Bot | None]) -> int:
    app = build_app(settings, texts, bot, bots)
    tune_collector()
    tune_threads()
    app.on_startup.append(_freeze_heap)  # after the parts (cleanup_ctx) are built
    loop = new_event_loop()
    structlog.get_logger("bridge").info(
        "bridge.starting",
        port=settings.bridge_port,
        bot=bot is not None,
        loop=type(loop).__module__.split(".")[0],
    )
    try:
        web.run_app(
            app, host=settings.bridge_host, port=settings.bridge_port, print=None, loop=loop
        )
    except _start_errors(settings) as exc:
        # The database cannot be opened (a server refusing connections or the bridge's
        # user, a path that is a directory or not a database), or the port is taken: one
        # line saying which, not a traceback, and a status the restart policy acts on.
        structlog.get_logger("bridge").error(
            "bridge.start_failed",
            database=settings.database_shown,
            port=settings.bridge_port,
            error=f"{type(exc).__name__}: {exc}",
        )
        return EXIT_START
    return 0


def _start_errors(settings: Settings) -> tuple[type[BaseException], ...]:
    """What opening the database (or the port) raises; asyncpg only when asked for, as
    everywhere else: importing it costs every start-up on SQLite about 60 ms."""
    errors: tuple[type[BaseException], ...] = (StoreError, OSError, sqlite3.Error)
    if settings.bridge_database_url.startswith("postgres"):
        import asyncpg  # noqa: PLC0415 - only with PostgreSQL

        errors += (asyncpg.PostgresError,)
    return errors


async def _freeze_heap(_: web.Application) -> None:
    freeze_heap()


def run_setup(settings: Settings, args: argparse.Namespace) -> int:

    from bridge.provision import ADMIN_PASSWORD_ENV  # noqa: PLC0415 - admin-only, sync
    from bridge.provision import run_setup as provision  # noqa: PLC0415

    # The password only ever comes from the environment: argv is visible to anyone in `ps`.
    status = provision(
        settings,
        admin_user=args.admin_user,
        admin_password=os.environ.get(ADMIN_PASSWORD_ENV),
        bridge_url=args.bridge_url,
        dry_run=args.dry_run,
        replace_webhook=args.replace_webhook,
    )
    if not args.dry_run:
        detail = f"bridge_url={args.bridge_url}; exit={status}"
        asyncio.run(lgpd.record(settings, args.operator, "setup", detail))
    return status


if __name__ == "__main__":
    sys.exit(main())
