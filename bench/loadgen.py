"""`python -m bench.loadgen JOB.json RESULT.json`: an open-loop HTTP load generator.

The job lists requests with an offset in seconds (`at`) and a lane (a conversation): each
request leaves at its time, except that a lane's next request waits until its previous one
was answered, as Meta and Rocket.Chat do for one conversation in practice, so "in order"
means the order of the acknowledgements. A small HTTP/1.1 keep-alive client on raw asyncio
streams keeps the generator's own cost low; every request body is encoded before the clock
starts. The result has, per request, [send time, answer time, HTTP status] on the
system-wide monotonic clock (status 0 = no answer).

`urls` (instead of `url`): the requests alternate between several servers (replicas behind
a round-robin balancer): a conversation's successive messages go to different replicas,
as a balancer without affinity sends them. `clock`: a URL told the start time before the
first request leaves (`{"t0": ..., **clock_body}`), so the fake Rocket.Chat can show each
agent message in the room's history from the moment its webhook leaves.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Target = tuple[str, int, str]  # host, port, path


@dataclass(frozen=True)
class Job:
    targets: list[Target]
    raw: list[bytes]  # each request, fully encoded for its target
    target: list[int]  # each request's index in `targets`
    at: list[float]
    lanes: list[str]
    connections: int  # per target
    clock: tuple[Target, dict[str, Any]] | None = None

    @classmethod
    def load(cls, data: dict[str, Any]) -> Job:
        targets = [_target(url) for url in data.get("urls") or [data["url"]]]
        common = data.get("headers", {})
        raw, target, at, lanes = [], [], [], []
        sent: dict[str, int] = {}  # per lane, requests so far
        for offset, lane, body, headers in data["requests"]:
            # The lane's n-th request, shifted by the lane's own number: successive
            # messages of a conversation alternate, and the lanes start on every target.
            n = sent.setdefault(lane, len(sent))
            sent[lane] = n + 1
            index = n % len(targets)
            raw.append(_request(targets[index], body.encode(), {**common, **headers}))
            target.append(index)
            at.append(float(offset))
            lanes.append(str(lane))
        clock = None
        if data.get("clock"):
            clock = (_target(data["clock"]["url"]), dict(data["clock"].get("body", {})))
        connections = int(data.get("connections", 64))
        return cls(targets, raw, target, at, lanes, connections, clock)


def _target(url: str) -> Target:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80, parts.path


def _request(target: Target, payload: bytes, headers: dict[str, str]) -> bytes:
    host, port, path = target
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, raw: bytes) -> int:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._reader, self._writer
        writer.write(raw)
        status = int((await reader.readuntil(b"\r\n")).split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                await reader.readexactly(size + 2)
            await reader.readuntil(b"\r\n")
        elif length:
            await reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def run(job: Job) -> dict[str, Any]:
    pools: list[asyncio.Queue[Connection]] = []
    for host, port, _path in job.targets:
        pools.append(asyncio.Queue())
        for _ in range(job.connections):
            pools[-1].put_nowait(Connection(host, port))
    lanes: dict[str, asyncio.Lock] = {}
    results: list[list[float]] = [[0.0, 0.0, 0] for _ in job.raw]

    async def one(index: int) -> None:
        async with lanes.setdefault(job.lanes[index], asyncio.Lock()):
            pool = pools[job.target[index]]
            conn = await pool.get()
            sent = time.monotonic()
            try:
                status = await conn.post(job.raw[index])
            except (
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ValueError,
                IndexError,
            ):
                conn.close()
                status = 0
            finally:
                pool.put_nowait(conn)
            results[index] = [sent, time.monotonic(), status]

    cpu0 = _cpu()
    t0 = time.monotonic() + 0.05
    if job.clock is not None:
        t0 = await _announce(*job.clock)
    tasks = []
    i, n = 0, len(job.raw)
    while i < n:
        now = time.monotonic()
        while i < n and t0 + job.at[i] <= now:
            tasks.append(asyncio.create_task(one(i)))
            i += 1
        if i < n:
            await asyncio.sleep(min(0.002, max(0.0, t0 + job.at[i] - time.monotonic())))
    await asyncio.gather(*tasks)
    wall = time.monotonic() - t0
    for pool in pools:
        while not pool.empty():
            pool.get_nowait().close()
    return {"t0": t0, "wall": wall, "cpu": _cpu() - cpu0, "results": results}


async def _announce(target: Target, body: dict[str, Any]) -> float:
    """Tell `target` the start time; the clock starts once it answered."""
    t0 = time.monotonic() + 1.0  # ample for one local request, even on a busy machine
    conn = Connection(target[0], target[1])
    status = await conn.post(_request(target, json.dumps({**body, "t0": t0}).encode(), {}))
    conn.close()
    if status != 200 or time.monotonic() >= t0:
        raise RuntimeError(f"the clock announcement failed (HTTP {status}) or came late")
    return t0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m bench.loadgen JOB.json RESULT.json", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as f:
        job = Job.load(json.load(f))
    outcome = asyncio.run(run(job))
    with open(args[1], "w", encoding="utf-8") as f:
        json.dump(outcome, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
