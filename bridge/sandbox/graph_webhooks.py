"""How Meta delivers webhooks (contract whatsapp-cloud-api.md §3, §4).

* POST the exact signed bytes with ``X-Hub-Signature-256``.
* Success is HTTP **200** exactly; any other answer, a timeout or a connection error is
  retried "with decreasing frequency" (no published schedule: the delays are configurable,
  shortened in tests), then given up. Every attempt is logged.
* First attempts go out in emission order (one at a time) so tests are deterministic;
  retries run independently, so later webhooks may overtake a retried one, as with Meta
  (§4.4: no ordering guarantee).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp

from bridge.sandbox.graph_wire import sign

CONNECTION_FAILED = 0  # returned instead of an HTTP status when nothing answered
USER_AGENT = "facebookexternalua"  # logged by third parties (§2.1, observed)


class MetaDelivery:
    """Posts signed webhook bodies with Meta's retry semantics."""

    def __init__(self, app_secret: str, log: list[tuple[int | None, bytes]]) -> None:
        self._app_secret = app_secret
        self._log = log
        self._order = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        signature: str | None,
        delays: Sequence[float],
        time_limit: float,
    ) -> int:
        """Deliver `body`; return the final attempt's status (0 = connection error).

        `signature` None signs the body; "" omits the header; anything else is sent as is.
        """
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        header = sign(self._app_secret, body) if signature is None else signature
        if header:
            headers["X-Hub-Signature-256"] = header
        async with self._order:
            status = await self._attempt(url, body, headers, time_limit)
        for delay in delays:
            if status == 200:
                break
            await asyncio.sleep(delay)
            status = await self._attempt(url, body, headers, time_limit)
        return status

    async def get(self, url: str, params: dict[str, str], time_limit: float) -> tuple[int, str]:
        session = self._require_session()
        client_timeout = aiohttp.ClientTimeout(total=time_limit)
        async with session.get(url, params=params, timeout=client_timeout) as response:
            return response.status, await response.text()

    async def _attempt(
        self, url: str, body: bytes, headers: dict[str, str], time_limit: float
    ) -> int:
        session = self._require_session()
        try:
            client_timeout = aiohttp.ClientTimeout(total=time_limit)
            async with session.post(
                url, data=body, headers=headers, timeout=client_timeout
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            self._log.append((None, body))
            return CONNECTION_FAILED
        self._log.append((status, body))
        return status

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the fake is not started")
        return self._session
