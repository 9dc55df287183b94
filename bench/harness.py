"""What every scenario needs: the fakes' control endpoint, their records, the load generator."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import procs
from bench.config import Profile
from bench.payloads import parse_tagged, write_job
from bench.procs import Child

Record = list[Any]  # rc: [t, rid, message id, text]; graph: [t, wa_id, kind, text]


@dataclass
class LoadResult:
    results: list[list[float]]  # per request: [send time, answer time, status]
    wall: float
    cpu: float  # the load generator's own CPU seconds

    @property
    def ok(self) -> list[list[float]]:
        return [r for r in self.results if r[2] == 200]

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[str(int(r[2]))] = counts.get(str(int(r[2])), 0) + 1
        return counts


@dataclass
class Harness:
    profile: Profile
    workdir: Path
    session: aiohttp.ClientSession
    fakes: Child
    records: dict[str, list[Record]] = field(default_factory=lambda: {"rc": [], "graph": []})
    rooms: dict[str, str] = field(default_factory=dict)  # rid -> wa_id
    _jobs: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def control(self) -> str:
        return str(self.fakes.info["control"])

    async def get(self, path: str, **params: str) -> Any:
        async with self.session.get(f"{self.control}{path}", params=params) as resp:
            resp.raise_for_status()
            return await resp.json()

    async def post(self, path: str, body: Any) -> Any:
        async with self.session.post(f"{self.control}{path}", json=body) as resp:
            resp.raise_for_status()
            return await resp.json()

    async def freeze(self) -> None:
        """Before a phase: no full garbage collection of the fakes' growing records (a
        pause of the fakes, not of the bridge) may land in the middle of it."""
        await self.post("/freeze", {})

    async def pull(self, source: str) -> None:
        """Fetch the records the fakes made since the last pull."""
        known = self.records[source]
        answer = await self.get("/received", source=source, since=str(len(known)))
        known.extend(answer["items"])

    def mark(self, source: str) -> int:
        return len(self.records[source])

    def first_messages(self, since: int, rooms: set[str]) -> dict[str, int]:
        """Per room, how many visitor messages that are not the benchmark's own (the
        bridge's transcript that opens a room) arrived since `since`."""
        counts = dict.fromkeys(rooms, 0)
        for record in self.records["rc"][since:]:
            if str(record[1]) in counts and parse_tagged(str(record[3])) is None:
                counts[str(record[1])] += 1
        return counts

    def tagged(self, arrivals: list[Any]) -> list[tuple[str, Any, Any]]:
        """(conversation, lane tag, sequence) of the benchmark's own messages that arrived,
        in arrival order, for the correctness check."""
        seen = []
        for record in arrivals:
            parsed = parse_tagged(str(record[3]))
            if parsed:
                seen.append((self.rooms.get(str(record[1]), "?"), parsed[1], parsed[2]))
        return seen

    async def refresh_rooms(self) -> dict[str, str]:
        """rid -> wa_id of every room the fake Rocket.Chat has, open or not."""
        rooms = await self.get("/rooms")
        self.rooms = {r["rid"]: r["wa_id"] for r in rooms}
        return {r["wa_id"]: r["rid"] for r in rooms if r["open"]}

    async def wait_for(
        self,
        source: str,
        since: int,
        wanted: Callable[[Record], bool],
        count: int,
        *,
        settle: float = 0.3,
    ) -> list[Record]:
        """The records after `since` that match, once `count` arrived (then `settle` more
        seconds to catch late duplicates), or when none matched for the profile's
        `drain_timeout` seconds (what is missing then counts as lost)."""
        idle = self.profile.drain_timeout
        matched: list[Record] = []
        scanned = since
        last_progress = time.monotonic()
        limit = self.profile.drain_timeout * 10  # a hard stop, far beyond any healthy run
        started = time.monotonic()
        settled_at: float | None = None
        while True:
            await self.pull(source)
            fresh = self.records[source][scanned:]
            scanned += len(fresh)
            found = [r for r in fresh if wanted(r)]
            if found:
                matched.extend(found)
                last_progress = time.monotonic()
            now = time.monotonic()
            if len(matched) >= count and settled_at is None:
                settled_at = now
            if settled_at is not None and now - settled_at >= settle:
                return matched
            if now - last_progress > idle or now - started > limit:
                return matched
            await asyncio.sleep(0.05)

    async def load(self, job: dict[str, Any], name: str) -> LoadResult:
        """Run the load generator (its own process) on a job; its results."""
        number = next(self._jobs)
        job_file = write_job(self.workdir / f"job-{number:03d}-{name}.json", job)
        result_file = self.workdir / f"result-{number:03d}-{name}.json"
        timeout = 60 + 3 * max((r[0] for r in job["requests"]), default=0)
        code = await procs.run_to_end(
            ["-m", "bench.loadgen", str(job_file), str(result_file)],
            self.workdir / "loadgen.log",
            timeout,
        )
        if code != 0:
            raise RuntimeError(f"load generator failed ({code}); see {self.workdir}/loadgen.log")
        data = json.loads(result_file.read_text())
        job_file.unlink()
        result_file.unlink()
        return LoadResult(data["results"], data["wall"], data["cpu"])
