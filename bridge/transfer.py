"""Files between the two services: received in chunks within a size limit, kept in memory
only while small, with a time limit that grows with the size."""

from __future__ import annotations

import tempfile

import aiohttp

from bridge.core.ports import Download, TooLarge

CHUNK = 64 * 1024
IN_MEMORY = 1024 * 1024  # past this a file goes to an unnamed temporary file
MIN_RATE = 512 * 1024  # bytes/s a transfer may not fall below on average (4 Mbit/s)
IDLE = 60.0  # seconds without a byte before a transfer is given up


def transfer_timeout(size: int) -> aiohttp.ClientTimeout:
    """30 s plus what `size` bytes take at MIN_RATE: a 5 MB image gets 40 s, a 100 MB
    document about four minutes, and any transfer that stalls for IDLE seconds ends."""
    return aiohttp.ClientTimeout(total=30 + size / MIN_RATE, connect=10, sock_read=IDLE)


async def receive(
    resp: aiohttp.ClientResponse, limit: int, mime: str, filename: str | None
) -> Download:
    """The response body as a Download; TooLarge as soon as it is known to exceed `limit`
    (from Content-Length, or while reading), without reading the rest."""
    declared = resp.content_length
    if declared is not None and declared > limit:
        raise TooLarge(f"{declared} bytes, over the limit of {limit}")
    buffer = bytearray()
    spill = None
    size = 0
    try:
        async for chunk in resp.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"over the limit of {limit} bytes")
            if spill is None and size <= IN_MEMORY:
                buffer += chunk
                continue
            if spill is None:
                spill = tempfile.TemporaryFile()  # noqa: SIM115 - closed by Download.close
                spill.write(buffer)
                buffer = bytearray()
            spill.write(chunk)
    except BaseException:
        if spill is not None:
            spill.close()
        raise
    content = bytes(buffer) if spill is None else spill
    return Download(content, size, mime, filename)
