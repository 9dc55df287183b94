"""Files both ways over real HTTP, and the Rocket.Chat rate limiter switched on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.e2e import CITIZEN, Env, settled, until

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 16 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1)) * 8
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n" + b"0123456789" * 300 + b"\n%%EOF\n"


def uploads_in(env: Env, rid: str) -> list[dict[str, Any]]:
    return [m for m in env.rc.visitor_messages(rid) if "file" in m]


def sent_of(env: Env, kind: str) -> list[dict[str, Any]]:
    return [m for m in env.graph.sent if m.get("type") == kind]


async def _with_room(env: Env, wa_id: str = CITIZEN) -> str:
    await env.graph.citizen_says(wa_id, "oi")
    await until(lambda: env.rc.room_for_token(_token(env, wa_id)) is not None)
    room = env.rc.room_for_token(_token(env, wa_id))
    assert room is not None
    rid = str(room["_id"])
    await until(lambda: len(env.room_texts(rid)) == 2)
    return rid


def _token(env: Env, wa_id: str) -> str:
    for token, visitor in env.rc.visitors.items():
        if visitor.get("phone") == [{"phoneNumber": f"+{wa_id}"}]:
            return token
    return ""


async def test_a_citizens_photo_opens_the_room_and_arrives_as_an_upload(env: Env) -> None:
    status, _ = await env.graph.citizen_sends_media(
        CITIZEN, "image", JPEG, "image/jpeg", caption="buraco na rua"
    )
    assert status == 200
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = env.room()["_id"]
    await until(lambda: len(uploads_in(env, rid)) == 1)
    message = uploads_in(env, rid)[0]
    stored = env.rc.store.files[message["file"]["_id"]]
    assert (stored.data, stored.mime) == (JPEG, "image/jpeg")
    assert message["attachments"][0]["description"] == "buraco na rua"
    assert env.rc.visitor_messages(rid)[0]["msg"].startswith("Novo atendimento")  # transcript
    await settled(env)
    assert len(env.rc.visitor_messages(rid)) == 2


async def test_a_citizens_document_keeps_its_name_and_order(env: Env) -> None:
    rid = await _with_room(env)
    await env.graph.citizen_sends_media(
        CITIZEN, "document", PDF, "application/pdf", filename="comprovante IPTU março.pdf"
    )
    await env.graph.citizen_says(CITIZEN, "enviei o comprovante")
    await until(lambda: len(env.rc.visitor_messages(rid)) == 4)
    _, _, document, after = env.rc.visitor_messages(rid)
    stored = env.rc.store.files[document["file"]["_id"]]
    assert (stored.data, stored.mime, stored.name) == (
        PDF,
        "application/pdf",
        "comprovante IPTU março.pdf",  # as the citizen named it, not percent-encoded
    )
    assert after["msg"] == "enviei o comprovante"


async def test_an_agents_file_reaches_the_citizen_as_whatsapp_media(env: Env) -> None:
    rid = await _with_room(env)
    await env.rc.agent_sends_file(rid, PNG, "mapa.png", "image/png")
    await until(lambda: len(sent_of(env, "image")) == 1)
    image = sent_of(env, "image")[0]
    assert image["to"] == CITIZEN
    assert env.graph.uploads[image["image"]["id"]][:2] == (PNG, "image/png")

    await env.rc.agent_sends_file(rid, PDF, "boleto de março.pdf", "application/pdf")
    await until(lambda: len(sent_of(env, "document")) == 1)
    document = sent_of(env, "document")[0]["document"]
    assert document["filename"] == "boleto de março.pdf"  # not the URL-encoded link
    assert env.graph.uploads[document["id"]][:2] == (PDF, "application/pdf")
    await settled(env)
    assert len(env.graph.sent) == 2  # one WhatsApp message per file, nothing else


async def test_the_description_of_an_agents_file_reaches_the_citizen(env: Env) -> None:
    rid = await _with_room(env)
    await env.rc.agent_sends_file(
        rid, PDF, "boleto.pdf", "application/pdf", description="segue o boleto"
    )
    await until(lambda: len(sent_of(env, "document")) == 1)
    await settled(env)
    words = [m["text"]["body"] for m in sent_of(env, "text")]
    words += [str(m["document"].get("caption", "")) for m in sent_of(env, "document")]
    assert any("segue o boleto" in w for w in words), env.graph.sent


async def test_an_agents_file_whose_webhook_was_lost_is_reconciled(env: Env) -> None:
    rid = await _with_room(env)
    env.rc.drop_webhooks = True
    await env.rc.agent_sends_file(rid, PNG, "foto do local.png", "image/png", description="aqui")
    await settled(env)
    assert env.graph.sent == []
    assert await env.parts.reconciler.once() == 1
    await until(lambda: len(sent_of(env, "image")) == 1)
    assert env.graph.uploads[sent_of(env, "image")[0]["image"]["id"]][:2] == (PNG, "image/png")
    words = [m["text"]["body"] for m in sent_of(env, "text")]
    words += [str(m["image"].get("caption", "")) for m in sent_of(env, "image")]
    assert any("aqui" in w for w in words), env.graph.sent


async def test_rate_limited_livechat_still_delivers_every_message_once(env: Env) -> None:
    rc = env.rc
    rc.rate_limiter = True
    rc.rate_limit_window = 0.4
    rc.limiter.reset()
    citizens = [f"55119000000{n:02d}" for n in range(7)]  # more rooms than 5 per window
    for n in range(6):
        for wa_id in citizens:
            assert (await env.graph.citizen_says(wa_id, f"{wa_id[-2:]} mensagem {n}"))[0] == 200
    await env.graph.citizen_sends_media(citizens[0], "image", JPEG, "image/jpeg", caption="foto")
    await env.graph.citizen_says(citizens[0], "depois da foto")

    def complete() -> bool:
        return len(rc.open_room_ids()) == len(citizens) and all(
            len(rc.visitor_messages(rid)) >= 7 for rid in rc.open_room_ids()
        )

    await until(complete, limit=20)
    await settled(env)
    assert rc.failed_requests > 0  # the limiter did answer 429s
    assert await env.parts.store.outbox_depth() == {}  # nothing pending, nothing dead
    assert len(rc.visitors) == len(citizens)
    for wa_id in citizens:
        room = rc.room_for_token(_token(env, wa_id))
        assert room is not None and room["open"]
        messages = rc.visitor_messages(room["_id"])
        expected = [f"{wa_id[-2:]} mensagem {n}" for n in range(6)]
        if wa_id == citizens[0]:
            expected += ["", "depois da foto"]  # the photo is an upload with no text
            assert rc.store.files[messages[7]["file"]["_id"]].data == JPEG
        assert [m["msg"] for m in messages[1:]] == expected


@pytest.mark.parametrize("bridge_options", [{"bridge_retry_limit": 2}])
async def test_waiting_out_the_rate_limiter_uses_no_retry_budget(env: Env) -> None:
    """A scale model: production has 12 attempts and 5 rooms a minute, so it takes ~60-90
    simultaneous new conversations; here 2 attempts and 12 conversations."""
    rc = env.rc
    rc.rate_limiter = True
    rc.rate_limit_window = 1.0
    rc.limiter.reset()
    citizens = [f"55119100000{n:02d}" for n in range(12)]
    for wa_id in citizens:
        assert (await env.graph.citizen_says(wa_id, f"{wa_id[-2:]} preciso de ajuda"))[0] == 200

    def relayed() -> bool:
        rooms = [rc.room_for_token(_token(env, wa_id)) for wa_id in citizens]
        return all(
            room is not None
            and [m["msg"] for m in rc.visitor_messages(room["_id"])][1:]
            == [f"{wa_id[-2:]} preciso de ajuda"]
            for wa_id, room in zip(citizens, rooms, strict=True)
        )

    await until(relayed, limit=20)
    await settled(env)
    assert await env.parts.store.outbox_depth() == {}  # no dead letter: nothing was given up
