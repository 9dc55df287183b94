"""Child processes: start, read their first line, time them to ready, measure, stop.

CPU and memory come from /proc/<pid>: utime+stime of `stat` (clock ticks), VmRSS and
VmHWM (peak resident set) of `status`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.config import REPO

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_mb(pid: int) -> dict[str, float]:
    """{"rss_mb": VmRSS, "hwm_mb": VmHWM} of a live process."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found["rss_mb" if key == "VmRSS" else "hwm_mb"] = round(int(value.split()[0]) / 1024, 1)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The driver's environment without any bridge setting, plus `extra`."""
    prefixes = ("WHATSAPP_", "ROCKETCHAT_", "BRIDGE_", "LOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log: Path
    started: float  # monotonic time of the spawn
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def memory(self) -> dict[str, float]:
        return memory_mb(self.pid)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def stop(self, grace: float = 15.0) -> int | None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        return self.process.returncode


async def spawn(
    name: str,
    argv: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    *,
    pipe: bool = False,
) -> Child:
    """Start `python ARGV...` from the repository root; stderr (and stdout unless `pipe`,
    for helpers that print their address) to `log`."""
    handle = log.open("ab")
    try:
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *argv,
            cwd=REPO,
            env=child_env(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if pipe else handle,
            stderr=handle,
        )
    finally:
        handle.close()
    return Child(name, process, log, started)


async def first_line(child: Child, within: float = 30.0) -> dict[str, Any]:
    """The JSON line a helper prints once it listens (bench.fakes, bench.baseline)."""
    assert child.process.stdout is not None
    try:
        line = await asyncio.wait_for(child.process.stdout.readline(), within)
    except TimeoutError:
        line = b""
    if not line:
        await child.stop()
        raise RuntimeError(f"{child.name} did not start:\n{child.log_tail()}")
    info: dict[str, Any] = json.loads(line)
    child.info = info
    return info


async def wait_ready(
    session: aiohttp.ClientSession, child: Child, url: str, within: float = 30.0
) -> float:
    """Seconds from the spawn to the first HTTP 200 of `url` (polled every 2 ms)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not child.alive:
            raise RuntimeError(f"{child.name} exited with {child.process.returncode}")
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as resp:
                if resp.status == 200:
                    return time.monotonic() - child.started
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.002)
    raise RuntimeError(f"{child.name} not ready after {within} s")


async def run_to_end(argv: Sequence[str], log: Path, within: float) -> int:
    """Run a helper to completion (the load generator); its return code."""
    child = await spawn("loadgen", argv, log)
    try:
        await asyncio.wait_for(child.process.communicate(), within)
    except TimeoutError:
        await child.stop()
        return -1
    return child.process.returncode or 0
