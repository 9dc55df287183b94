"""FakeGraph media: upload, retrieve URL, download with Bearer + expiry, delete, inbound."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
from typing import Any

import aiohttp

from bridge.sandbox.graph import FakeGraph

from .conftest import ACCESS_TOKEN, CITIZEN, PNID, Receiver

AUTH = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def upload(
    http: aiohttp.ClientSession, graph: FakeGraph, data: bytes, mime: str, name: str
) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("messaging_product", "whatsapp")
    form.add_field("type", mime)
    form.add_field("file", io.BytesIO(data), filename=name, content_type=mime)
    url = f"{graph.base_url}/v25.0/{PNID}/media"
    async with http.post(url, data=form, headers=AUTH) as response:
        return response.status, await response.json(content_type=None)


async def media_info(
    http: aiohttp.ClientSession, graph: FakeGraph, media_id: str, query: str = ""
) -> tuple[int, dict[str, Any]]:
    url = f"{graph.base_url}/v25.0/{media_id}{query}"
    async with http.get(url, headers=AUTH) as response:
        return response.status, await response.json(content_type=None)


async def test_upload_then_get_url_then_download_with_bearer(
    http: aiohttp.ClientSession, graph: FakeGraph
) -> None:
    status, body = await upload(http, graph, PNG, "image/png", "foto.png")
    assert status == 200 and set(body) == {"id"} and body["id"].isdigit()
    media_id = body["id"]
    assert graph.uploads[media_id] == (PNG, "image/png", "foto.png")
    status, info = await media_info(http, graph, media_id)
    assert status == 200
    assert info == {
        "messaging_product": "whatsapp",
        "url": info["url"],
        "mime_type": "image/png",
        "sha256": hashlib.sha256(PNG).hexdigest(),
        "file_size": len(PNG),
        "id": media_id,
    }
    assert info["url"].startswith(graph.base_url + "/whatsapp_business/attachments/?mid=")
    async with http.get(info["url"]) as response:
        assert response.status == 401  # the Bearer token is required (§6.3)
    async with http.get(info["url"], headers={"Authorization": "Bearer other"}) as response:
        assert response.status == 401
    async with http.get(info["url"], headers=AUTH) as response:
        assert response.status == 200 and await response.read() == PNG
        assert response.headers["Content-Type"] == "image/png"


async def test_download_url_expires(http: aiohttp.ClientSession, graph: FakeGraph) -> None:
    graph.media_url_ttl = 0.05
    _, body = await upload(http, graph, PNG, "image/png", "foto.png")
    _, info = await media_info(http, graph, body["id"])
    await asyncio.sleep(0.1)
    async with http.get(info["url"], headers=AUTH) as response:
        assert response.status == 404
    _, fresh = await media_info(http, graph, body["id"])  # re-query the id for a new URL
    graph.media_url_ttl = 300.0
    _, fresh = await media_info(http, graph, body["id"])
    async with http.get(fresh["url"], headers=AUTH) as response:
        assert response.status == 200


async def test_delete_then_unknown(http: aiohttp.ClientSession, graph: FakeGraph) -> None:
    _, body = await upload(http, graph, PNG, "image/png", "foto.png")
    async with http.delete(f"{graph.base_url}/v25.0/{body['id']}", headers=AUTH) as response:
        assert response.status == 200 and await response.json() == {"success": True}
    status, info = await media_info(http, graph, body["id"])
    assert status == 400 and info["error"]["code"] == 100
    assert body["id"] not in graph.uploads


async def test_upload_validation(http: aiohttp.ClientSession, graph: FakeGraph) -> None:
    status, body = await upload(http, graph, b"<svg/>", "image/svg+xml", "x.svg")
    assert status == 400 and body["error"]["code"] == 100
    status, body = await upload(http, graph, b"x" * (5 * 1024 * 1024 + 1), "image/jpeg", "big.jpg")
    assert status == 400 and body["error"]["code"] == 131053
    form = aiohttp.FormData()
    form.add_field("file", PNG, filename="a.png", content_type="image/png")
    async with http.post(
        f"{graph.base_url}/v25.0/{PNID}/media", data=form, headers=AUTH
    ) as response:
        error = (await response.json())["error"]
        assert error["message"] == "(#100) The parameter messaging_product is required."


async def test_inbound_media_is_downloadable_by_id(
    http: aiohttp.ClientSession, graph: FakeGraph, receiver: Receiver
) -> None:
    data = b"%PDF-1.4 boleto"
    status, _ = await graph.citizen_sends_media(
        CITIZEN, "document", data, "application/pdf", caption="segue", filename="boleto.pdf"
    )
    assert status == 200
    body = receiver.posts()[0].body
    assert b"application\\/pdf" in body
    document = json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["document"]
    assert document["caption"] == "segue" and document["filename"] == "boleto.pdf"
    assert document["sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert "source=webhook" in document["url"]
    async with http.get(document["url"], headers=AUTH) as response:
        assert await response.read() == data
    status, info = await media_info(http, graph, document["id"])
    assert status == 200 and info["sha256"] == hashlib.sha256(data).hexdigest()
    # Resolving inbound media with ?phone_number_id= fails (chatwoot PR #13319).
    status, info = await media_info(http, graph, document["id"], f"?phone_number_id={PNID}")
    assert status == 400 and info["error"]["code"] == 100


async def test_voice_note_and_sticker_extras(graph: FakeGraph, receiver: Receiver) -> None:
    await graph.citizen_sends_media(CITIZEN, "audio", b"OggS", "audio/ogg; codecs=opus")
    await graph.citizen_sends_media(CITIZEN, "sticker", b"RIFF", "image/webp")
    audio, sticker = (
        json.loads(hit.body)["entry"][0]["changes"][0]["value"]["messages"][0]
        for hit in receiver.posts()
    )
    assert audio["audio"]["voice"] is True and "caption" not in audio["audio"]
    assert sticker["sticker"]["animated"] is False


async def test_sending_an_unknown_media_id_fails_async_with_131053(
    http: aiohttp.ClientSession, graph: FakeGraph, receiver: Receiver
) -> None:
    graph.open_window(CITIZEN)
    body = {
        "messaging_product": "whatsapp",
        "to": CITIZEN,
        "type": "image",
        "image": {"id": "123456", "caption": "foto"},
    }
    async with http.post(
        f"{graph.base_url}/v25.0/{PNID}/messages", json=body, headers=AUTH
    ) as response:
        assert response.status == 200
    await graph.wait_idle()
    status = json.loads(receiver.posts()[0].body)["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status["status"] == "failed" and status["errors"][0]["code"] == 131053
