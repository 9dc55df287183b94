"""File messages and file URLs (contract rocketchat-omnichannel.md §5, §2.7).

A file message carries `file`, `files` and `attachments` whose links are **relative**
(``/file-upload/<id>/<name>``); API reads and webhooks add ``fileUpload.publicFilePath``, an
absolute URL with a JWT (``?token=``) valid for one hour (JWT-for-files is on by default).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote

from bridge.sandbox.rocketchat_state import StoredFile


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def file_path(stored: StoredFile) -> str:
    return f"/file-upload/{stored.file_id}/{quote(stored.name)}"


def _format_of(stored: StoredFile) -> str:
    return stored.name.rsplit(".", 1)[-1].upper() if "." in stored.name else ""


def attachment(stored: StoredFile, description: str | None) -> dict[str, Any]:
    """One `attachments[]` entry; the media-specific keys depend on the MIME type (§5)."""
    path = file_path(stored)
    item: dict[str, Any] = {
        "title": stored.name,
        "type": "file",
        "title_link": path,
        "title_link_download": True,
    }
    if description:
        item["description"] = description
    major = stored.mime.split("/", 1)[0]
    if major in ("image", "audio", "video"):
        # No thumbnail is generated here: image_url points to the file itself.
        item.update({f"{major}_url": path, f"{major}_type": stored.mime,
                     f"{major}_size": len(stored.data)})  # fmt: skip
    else:
        item.update({"format": _format_of(stored), "size": len(stored.data)})
    return item


def file_fields(stored: StoredFile, description: str | None) -> dict[str, Any]:
    info = {"_id": stored.file_id, "name": stored.name, "type": stored.mime,
            "size": len(stored.data), "format": _format_of(stored)}  # fmt: skip
    return {"file": info, "files": [dict(info)], "attachments": [attachment(stored, description)]}


class FileTokens:
    """HS256 JWTs for ``/file-upload`` links: claims iat, nbf, exp, aud, context (§5)."""

    def __init__(self, secret: bytes, ttl: float = 3600.0) -> None:
        self._secret = secret
        self.ttl = ttl

    def mint(self, stored: StoredFile, user_id: str) -> str:
        now = int(time.time())
        context = {"rid": stored.rid, "userId": user_id, "fileId": stored.file_id}
        claims = {"iat": now, "nbf": now, "exp": now + self.ttl, "aud": "RocketChat",
                  "context": context}  # fmt: skip
        head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        return f"{head}.{body}.{self._signature(f'{head}.{body}')}"

    def valid_for(self, token: str, file_id: str) -> bool:
        parts = token.split(".")
        if len(parts) != 3:
            return False
        expected = self._signature(f"{parts[0]}.{parts[1]}")
        if not hmac.compare_digest(expected, parts[2]):
            return False
        try:
            claims = json.loads(_b64url_decode(parts[1]))
        except ValueError:
            return False
        context = claims.get("context") or {}
        return bool(context.get("fileId") == file_id and claims.get("exp", 0) > time.time())

    def _signature(self, signing_input: str) -> str:
        digest = hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        return _b64url(digest)


def present(
    message: dict[str, Any],
    *,
    files: dict[str, StoredFile],
    tokens: FileTokens,
    site_url: str,
) -> dict[str, Any]:
    """A message as API reads / webhooks show it: file messages gain `fileUpload`."""
    shown = copy.deepcopy(message)
    file_info = message.get("file")
    stored = files.get(file_info["_id"]) if isinstance(file_info, dict) else None
    if stored is not None:
        token = tokens.mint(stored, str(message["u"]["_id"]))
        shown["fileUpload"] = {
            "publicFilePath": f"{site_url}{file_path(stored)}?token={token}",
            "type": stored.mime,
            "size": len(stored.data),
        }
    return shown
