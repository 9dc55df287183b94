"""What agents send reaches the citizen safely and whole (issue #9 §4), over real HTTP:
file links only from Rocket.Chat itself, every file of a message, long replies in pieces,
blocks as text, odd file names, files WhatsApp will not take explained on both sides."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bridge.sandbox.rocketchat_webhooks import build_payload
from tests.support.e2e import CITIZEN, RC_TOKEN, Env, settled, until

PDF = b"%PDF-1.4\n" + b"0123456789" * 300 + b"\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 16 + b"\xff\xd9"


async def with_room(env: Env) -> str:
    await env.graph.citizen_says(CITIZEN, "oi")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = str(env.room()["_id"])
    await until(lambda: len(env.room_texts(rid)) == 2)
    return rid


def sent(env: Env, kind: str) -> list[dict[str, Any]]:
    return [m for m in env.graph.sent if m.get("type") == kind]


@pytest.fixture
async def trap() -> AsyncIterator[tuple[str, list[str]]]:
    """A server that records every request: it must never see one."""
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(str(request.rel_url))
        return web.Response(body=PDF, content_type="application/pdf")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}", hits
    await runner.cleanup()


async def post_agent_file(env: Env, rid: str, url: str) -> None:
    """An agent file message whose link was tampered with, posted as Rocket.Chat would."""
    message_id = await env.rc.agent_sends_file(rid, PDF, "boleto.pdf", "application/pdf")
    message = env.rc.store.messages_by_id[message_id]
    room = env.rc.rooms[rid]
    payload = build_payload(env.rc.store, room, "Message", [message], env.rc.present)
    payload["messages"][0]["_id"] = f"{message_id}-tampered"
    payload["messages"][0]["fileUpload"]["publicFilePath"] = url
    payload["messages"][0]["attachments"][0]["title_link"] = url
    headers = {"X-RocketChat-Livechat-Token": RC_TOKEN, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{env.url}/webhooks/rocketchat", data=json.dumps(payload), headers=headers) as r,
    ):
        assert r.status == 200


@pytest.mark.parametrize(
    "shape",
    ["{trap}/file-upload/x/boleto.pdf", "@{host}/file-upload/x/boleto.pdf", "//{host}/x.pdf"],
)
async def test_a_file_link_to_another_host_is_never_fetched(
    env: Env, trap: tuple[str, list[str]], shape: str
) -> None:
    base, hits = trap
    rid = await with_room(env)
    env.rc.drop_webhooks = True  # only the tampered copy reaches the bridge
    await post_agent_file(env, rid, shape.format(trap=base, host=base.removeprefix("http://")))
    await until(lambda: any("boleto.pdf" in t and "⚠️" in t for t in env.room_texts(rid)))
    await settled(env)
    assert hits == []
    assert sent(env, "document") == []
    assert any("boleto.pdf" in t for t in env.citizen_texts())  # told politely


async def test_every_file_of_a_message_arrives_in_order(env: Env) -> None:
    rid = await with_room(env)
    await env.rc.agent_sends_files(
        rid, [(PDF, "a.pdf", "application/pdf"), (JPEG, "b.jpg", "image/jpeg"),
              (PDF, "c.pdf", "application/pdf")],
    )  # fmt: skip
    await until(lambda: len(sent(env, "document")) + len(sent(env, "image")) == 3)
    kinds = [m["type"] for m in env.graph.sent if m["type"] in ("document", "image")]
    assert kinds == ["document", "image", "document"]
    names = [m["document"]["filename"] for m in sent(env, "document")]
    assert names == ["a.pdf", "c.pdf"]
    assert [env.graph.uploads[m["image"]["id"]][0] for m in sent(env, "image")] == [JPEG]


async def test_a_long_reply_arrives_whole_in_order(env: Env) -> None:
    rid = await with_room(env)
    sentences = "Texto da resposta com detalhes. " * 40
    paragraphs = [f"Parágrafo {n}. {sentences}".strip() for n in range(12)]
    long = "\n\n".join(paragraphs)
    assert len(long) > 3 * 4096
    await env.rc.agent_says(rid, long)
    await until(lambda: len(env.citizen_texts()) >= 4)
    await settled(env)
    parts = env.citizen_texts()
    assert all(len(p) <= 4096 for p in parts)
    assert "\n\n".join(parts) == f"*Ana Souza*: {long}"


async def test_blocks_reach_the_citizen_as_text_never_as_json(env: Env) -> None:
    rid = await with_room(env)
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Seu protocolo é *2026-0042*"}},
        {"type": "context", "elements": [{"type": "plain_text", "text": "Prazo: 5 dias úteis"}]},
        {"type": "actions", "elements": [
            {"type": "button", "actionId": "ok", "text": {"type": "plain_text", "text": "OK"}}]},
    ]  # fmt: skip
    await env.rc.app_posts_blocks(rid, blocks)
    await until(lambda: len(env.citizen_texts()) == 1)
    (text,) = env.citizen_texts()
    assert "2026-0042" in text and "Prazo: 5 dias úteis" in text
    assert "{" not in text and "section" not in text


async def test_a_file_name_with_control_characters_is_sent_safely(env: Env) -> None:
    rid = await with_room(env)
    await env.rc.agent_sends_file(rid, PDF, 'carta\r\nX-Injected: 1"\x00.pdf', "application/pdf")
    await until(lambda: len(sent(env, "document")) == 1)
    (document,) = sent(env, "document")
    name = env.graph.uploads[document["document"]["id"]][2]
    assert "\r" not in name and "\n" not in name and '"' not in name and "\x00" not in name
    assert name.endswith(".pdf")


async def test_a_file_whatsapp_does_not_take_is_explained_not_dead_lettered(env: Env) -> None:
    rid = await with_room(env)
    await env.rc.agent_sends_file(rid, b"PK\x03\x04zip", "projeto.zip", "application/zip")
    await until(lambda: any("projeto.zip" in t and "⚠️" in t for t in env.room_texts(rid)))
    await until(lambda: any("projeto.zip" in t for t in env.citizen_texts()))
    await settled(env)
    assert "dead" not in await env.parts.store.outbox_depth()


@pytest.mark.parametrize("original_seen", [True, False])
async def test_an_edited_file_message_sends_its_files_once(env: Env, original_seen: bool) -> None:
    """A corrected caption does not send the files again; but when the bridge sees the
    message only once edited (its first webhook lost), the edit brings every file."""
    rid = await with_room(env)
    env.rc.drop_webhooks = not original_seen
    message_id = await env.rc.agent_sends_files(
        rid, [(PDF, "guia.pdf", "application/pdf"), (PDF, "boleto.pdf", "application/pdf")]
    )
    await settled(env)
    env.rc.drop_webhooks = False
    await env.rc.agent_edits(rid, message_id, "guias corrigidas")
    await until(lambda: any("guias corrigidas" in t for t in env.citizen_texts()))
    await settled(env)
    names = [m["document"]["filename"] for m in sent(env, "document")]
    assert names == ["guia.pdf", "boleto.pdf"]
