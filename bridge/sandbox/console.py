"""`python -m bridge sandbox`: the bridge against local fakes, driven from the terminal.

Type as the citizen; lines starting with `/` act on the Rocket.Chat side (see HELP).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from aiohttp import web

from bridge import logs
from bridge.app import PARTS, build_app
from bridge.core.decide import Bot
from bridge.sandbox.graph import FakeGraph
from bridge.sandbox.quiet import quiet
from bridge.sandbox.rocketchat import FakeRocketChat
from bridge.settings import Settings
from bridge.texts import load_texts

CITIZEN = "5511987654321"
# Throwaway values shared by the fakes and the bridge; the sandbox never talks to the network.
SECRETS = {
    "app": "sandbox-app-secret",
    "verify": "sandbox-verify",
    "rc": "sandbox-rc-token",
    "access": "sandbox-access-token",
    "rc_auth": "bridgebot-token",
}
PHONE_NUMBER_ID = "100000000000001"
DEPARTMENT = "Atendimento"
HELP = """\
Type a message and press Enter to write as the citizen (Maria, +55 11 98765-4321).
Commands for the Rocket.Chat side:
  /agent TEXT   the agent answers in the open room
  /close        the agent closes the room
  /offline      no agent available (rooms are refused)   /online   agents back
  /down         Rocket.Chat answers 503 to everything     /up       it recovers
  /tap N        the citizen taps option N of the last menu (typing works too)
  /status       outbox and room state                     /quit     leave
"""


@dataclass
class Sandbox:
    graph: FakeGraph
    rocketchat: FakeRocketChat
    runner: web.AppRunner
    out: TextIO


def sandbox_settings(
    db: Path, port: int, graph_url: str, rc_url: str, flow: Path | None
) -> Settings:
    return Settings(
        _env_file=None,
        whatsapp_access_token=SECRETS["access"],
        whatsapp_app_secret=SECRETS["app"],
        whatsapp_verify_token=SECRETS["verify"],
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
        whatsapp_graph_url=graph_url,
        rocketchat_url=rc_url,
        rocketchat_webhook_token=SECRETS["rc"],
        rocketchat_user_id="bridgebot-id",
        rocketchat_auth_token=SECRETS["rc_auth"],
        rocketchat_department=DEPARTMENT,
        bridge_db=db,
        bridge_host="127.0.0.1",
        bridge_port=port,
        bridge_flow=flow,
        bridge_retry_base_seconds=0.5,
        bridge_retry_max_seconds=5.0,
        bridge_no_agent_retry_seconds=5.0,
        bridge_reconcile_seconds=10.0,
        log_level="warning",
        log_format="console",
    )


@contextlib.asynccontextmanager
async def start_sandbox(
    port: int, flow: Path | None, bot: Bot | None, db_dir: Path, out: TextIO
) -> AsyncIterator[Sandbox]:
    graph = FakeGraph(
        app_secret=SECRETS["app"],
        access_token=SECRETS["access"],
        phone_number_id=PHONE_NUMBER_ID,
    )
    rocketchat = FakeRocketChat(
        webhook_token=SECRETS["rc"], webhook_retry_delay=1.0, departments=_departments(bot)
    )
    graph_url = await graph.start()
    rc_url = await rocketchat.start()
    settings = sandbox_settings(db_dir / "sandbox.db", port, graph_url, rc_url, flow)
    app = build_app(settings, load_texts(settings.bridge_messages), bot)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bridge_url = f"http://127.0.0.1:{runner.addresses[0][1]}"  # port 0: the one given
    graph.webhook_url = f"{bridge_url}/webhooks/whatsapp"
    rocketchat.webhook_url = f"{bridge_url}/webhooks/rocketchat"
    try:
        yield Sandbox(graph, rocketchat, runner, out)
    finally:
        await runner.cleanup()
        await rocketchat.close()
        await graph.close()


async def watch(sandbox: Sandbox) -> None:
    """Print what the citizen receives and what lands in Rocket.Chat rooms."""
    shown_wa, shown_rc = 0, 0
    while True:
        sent = sandbox.graph.sent
        for body in sent[shown_wa:]:
            print(f"📱 WhatsApp → citizen: {describe_send(body)}", file=sandbox.out)
        shown_wa = len(sent)
        room_lines = [
            (rid, m) for rid in sandbox.rocketchat.rooms for m in sandbox.rocketchat.messages(rid)
        ]
        for rid, message in room_lines[shown_rc:]:
            who = message.get("u", {}).get("username", "?")
            text = message.get("msg") or message.get("t") or "[file]"
            print(f"💻 Rocket.Chat room {rid[:6]} · {who}: {text}", file=sandbox.out)
        shown_rc = len(room_lines)
        await asyncio.sleep(0.1)


def describe_send(body: dict[str, object]) -> str:
    kind = str(body.get("type"))
    content = body.get(kind)
    if kind == "text" and isinstance(content, dict):
        return str(content.get("body"))
    if kind == "interactive" and isinstance(content, dict):
        return _describe_interactive(content)
    return f"[{kind}]"


def _describe_interactive(content: dict[str, object]) -> str:
    body = content.get("body")
    text = str(body.get("text")) if isinstance(body, dict) else ""
    action = content.get("action")
    if not isinstance(action, dict):
        return text
    buttons = [b["reply"]["title"] for b in action.get("buttons", []) if "reply" in b]
    rows = [
        r["title"] + (f" · {r['description']}" if r.get("description") else "")
        for s in action.get("sections", [])
        for r in s.get("rows", [])
    ]
    if buttons:
        return f"{text}\n   " + "  ".join(f"[{n}: {b}]" for n, b in enumerate(buttons, 1))
    label = action.get("button", "")
    listed = "\n   ".join(f"{n}. {row}" for n, row in enumerate(rows, 1))
    return f"{text}\n   ☰ {label}\n   {listed}"


async def command(sandbox: Sandbox, line: str) -> bool:
    """Act on one typed line; False to quit."""
    graph, rc = sandbox.graph, sandbox.rocketchat
    verb, _, rest = line.partition(" ")
    rooms = rc.open_room_ids()
    if not line.startswith("/"):
        await graph.citizen_says(CITIZEN, line, name="Maria")
    elif verb == "/quit":
        return False
    elif verb == "/agent" and rooms:
        await rc.agent_says(rooms[-1], rest)
    elif verb == "/close" and rooms:
        await rc.close_room(rooms[-1])
    elif verb in ("/offline", "/online"):
        rc.agents_online = verb == "/online"
    elif verb in ("/down", "/up"):
        rc.set_down(verb == "/down")
    elif verb == "/tap":
        await tap(sandbox, rest)
    elif verb == "/status":
        depth = await sandbox.runner.app[PARTS].store.outbox_depth()
        outbox = ", ".join(f"{n} {state}" for state, n in sorted(depth.items())) or "empty"
        print(f"open rooms: {rooms or 'none'}; agents online: {rc.agents_online};"
              f" outbox: {outbox}", file=sandbox.out)  # fmt: skip
    elif verb in ("/agent", "/close"):
        print("no open room yet: write as the citizen first", file=sandbox.out)
    else:
        print(HELP, file=sandbox.out)
    return True


async def tap(sandbox: Sandbox, number: str) -> None:
    menus = [b["interactive"] for b in sandbox.graph.sent if b.get("type") == "interactive"]
    if not menus or not number.isdigit():
        print("no menu to tap: /tap N taps option N of the last menu", file=sandbox.out)
        return
    action = menus[-1]["action"]
    buttons = [(b["reply"]["id"], b["reply"]["title"]) for b in action.get("buttons", [])]
    rows = [(r["id"], r["title"]) for s in action.get("sections", []) for r in s["rows"]]
    options = buttons or rows
    if not 1 <= int(number) <= len(options):
        print(f"the last menu has {len(options)} options", file=sandbox.out)
        return
    ident, title = options[int(number) - 1]
    if buttons:
        await sandbox.graph.citizen_taps_button(CITIZEN, ident, title, name="Maria")
    else:
        await sandbox.graph.citizen_picks_row(CITIZEN, ident, title, name="Maria")


async def settle(sandbox: Sandbox, limit: float = 3.0) -> None:
    """Let the bridge finish what a line caused, so replies print before the next prompt."""
    await quiet(sandbox.graph, sandbox.rocketchat, sandbox.runner.app[PARTS], limit)
    await asyncio.sleep(0.15)  # one more turn of the printer


async def interact(port: int, flow: Path | None, bot: Bot | None) -> None:
    with tempfile.TemporaryDirectory(prefix="bridge-sandbox-") as tmp:
        async with start_sandbox(port, flow, bot, Path(tmp), sys.stdout) as sandbox:
            print(HELP, file=sys.stdout)
            watcher = asyncio.create_task(watch(sandbox))
            try:
                loop = asyncio.get_running_loop()
                while True:
                    line = await loop.run_in_executor(None, sys.stdin.readline)
                    if not line or not await command(sandbox, line.strip()):
                        break
                    await settle(sandbox)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher


def clock_from(start: str | None, zone: ZoneInfo) -> Callable[[], datetime] | None:
    """A clock that starts at `start` and runs at the real pace; None for the real one.
    Raises ValueError for a date that cannot be read."""
    if not start:
        return None
    first, began = datetime.fromisoformat(start).replace(tzinfo=zone), time.monotonic()
    return lambda: first + timedelta(seconds=time.monotonic() - began)


def _departments(bot: Bot | None) -> tuple[str, ...]:
    """The flow's departments exist in the fake Rocket.Chat, as the admin would create them."""
    from bridge.botlink import FlowBot  # noqa: PLC0415

    names = list(bot.flow.departments) if isinstance(bot, FlowBot) else []
    return tuple(dict.fromkeys([DEPARTMENT, *names]))


def run_sandbox(port: int = 8080, flow: str | None = None, now: str | None = None) -> int:
    """`now` ('2026-11-23 14:00', in the flow's time zone) starts the bot's clock there, so
    a first try at 4 a.m. is not met by the out-of-hours answer; it then runs as usual."""
    logs.configure("warning", "console")
    flow_path = Path(flow) if flow else None
    bot: Bot | None = None
    if flow_path is not None:
        from bot import FlowError, load_flow  # noqa: PLC0415
        from bridge.botlink import FlowBot  # noqa: PLC0415

        try:
            loaded = load_flow(flow_path)
            bot = FlowBot(loaded, DEPARTMENT, clock_from(now, ZoneInfo(loaded.settings.timezone)))
        except FlowError as exc:
            print(f"{flow_path}:\n{exc}", file=sys.stderr)
            return 2
        except ValueError:
            print(f"--now: {now!r} is not a date and time like '2026-11-23 14:00'",
                  file=sys.stderr)  # fmt: skip
            return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(interact(port, flow_path, bot))
    return 0
