"""The LGPD duties on a database filled over HTTP (issue #10 §5-6): export shows all the
bridge holds about one citizen and nobody else; forget erases it (here and, with
--rocketchat, the visitor with their rooms) leaving only an audit line with a hashed
phone; the retention purge erases what is old; the audit log cannot be changed."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bridge import lgpd
from bridge.core.privacy import wa_ids_for
from bridge.sandbox.graph_wire import text_message
from bridge.store import Database, open_admin_store
from tests.support.e2e import CITIZEN, RC_TOKEN, Env, settled, until

OTHER = "5521912345678"


@pytest.fixture
async def admin(env: Env) -> AsyncIterator[Database]:
    """The database as an admin command opens it: beside the running daemon."""
    store = await open_admin_store(env.settings.bridge_db)
    yield store
    await store.close()


async def two_citizens(env: Env) -> str:
    """CITIZEN talks with an agent and sends one item the bridge cannot read; OTHER only
    writes. Returns CITIZEN's room."""
    await env.graph.citizen_says(CITIZEN, "preciso de ajuda com meu CPF", name="Maria")
    await until(lambda: len(env.rc.open_room_ids()) == 1)
    rid = env.rc.open_room_ids()[0]
    await env.rc.agent_says(rid, "Claro, Maria.")
    poison = text_message(CITIZEN, "x")
    poison["text"] = {"body": {"unexpected": True}}
    await env.graph.deliver(env.graph.envelope_for(CITIZEN, poison))
    # A Rocket.Chat webhook the bridge cannot read, kept whole: the visitor's phone is
    # there as Rocket.Chat shows it, "+55..." (§4.3).
    odd = {"_id": 42, "type": ["Message"], "visitor": {"phone": [{"phoneNumber": f"+{CITIZEN}"}]}}
    headers = {"X-RocketChat-Livechat-Token": RC_TOKEN}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{env.url}/webhooks/rocketchat", json=odd, headers=headers) as answer,
    ):
        assert answer.status == 200
    await env.graph.citizen_says(OTHER, "bom dia", name="João")
    await until(lambda: len(env.rc.open_room_ids()) == 2)
    await settled(env)
    return rid


def dump(env: Env, table: str) -> list[Any]:
    with sqlite3.connect(env.settings.bridge_db) as conn:
        return conn.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - test tables


async def test_export_shows_everything_about_one_citizen_and_nothing_else(
    env: Env, admin: Database
) -> None:
    await two_citizens(env)
    out = io.StringIO()
    assert await lgpd.export(admin, wa_ids_for("+55 11 98765-4321"), "dpo", out) == 0
    data = json.loads(out.getvalue())
    [conv] = data["conversations"]
    assert conv["wa_id"] == CITIZEN and conv["profile_name"] == "Maria"
    assert conv["visitor_token"] == "(not stored: derived when needed)"
    # The bearer key to the citizen's Rocket.Chat history is nowhere in the database.
    tokens = set(env.rc.visitors)
    assert tokens and not any(t in repr(dump(env, "conversation")) for t in tokens)
    excerpts = {link["excerpt"] for link in data["message_links"]}
    assert {"preciso de ajuda com meu CPF", "*Ana Souza*: Claro, Maria."} <= excerpts
    assert len(data["seen_message_ids"]) >= 1
    kept = data["rejected_payloads"]
    assert sorted(p["source"] for p in kept) == ["rocketchat", "whatsapp"]
    assert all(CITIZEN in p["body"] for p in kept)
    assert OTHER not in json.dumps(data) and "João" not in json.dumps(data)
    [entry] = await admin.audit_log(10)
    assert (entry.operator, entry.action) == ("dpo", "export")
    assert entry.subject and CITIZEN not in entry.subject and "987654321" not in entry.subject


async def test_forget_erases_one_citizen_here_and_in_rocketchat(
    env: Env, admin: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    rid = await two_citizens(env)
    sent_before = len(env.graph.sent_to(CITIZEN))
    code = await lgpd.forget(admin, env.settings, wa_ids_for(CITIZEN), "dpo", rocketchat=True)
    assert code == 0, capsys.readouterr()
    assert "Rocket.Chat visitors removed: 1 of 1" in capsys.readouterr().out
    await settled(env)

    assert rid not in env.rc.rooms  # the visitor's rooms and messages went with them
    assert len(env.rc.open_room_ids()) == 1  # OTHER's room stays
    assert len(env.graph.sent_to(CITIZEN)) == sent_before  # no goodbye, no survey
    data = await admin.export(wa_ids_for(CITIZEN))
    assert not any(data[k] for k in ("conversations", "message_links", "seen_message_ids",
                                     "rejected_payloads", "outbox", "surveys"))  # fmt: skip
    assert not any(CITIZEN.encode() in bytes(r[3]) for r in dump(env, "rejected_payload"))
    assert [r[2] for r in dump(env, "conversation")] == [OTHER]
    [entry] = await admin.audit_log(10)
    assert (entry.action, entry.detail) == ("forget", "erasure; rocketchat visitors=1")
    assert CITIZEN not in repr(dump(env, "audit"))


async def test_the_retention_purge_erases_what_is_old_and_keeps_open_rooms(
    env: Env, admin: Database
) -> None:
    rid = await two_citizens(env)
    await env.rc.close_room(rid)
    await settled(env)
    purged = await admin.purge(time.time() + 1)  # everything counts as old
    assert purged["conversation"] == 1  # CITIZEN's, now closed; OTHER's room is open
    assert purged["seen_event"] >= 3 and purged["rejected_payload"] == 2
    assert [r[2] for r in dump(env, "conversation")] == [OTHER]
    assert dump(env, "message_link") == [] and dump(env, "seen_event") == []
    assert dump(env, "counter")  # statistics stay: they hold no personal data

    await lgpd.retention_purge(admin, 30, "bridge")
    [entry] = await admin.audit_log(10)
    assert entry.action == "purge" and entry.detail.startswith("days=30; seen_event=0")


async def test_the_audit_log_is_append_only(env: Env, admin: Database) -> None:
    await lgpd.retention_purge(admin, 30, "bridge")
    with sqlite3.connect(env.settings.bridge_db) as conn:
        for sql in ("UPDATE audit SET operator = 'x'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)
    assert len(await admin.audit_log(10)) == 1
