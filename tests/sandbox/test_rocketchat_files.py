"""FakeRocketChat visitor uploads and /file-upload access rules (§2.7, §5)."""

from __future__ import annotations

import io
from typing import Any

import aiohttp

from bridge.sandbox.rocketchat import FakeRocketChat

from .rc_helpers import BOT, conversation

Http = aiohttp.ClientSession
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


async def upload(
    http: Http,
    rc: FakeRocketChat,
    rid: str,
    token: str | None,
    *,
    data: bytes | None = PNG,
    mime: str = "image/png",
    extra: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    # quote_fields=False: otherwise aiohttp percent-encodes the filename and the server,
    # like busboy, keeps "foto%20do%20boleto.png" literally.
    form = aiohttp.FormData(quote_fields=False)
    if data is not None:
        form.add_field("file", io.BytesIO(data), filename="foto do boleto.png", content_type=mime)
    for key, value in (extra or {}).items():
        form.add_field(key, value)
    headers = {"x-visitor-token": token} if token else {}
    async with http.post(
        f"{rc.base_url}/api/v1/livechat/upload/{rid}", data=form, headers=headers
    ) as response:
        return response.status, await response.json(content_type=None)


async def test_upload_auth_failures_are_403(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    other = await conversation(http, rc, "other", phone="+5521999990000")
    unauthorized = {"success": False, "error": "unauthorized"}
    assert await upload(http, rc, rid, None) == (403, unauthorized)
    assert await upload(http, rc, rid, "nobody") == (403, unauthorized)
    assert await upload(http, rc, other, "tok") == (403, unauthorized)
    await rc.close_room(rid)
    assert await upload(http, rc, rid, "tok") == (403, unauthorized)


async def test_upload_reason_errors(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    assert await upload(http, rc, rid, "tok", data=None) == (
        400,
        {"reason": "error-no-file-uploaded", "success": False},
    )
    status, body = await upload(http, rc, rid, "tok", data=b"<svg/>", mime="image/svg+xml")
    assert (status, body) == (400, {"reason": "error-type-not-allowed", "success": False})
    rc.max_file_size = 10
    status, body = await upload(http, rc, rid, "tok")
    assert status == 400 and body["reason"] == "error-size-not-allowed"
    rc.file_upload_enabled = False
    assert (await upload(http, rc, rid, "tok"))[1]["reason"] == "error-file-upload-disabled"


async def test_upload_success_is_a_flattened_message(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    status, body = await upload(http, rc, rid, "tok", extra={"description": "boleto"})
    assert status == 200 and body["success"] is True
    assert body["newRoom"] is False and body["showConnecting"] is False
    assert body["rid"] == rid and body["token"] == "tok" and body["msg"] == ""
    assert body["file"]["name"] == "foto do boleto.png" and body["files"][0]["_id"]
    attachment = body["attachments"][0]
    assert attachment["title_link"] == f"/file-upload/{body['file']['_id']}/foto%20do%20boleto.png"
    assert attachment["image_type"] == "image/png" and attachment["description"] == "boleto"
    assert rc.visitor_messages(rid)[-1]["_id"] == body["_id"]
    status, body = await upload(http, rc, rid, "tok", extra={"bogus": "1"})
    assert status == 400 and body["error"] == "Match error: Unknown key in field bogus"


async def test_file_download_access_rules(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    await conversation(http, rc, "other", phone="+5521999990000")
    _, body = await upload(http, rc, rid, "tok")
    url = rc.base_url + body["attachments"][0]["title_link"]

    async def status_of(params: dict[str, str] | None = None, **kw: Any) -> int:
        async with http.get(url, params=params, **kw) as response:
            if response.status == 200:
                assert await response.read() == PNG
                assert response.headers["Content-Disposition"].startswith("attachment")
            return response.status

    visitor_query = {"rc_token": "tok", "rc_rid": rid, "rc_room_type": "l"}
    assert await status_of(visitor_query) == 200
    assert await status_of({**visitor_query, "rc_token": "other"}) == 403
    assert await status_of() == 403
    assert await status_of(headers=BOT) == 403  # the service account is no room member
    assert await status_of({"token": "forged.jwt.value"}) == 403
    await rc.close_room(rid)
    assert await status_of(visitor_query) == 200  # still readable after close
    async with http.get(f"{rc.base_url}/file-upload/nope/x.png") as response:
        assert response.status == 404


async def test_history_shows_public_file_path(http: Http, rc: FakeRocketChat) -> None:
    rid = await conversation(http, rc, "tok")
    await upload(http, rc, rid, "tok")
    async with http.get(
        f"{rc.base_url}/api/v1/livechat/messages.history/{rid}", params={"token": "tok"}
    ) as response:
        newest = (await response.json())["messages"][0]
    public = newest["fileUpload"]["publicFilePath"]
    assert newest["fileUpload"]["type"] == "image/png" and newest["fileUpload"]["size"] == len(PNG)
    async with http.get(public) as response:
        assert response.status == 200
    rc.files.ttl = -1  # an expired JWT is refused
    async with http.get(
        f"{rc.base_url}/api/v1/livechat/messages.history/{rid}", params={"token": "tok"}
    ) as response:
        expired = (await response.json())["messages"][0]["fileUpload"]["publicFilePath"]
    async with http.get(expired) as response:
        assert response.status == 403
