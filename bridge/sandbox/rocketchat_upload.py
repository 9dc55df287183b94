"""Visitor uploads and file downloads (contract rocketchat-omnichannel.md §2.7, §5).

Upload auth failures are **403** ``{"success":false,"error":"unauthorized"}``; other
failures use ``reason`` and no ``error`` key. Downloads (``/file-upload/<id>/<name>``, not
under /api) accept a file JWT (``?token=``) or the visitor query string
(``rc_token`` + ``rc_rid`` + ``rc_room_type=l``, also after close); anything else is 403.
"""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from bridge.sandbox.rocketchat_errors import failure_reason, forbidden, match_error
from bridge.sandbox.rocketchat_files import file_fields
from bridge.sandbox.rocketchat_http import ok
from bridge.sandbox.rocketchat_ops import visitor_user
from bridge.sandbox.rocketchat_state import StoredFile

if TYPE_CHECKING:
    from bridge.sandbox.rocketchat import FakeRocketChat

# Optional text fields of the upload form; others fail the message check ([6.14];
# inferred for [8.x]). Rejecting them is the safer reading.
FORM_FIELDS = ("file", "description", "msg", "alias", "emoji", "avatar", "groupable")


class FileRoutes:
    def __init__(self, fake: FakeRocketChat) -> None:
        self.fake = fake
        self.store = fake.store

    def register(self, app: web.Application) -> None:
        app.router.add_post("/api/v1/livechat/upload/{rid}", self.upload)
        app.router.add_get("/file-upload/{file_id}/{name}", self.download)

    def _visitor_and_room(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        token = request.headers.get("x-visitor-token", "")
        visitor = self.store.visitors.get(token) if token else None
        room = self.store.visitor_room(request.match_info["rid"], token) if token else None
        if visitor is None or room is None or not room["open"]:
            raise forbidden(self.fake.major)
        return visitor, room

    async def upload(self, request: web.Request) -> web.Response:
        visitor, room = self._visitor_and_room(request)
        if not self.fake.file_upload_enabled:
            raise failure_reason("error-file-upload-disabled")
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise failure_reason("error-no-file-uploaded")
        for key in form:
            if key not in FORM_FIELDS:
                raise match_error(f"Unknown key in field {key}")
        data = upload.file.read()
        mime = self._mime_of(upload)
        self._check_file(mime, len(data))
        stored = self.store.stored_file(room["_id"], upload.filename or "file", mime, data)
        description = form.get("description")
        text = form.get("msg")
        message = self.store.message(
            room["_id"], visitor_user(visitor), text if isinstance(text, str) else "",
            token=visitor["token"],
            **file_fields(stored, description if isinstance(description, str) else None),
        )  # fmt: skip
        self.store.add_message(message)
        self.fake.emit("Message visitor", "Message", room, [message])
        # The created message flattened at top level (§2.7).
        return ok({**message, "newRoom": False, "showConnecting": False})

    @staticmethod
    def _mime_of(upload: web.FileField) -> str:
        declared = upload.content_type
        if declared and declared != "application/octet-stream":
            return declared
        guessed, _ = mimetypes.guess_type(upload.filename or "")
        return guessed or declared or "application/octet-stream"

    def _check_file(self, mime: str, size: int) -> None:
        if mime.split(";", maxsplit=1)[0].strip() in self.fake.media_type_blacklist:
            raise failure_reason("error-type-not-allowed")
        limit = self.fake.max_file_size
        if limit >= 0 and size > limit:
            raise failure_reason("error-size-not-allowed", sizeAllowed=f"{limit / 1048576:g} MB")

    async def download(self, request: web.Request) -> web.Response:
        stored = self.store.files.get(request.match_info["file_id"])
        if stored is None:
            return web.Response(status=404)
        if not self._may_read(request, stored):
            return web.Response(status=403)
        disposition = f"attachment; filename*=UTF-8''{quote(stored.name)}"
        return web.Response(body=stored.data, headers={
            "Content-Type": stored.mime,
            "Content-Disposition": disposition,
            "Content-Security-Policy": "default-src 'none'",
            "Cache-Control": "max-age=31536000",
        })  # fmt: skip

    def _may_read(self, request: web.Request, stored: StoredFile) -> bool:
        def value(key: str) -> str:
            return request.query.get(key) or request.cookies.get(key) or ""

        jwt = request.query.get("token")
        if jwt and self.fake.files.valid_for(jwt, stored.file_id):
            return True
        if value("rc_room_type") == "l" and value("rc_rid") == stored.rid:
            return self.store.visitor_room(stored.rid, value("rc_token")) is not None
        # User credentials (rc_uid/X-User-Id) need a room subscription
        # (FileUpload_Restrict_to_room_members, default true); the service account is not
        # subscribed to livechat rooms, so it is refused like any other caller.
        return False
