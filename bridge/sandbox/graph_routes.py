"""HTTP routes of the Graph fake (contract whatsapp-cloud-api.md §5, §6, §7).

Any ``/v{N}.{M}/`` version is accepted (§8.4), and the version-less form too ("if the
version is omitted the newest is used", §5.1). Responses use Meta's escaping (§3).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bridge.sandbox.graph_errors import GraphError, param_error, unknown_object
from bridge.sandbox.graph_media_rules import check_upload
from bridge.sandbox.graph_platform import MediaItem, ScriptedFault
from bridge.sandbox.graph_validate import (
    check_template,
    require_product,
    validate_read,
    validate_send,
)
from bridge.sandbox.graph_wire import meta_dumps, new_media_id, new_wamid

if TYPE_CHECKING:
    from bridge.sandbox.graph import FakeGraph

VERSION = r"{version:v\d+(\.\d+)?}"
JSON_TYPE = "application/json; charset=UTF-8"
MAX_BODY = 110 * 1024 * 1024  # documents may be 100 MB (§6.5)


def graph_json(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=meta_dumps(payload), status=status, content_type="application/json",
                        charset="UTF-8")  # fmt: skip


def error_response(error: GraphError, retry_after: float | None = None) -> web.Response:
    response = graph_json(error.envelope(), error.status())
    if retry_after is not None:
        response.headers["Retry-After"] = str(int(retry_after))
    return response


def fault_response(fault: ScriptedFault) -> web.Response:
    if fault.code is not None:
        error = GraphError(fault.code, details=fault.details, http_status=fault.http_status)
        return error_response(error, fault.retry_after)
    status = fault.http_status or 502
    html = f"<html><body><h1>{status} Gateway Error</h1></body></html>"
    return web.Response(text=html, status=status, content_type="text/html")


class GraphRoutes:
    def __init__(self, fake: FakeGraph) -> None:
        self.fake = fake

    def register(self, app: web.Application) -> None:
        for prefix in (f"/{VERSION}", ""):
            app.router.add_post(prefix + "/{pnid:\\d+}/messages", self.send)
            app.router.add_post(prefix + "/{pnid:\\d+}/media", self.upload)
        app.router.add_get(f"/{VERSION}/{{media_id:\\d+}}", self.media_info)
        app.router.add_get(f"/{VERSION}/{{waba:\\d+}}/subscribed_apps", self.subscribed_apps)
        app.router.add_delete(f"/{VERSION}/{{media_id:\\d+}}", self.media_delete)
        app.router.add_get("/whatsapp_business/attachments/", self.download)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.fake.requests.append((request.method, request.path))
        if self.fake.down:
            return error_response(GraphError(2))
        try:
            response: web.StreamResponse = await handler(request)
        except GraphError as error:
            return error_response(error)
        except web.HTTPNotFound:
            # Graph answers unknown paths with code 2500 and HTTP 400 (inferred text).
            message = f"Unknown path components: {request.path}"
            return error_response(GraphError(2500, message=message, http_status=400))
        return response

    def _auth(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else request.query.get("access_token")
        if not any(token == n.access_token for n in self.fake.numbers.values()):
            raise GraphError(190, http_status=401)
        return str(token)

    def _known_number(self, request: web.Request, method: str) -> str:
        """The path's number, which the token must reach: a token of another business
        (or an id nobody has) gets Graph's "does not exist ... missing permissions" (100)."""
        token = self._auth(request)
        pnid = request.match_info["pnid"]
        number = self.fake.numbers.get(pnid)
        if number is None or number.access_token != token:
            raise unknown_object(pnid, method)
        return pnid

    async def send(self, request: web.Request) -> web.Response:
        pnid = self._known_number(request, "post")
        body = await _json_body(request)
        fault = self.fake.faults.take("read" if "status" in body else "message")
        if fault is not None:
            return fault_response(fault)
        require_product(body)
        if "status" in body:
            validate_read(body)
            self.fake.reads.append(body)
            return graph_json({"success": True})
        return self._accept(body, pnid)

    def _accept(self, body: dict[str, Any], pnid: str) -> web.Response:
        fake = self.fake
        kind = validate_send(body)
        if kind == "template" and fake.approved_templates is not None:
            paused = frozenset(fake.paused_templates)
            check_template(body["template"], fake.approved_templates, paused)
        wa_id = fake.canonical_wa_id(str(body["to"]))
        if wa_id == fake.numbers[pnid].display_phone_number:
            raise GraphError(131021)
        if fake.pair_limit and not fake.pairs.allow(
            wa_id, burst=fake.pair_burst, period=fake.pair_period
        ):
            raise GraphError(131056)
        wamid = new_wamid(wa_id)
        record = {**body, "_wamid": wamid, "_from": pnid}
        fake.sent.append(record)
        fake.after_send(record, kind, wa_id)
        message: dict[str, str] = {"id": wamid}
        if kind == "template":  # §5.2
            paced = body["template"].get("name") in fake.paced_templates
            message["message_status"] = "held_for_quality_assessment" if paced else "accepted"
        return graph_json({
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": wa_id}],
            "messages": [message],
        })  # fmt: skip

    async def upload(self, request: web.Request) -> web.Response:
        pnid = self._known_number(request, "post")
        fault = self.fake.faults.take("media")
        if fault is not None:
            return fault_response(fault)
        form = await request.post()
        if form.get("messaging_product") != "whatsapp":
            raise param_error("The parameter messaging_product is required.")
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise param_error("The parameter file is required.")
        data = upload.file.read()
        declared = form.get("type")
        mime = declared if isinstance(declared, str) and declared else upload.content_type
        check_upload(mime, len(data))
        media_id = new_media_id()
        filename = upload.filename or ""
        self.fake.media.add(MediaItem(media_id, data, mime, filename, pnid))
        self.fake.uploads[media_id] = (data, mime, filename)
        return graph_json({"id": media_id})

    def _media_item(self, request: web.Request, method: str) -> MediaItem:
        media_id = request.match_info["media_id"]
        item = self.fake.media.items.get(media_id)
        if item is None:
            raise unknown_object(media_id, method)
        number = request.query.get("phone_number_id")
        if number is not None and number != item.phone_number_id:
            # Passing it for inbound media fails (chatwoot PR #13319, §6.2).
            raise param_error(
                "Param phone_number_id is not a valid whatsapp business phone number id ID"
            )
        return item

    async def media_info(self, request: web.Request) -> web.Response:
        """GET /{id}: a media item, or one of the account's phone numbers (Graph resolves
        any node id on this path; both are digits)."""
        token = self._auth(request)
        if request.match_info["media_id"] in self.fake.numbers:
            return self._number_info(request.match_info["media_id"], token)
        fault = self.fake.faults.take("media")
        if fault is not None:
            return fault_response(fault)
        item = self._media_item(request, "get")
        url = self.fake.media.link(
            self.fake.base_url, item.media_id, self.fake.media_url_ttl, webhook=False
        )
        return graph_json({
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": item.mime,
            "sha256": hashlib.sha256(item.data).hexdigest(),  # hex here, base64 in webhooks
            "file_size": len(item.data),
            "id": item.media_id,
        })  # fmt: skip

    async def subscribed_apps(self, request: web.Request) -> web.Response:
        """GET /{WABA_ID}/subscribed_apps: the apps that get the account's webhooks."""
        self._auth(request)
        waba = request.match_info["waba"]
        if waba != self.fake.waba_id:
            raise unknown_object(waba, "get")
        return graph_json({"data": self.fake.subscribed_apps})

    def _number_info(self, pnid: str, token: str) -> web.Response:
        number = self.fake.numbers[pnid]
        if number.access_token != token:
            raise unknown_object(pnid, "get")
        return graph_json({"id": pnid, "display_phone_number": number.display_phone_number})

    async def media_delete(self, request: web.Request) -> web.Response:
        self._auth(request)
        item = self._media_item(request, "delete")
        self.fake.media.delete(item.media_id)
        self.fake.uploads.pop(item.media_id, None)
        return graph_json({"success": True})

    async def download(self, request: web.Request) -> web.Response:
        """The URL needs the Bearer token (§6.3); expired/unknown/deleted -> 404."""
        self._auth(request)
        item = self.fake.media.resolve(request.query.get("mid", ""), request.query.get("hash", ""))
        if item is None:
            return web.Response(status=404, text="")
        return web.Response(body=item.data, headers={"Content-Type": item.mime})


async def _json_body(request: web.Request) -> dict[str, Any]:
    """Graph reads body params; an unparsable body simply has none (inferred)."""
    try:
        body = json.loads(await request.read())
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def build_app(fake: FakeGraph) -> web.Application:
    routes = GraphRoutes(fake)
    app = web.Application(middlewares=[routes.middleware], client_max_size=MAX_BODY)
    routes.register(app)
    return app
