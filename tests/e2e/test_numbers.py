"""Several WhatsApp numbers in one bridge (issue #9 §5): each number answers from itself,
with its own token, default department and flow; a number of another Meta app is signed
with that app's secret; the same citizen on two numbers has two rooms."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.sandbox.graph_errors import status_error
from bridge.sandbox.graph_wire import meta_dumps, sign, status_item, status_payload
from tests.support.e2e import APP_SECRET, CITIZEN, PNID, Env, settled, until
from tests.support.flows import base

from .conftest import Fakes

PNID2, TOKEN2 = "100000000000002", "token-of-the-ombudsman-number"
PNID3, TOKEN3, SECRET3 = "100000000000003", "token-of-the-other-app", "secret-of-the-other-app"
OTHER = "5521912345678"
OMBUDSMAN_GREETING = "Ouvidoria Municipal: vamos encaminhar sua mensagem."


@pytest.fixture
def departments() -> tuple[str, ...]:
    return ("Atendimento", "Ouvidoria")


@pytest.fixture
def bridge_options(fakes: Fakes, tmp_path: Path) -> dict[str, Any]:
    fakes.graph.add_number(PNID2, TOKEN2, "5511999990002")
    fakes.graph.add_number(PNID3, TOKEN3, "5511999990003", app_secret=SECRET3)
    flow = tmp_path / "ouvidoria.yaml"
    nodes = [
        {"id": "ola", "type": "message", "text": OMBUDSMAN_GREETING, "next": "pessoa"},
        {"id": "pessoa", "type": "handoff", "department": "Ouvidoria"},
    ]
    flow.write_text(yaml.safe_dump(base(nodes), allow_unicode=True), encoding="utf-8")
    numbers = [
        {"phone_number_id": PNID2, "access_token": TOKEN2, "department": "Ouvidoria",
         "flow": str(flow)},
        {"phone_number_id": PNID3, "access_token": TOKEN3, "app_secret": SECRET3},
    ]  # fmt: skip
    return {"whatsapp_numbers": numbers}


def from_number(env: Env, wa_id: str) -> list[tuple[str, str]]:
    """(sending number, text) of every text sent to `wa_id`."""
    return [(m["_from"], m["text"]["body"]) for m in env.graph.sent_to(wa_id) if "text" in m]


def room_of(env: Env, token_owner: str) -> dict[str, Any]:
    rooms = [r for r in env.rc.rooms.values() if r["open"] and r["fname"].startswith(token_owner)]
    assert len(rooms) == 1, rooms
    return rooms[0]


def department_of(env: Env, room: dict[str, Any]) -> str:
    return next(d["name"] for d in env.rc.store.departments if d["_id"] == room["departmentId"])


async def test_each_number_answers_from_itself_with_its_own_department_and_flow(
    env: Env,
) -> None:
    await env.graph.citizen_says(CITIZEN, "quero reclamar", name="Maria", number=PNID2)
    await env.graph.citizen_says(OTHER, "oi", name="João")  # the main number: no bot
    await until(lambda: len(env.rc.open_room_ids()) == 2)
    ombudsman, main = room_of(env, "Maria"), room_of(env, "João")
    assert department_of(env, ombudsman) == "Ouvidoria"
    assert department_of(env, main) == "Atendimento"

    await env.rc.agent_says(ombudsman["_id"], "Pode contar.")
    await env.rc.agent_says(main["_id"], "Bom dia!")
    await settled(env)
    assert from_number(env, CITIZEN) == [
        (PNID2, OMBUDSMAN_GREETING),
        (PNID2, "*Ana Souza*: Pode contar."),
    ]
    assert from_number(env, OTHER) == [(PNID, "*Ana Souza*: Bom dia!")]


async def test_a_number_of_another_app_is_read_with_that_apps_secret_only(env: Env) -> None:
    status, _ = await env.graph.citizen_says(CITIZEN, "olá", name="Maria", number=PNID3)
    assert status == 200
    await until(lambda: len(env.rc.open_room_ids()) == 1)
    # The room opens before its transcript and the message are posted: wait for them.
    await until(lambda: env.room_texts(env.rc.open_room_ids()[0])[-1:] == ["olá"])

    # The other app's secret cannot speak for the main app's number: read, not relayed.
    raw = meta_dumps(env.graph.make_text_payload(OTHER, "forjada"))
    assert await env.graph.deliver(raw, signature=sign(SECRET3, raw), retry=False) == 200
    # Nor can the main app's secret report a send of the other app's number as failed.
    rid = env.rc.open_room_ids()[0]
    await env.rc.agent_says(rid, "Recebido.")
    await until(lambda: len(env.graph.sent_to(CITIZEN)) == 1)
    wamid = str(env.graph.sent_to(CITIZEN)[0]["_wamid"])
    refused = status_item(wamid, "failed", CITIZEN, errors=[status_error(131026)])
    raw = meta_dumps(status_payload(refused, phone_number_id=PNID3))
    assert await env.graph.deliver(raw, signature=sign(APP_SECRET, raw), retry=False) == 200
    await settled(env)
    assert len(env.rc.open_room_ids()) == 1
    with sqlite3.connect(env.settings.bridge_db) as conn:
        reasons = [r[0] for r in conn.execute("SELECT reason FROM rejected_payload")]
    assert reasons == [f"other number {PNID}"]  # the message kept for audit
    assert env.room_texts(rid)[-1] == "olá"  # no "not delivered" notice in the room
    notices = [m for m in env.rc.messages(rid) if m.get("u", {}).get("username") != "ana"]
    assert all("131026" not in str(m.get("msg")) for m in notices)


async def test_the_same_citizen_on_two_numbers_has_two_rooms(env: Env) -> None:
    await env.graph.citizen_says(CITIZEN, "no principal", name="Maria")
    await until(lambda: len(env.rc.open_room_ids()) == 1)
    await env.graph.citizen_says(CITIZEN, "na outra conta", name="Maria", number=PNID3)
    await until(lambda: len(env.rc.open_room_ids()) == 2)
    first, second = env.rc.open_room_ids()
    await until(lambda: env.room_texts(first)[-1:] == ["no principal"])
    await until(lambda: env.room_texts(second)[-1:] == ["na outra conta"])

    await env.rc.agent_says(second, "Respondo pela outra conta.")
    await env.rc.agent_says(first, "Respondo pelo principal.")
    await settled(env)
    assert sorted(from_number(env, CITIZEN)) == [
        (PNID, "*Ana Souza*: Respondo pelo principal."),
        (PNID3, "*Ana Souza*: Respondo pela outra conta."),
    ]
