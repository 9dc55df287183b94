"""The bridge as an operator runs it: `python -m bridge run|check` in its own process,
configured by environment variables only, killed with SIGKILL and started again."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite
import pytest

from tests.e2e.conftest import Fakes
from tests.support.e2e import CITIZEN, until
from tests.support.process import BridgeProcess, bridge_environ, free_port, until_async

BURST = 40
RELAYED_FIRST = 10  # messages relayed before Rocket.Chat stops answering
KILL_AFTER = 20  # messages acknowledged before the SIGKILL
MESSAGE_PATH = ("POST", "/api/v1/livechat/message")


@pytest.fixture
async def process(fakes: Fakes, tmp_path: Path) -> AsyncIterator[BridgeProcess]:
    environ = bridge_environ(
        db=tmp_path / "data" / "bridge.db",
        port=free_port(),
        graph_url=fakes.graph_url,
        rc_url=fakes.rc_url,
    )
    bridge = BridgeProcess(environ, cwd=tmp_path, log_path=tmp_path / "bridge.log")
    fakes.graph.webhook_url = f"{bridge.url}/webhooks/whatsapp"
    fakes.rc.webhook_url = f"{bridge.url}/webhooks/rocketchat"
    try:
        yield bridge
    finally:
        await bridge.stop()
        print(bridge.output())  # shown by pytest only when the test failed


def room_texts(fakes: Fakes) -> list[str]:
    rooms = [r for r in fakes.rc.rooms.values() if r.get("open")]
    if not rooms:
        return []
    assert len(rooms) == 1, rooms
    return [m["msg"] for m in fakes.rc.visitor_messages(rooms[0]["_id"])]


async def pending_rows(db: Path) -> int:
    async with (
        aiosqlite.connect(db) as conn,
        conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'") as cursor,
    ):
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def readyz(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/readyz") as response:
        return response.status, await response.json()


async def test_sigkill_mid_burst_then_restart_relays_every_acknowledged_message_once_in_order(
    fakes: Fakes, process: BridgeProcess
) -> None:
    graph, rc = fakes.graph, fakes.rc
    await process.start()
    bodies = [
        graph.make_text_payload(CITIZEN, f"mensagem {n}", wamid=f"wamid.burst-{n:02d}")
        for n in range(BURST)
    ]
    acknowledged: list[int] = []
    refused: list[int] = []  # messages with a delivery attempt that did not get a 200
    pauses = {RELAYED_FIRST: asyncio.Event(), KILL_AFTER: asyncio.Event()}

    async def meta() -> None:
        """Meta's sender: each webhook is retried until it gets a 200 (contract §4)."""
        for n, body in enumerate(bodies):
            if n in pauses:
                await pauses[n].wait()
            for _ in range(200):  # the fake's own schedule, repeated: Meta tries for days
                if await graph.deliver(body) == 200:
                    break
                refused.append(n)
            else:
                raise AssertionError(f"message {n} was never acknowledged")
            acknowledged.append(n)

    expected = [f"mensagem {n}" for n in range(BURST)]
    sender = asyncio.create_task(meta())
    try:
        # The first messages go all the way; then Rocket.Chat stops answering and the
        # outbox fills up behind the call in flight, while webhooks are still acknowledged.
        await until(lambda: room_texts(fakes)[1:] == expected[:RELAYED_FIRST])
        rc.hold()
        pauses[RELAYED_FIRST].set()
        await until(lambda: rc.held_requests == 1 and len(acknowledged) == KILL_AFTER)
        assert rc.requests[-1] == MESSAGE_PATH  # the relay of message RELAYED_FIRST
        assert await process.kill() == -signal.SIGKILL
        db = Path(process.environ["BRIDGE_DB"])
        assert await pending_rows(db) == KILL_AFTER - RELAYED_FIRST  # acknowledged, unsent

        # The call in flight completes in Rocket.Chat although its caller is gone, and the
        # next webhooks find nobody listening (Meta retries them).
        rc.release()
        await until(lambda: room_texts(fakes)[1:] == expected[: RELAYED_FIRST + 1])
        pauses[KILL_AFTER].set()
        await until(lambda: bool(refused))
        assert refused[0] == KILL_AFTER

        await process.start()  # same database, same port
        await until(sender.done, limit=20)
        await sender
        await until(lambda: room_texts(fakes)[1:] == expected, limit=20)

        async def outbox_empty() -> bool:
            status, body = await readyz(process.url)
            return status == 200 and body["outbox"] == {}

        await until_async(outbox_empty)
        await rc.wait_webhooks_idle()
        assert room_texts(fakes)[1:] == expected  # every acknowledged message, once, in order
        assert "+5511987654321" in room_texts(fakes)[0]
        # The held message was sent again after the restart (transcript + BURST + 1): the
        # bridge's own message id made the second copy a no-op, not a duplicate.
        assert rc.requests.count(MESSAGE_PATH) >= BURST + 2
        assert len(rc.open_room_ids()) == 1 and len(rc.visitors) == 1

        # The restarted process relays the other way too.
        await rc.agent_says(rc.open_room_ids()[0], "Recebi todas.")
        await until(lambda: len(graph.sent_to(CITIZEN)) == 1)
        assert graph.sent_to(CITIZEN)[0]["text"]["body"] == "*Ana Souza*: Recebi todas."
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)


async def test_the_process_relays_an_agent_reply_to_the_citizen(
    fakes: Fakes, process: BridgeProcess
) -> None:
    graph, rc = fakes.graph, fakes.rc
    await process.start()
    assert (await graph.citizen_says(CITIZEN, "Olá, preciso de ajuda"))[0] == 200
    await until(lambda: room_texts(fakes)[1:] == ["Olá, preciso de ajuda"])
    rid = rc.open_room_ids()[0]
    await rc.agent_says(rid, "Bom dia! Posso ajudar.", agent_name="Ana Souza")
    await until(lambda: bool(graph.sent_to(CITIZEN)))
    await rc.wait_webhooks_idle()
    await graph.wait_idle()
    sent = graph.sent_to(CITIZEN)
    assert [m["text"]["body"] for m in sent] == ["*Ana Souza*: Bom dia! Posso ajudar."]
    assert [status for _, status in rc.webhook_log] == [200] * len(rc.webhook_log)
    status, body = await readyz(process.url)
    assert status == 200 and body["ready"] is True


def run_cli(
    tmp_path: Path, command: str, *args: str, **overrides: str | None
) -> subprocess.CompletedProcess[str]:
    environ = bridge_environ(
        db=tmp_path / "bridge.db",
        port=free_port(),
        graph_url="http://127.0.0.1:9",
        rc_url="http://127.0.0.1:9",
        **overrides,
    )
    return subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "bridge", command, *args],
        env=environ,
        cwd=tmp_path,  # no stray .env is read: the environment is the whole configuration
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_check_from_the_command_line_says_what_works_and_what_does_not(tmp_path: Path) -> None:
    # Valid settings, a writable database, and nobody listening where the remotes should be
    # (the passing case against fakes is in tests/test_diagnose.py).
    result = run_cli(tmp_path, "check")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("settings      ok: 1 WhatsApp number(s)")
    assert lines[1].startswith("database      ok: ")
    assert "FAILED: Graph API unreachable" in lines[2]
    assert lines[-1].startswith("check         FAILED")
    assert (tmp_path / "bridge.db").is_file()


@pytest.mark.parametrize(
    ("command", "overrides", "variable"),
    [
        ("check", {"WHATSAPP_APP_SECRET": None}, "WHATSAPP_APP_SECRET"),
        ("run", {"WHATSAPP_APP_SECRET": None}, "WHATSAPP_APP_SECRET"),
        # bridge.example.env ships the required values as `NAME=`: empty is not set.
        ("check", {"WHATSAPP_APP_SECRET": ""}, "WHATSAPP_APP_SECRET"),
        ("check", {"ROCKETCHAT_WEBHOOK_TOKEN": ""}, "ROCKETCHAT_WEBHOOK_TOKEN"),
        ("check", {"WHATSAPP_VERIFY_TOKEN": ""}, "WHATSAPP_VERIFY_TOKEN"),
        ("check", {"ROCKETCHAT_URL": None}, "ROCKETCHAT_URL"),
        ("check", {"BRIDGE_PORT": "abc"}, "BRIDGE_PORT"),
        ("run", {"BRIDGE_PORT": "abc"}, "BRIDGE_PORT"),
        ("check", {"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ("check", {"WHATSAPP_PHONE_NUMBER_ID": "+55 11 9999"}, "WHATSAPP_PHONE_NUMBER_ID"),
    ],
)
def test_a_missing_or_invalid_variable_exits_2_naming_it(
    tmp_path: Path, command: str, overrides: dict[str, str | None], variable: str
) -> None:
    result = run_cli(tmp_path, command, **overrides)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"setting {variable}:" in result.stderr
    assert not (tmp_path / "bridge.db").exists()  # refused before touching anything


NUMBER = '{"phone_number_id": "100000000000002", "access_token": "t2"}'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[{not json", "setting WHATSAPP_NUMBERS: not a valid JSON list"),
        ('[{"phone_number_id": "2"}]', "setting WHATSAPP_NUMBERS[0].access_token:"),
        ('[{"phone_number_id": "x", "access_token": "t"}]', "WHATSAPP_NUMBERS[0].phone_number_id:"),
        (f"[{NUMBER}, {NUMBER}]", "WHATSAPP_NUMBERS: phone number id 100000000000002 is listed"),
        (
            '[{"phone_number_id": "2", "access_token": "t", "flow": "missing.yaml"}]',
            "configuration error: WHATSAPP_NUMBERS[0].flow=missing.yaml",
        ),
    ],
)
def test_a_bad_extra_number_stops_start_up_naming_it(
    tmp_path: Path, value: str, message: str
) -> None:
    result = run_cli(tmp_path, "check", WHATSAPP_NUMBERS=value)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert not (tmp_path / "bridge.db").exists()


def test_the_lgpd_commands_from_the_command_line(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "export", "--phone", "+55 11 98765-4321", "--operator", "dpo")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["wa_ids"] == ["5511987654321", "551187654321"]
    result = run_cli(tmp_path, "forget", "--phone", "11 98765-4321")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("erased here: outbox=0")
    assert run_cli(tmp_path, "purge").stdout.startswith("purged (older than 180 days)")
    result = run_cli(tmp_path, "forget", "--phone", "abc")
    assert result.returncode == 2 and "--phone: 'abc' is not a phone number" in result.stderr

    lines = run_cli(tmp_path, "audit").stdout.splitlines()
    assert [line.split()[1:3] for line in lines] == [
        ["dpo", "export"],
        [lines[1].split()[1], "forget"],
        [lines[1].split()[1], "purge"],
    ]
    assert "98765" not in "\n".join(lines) and "phone#" in lines[0]


def test_a_configuration_error_is_one_json_line_for_log_collectors(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "check", WHATSAPP_APP_SECRET=None, LOG_FORMAT="json")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    error = json.loads(line)
    assert (error["event"], error["level"]) == ("config.invalid", "error")
    assert "setting WHATSAPP_APP_SECRET: is required but not set" in error["error"]


def test_the_env_file_may_follow_the_subcommand_and_help_shows_defaults(tmp_path: Path) -> None:
    (tmp_path / "other.env").write_text("BRIDGE_PORT=not-a-port\n", encoding="utf-8")
    result = run_cli(tmp_path, "check", "--env-file", "other.env", BRIDGE_PORT=None,
                     LOG_FORMAT="console")  # fmt: skip
    assert result.returncode == 2 and "setting BRIDGE_PORT:" in result.stderr
    shown = run_cli(tmp_path, "setup", "--help").stdout
    assert "default: http://bridge:8080" in " ".join(shown.split())


def test_migrate_store_names_what_it_needs(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "migrate-store", "--from", "bridge.db", "--to", "x")
    assert result.returncode == 2
    assert "--from must be sqlite:///path and --to postgresql://" in result.stderr


def test_a_replica_refuses_a_database_of_its_own(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "check", BRIDGE_REQUIRE_POSTGRES="true", LOG_FORMAT="console")
    assert result.returncode == 2
    assert "BRIDGE_DATABASE_URL must name the PostgreSQL database" in result.stderr


def test_a_database_that_refuses_at_start_is_one_line_and_exit_1(tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    url = f"postgresql://bridge:s3cret@127.0.0.1:{port}/bridge"
    result = run_cli(tmp_path, "run", BRIDGE_DATABASE_URL=url, LOG_FORMAT="json")
    assert result.returncode == 1, result.stderr
    [failed] = [json.loads(line) for line in result.stderr.splitlines() if "start_failed" in line]
    assert failed["level"] == "error" and "ConnectionRefusedError" in failed["error"]
    assert failed["database"] == f"postgresql://bridge:***@127.0.0.1:{port}/bridge"
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr


def test_a_file_that_is_no_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database, but somebody's notes" * 100)
    result = run_cli(tmp_path, "run", BRIDGE_DB=str(junk), LOG_FORMAT="json")
    assert result.returncode == 1, result.stderr
    [failed] = [json.loads(line) for line in result.stderr.splitlines() if "start_failed" in line]
    assert failed["error"] == "DatabaseError: file is not a database"
    assert "Traceback" not in result.stderr
