"""aioresponses, made to work with aiohttp 3.14.

aioresponses 0.7.9 builds `ClientResponse` without the `stream_writer` argument that
aiohttp 3.14 made required (pnuckowski/aioresponses#289, still open). aiohttp 3.14 is a
security release, so the fix belongs here in the tests rather than in a pin."""

from __future__ import annotations

from typing import Any
from unittest.mock import Mock

from aiohttp import ClientResponse
from aioresponses import aioresponses


class _CompatResponse(ClientResponse):
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", Mock(output_size=0))
        super().__init__(method, url, **kwargs)


class mock_http(aioresponses):
    def add(self, *args: Any, **kwargs: Any) -> None:
        kwargs["response_class"] = kwargs.get("response_class") or _CompatResponse
        super().add(*args, **kwargs)
