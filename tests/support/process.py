"""The bridge as a plain subprocess (`python -m bridge run`), configured only by environment.

The fakes stay in the test's event loop; the process reaches them over loopback and they
post their webhooks to the process's port. Its output goes to a file (a pipe nobody reads
would fill up and block the bridge), shown by the fixture when a test fails.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

import aiohttp

from tests.support.e2e import ACCESS_TOKEN, APP_SECRET, PNID, RC_TOKEN, VERIFY_TOKEN

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = ROOT / "config" / "messages.yaml"


def free_port() -> int:
    """A port nobody listens on right now (bound to 0, then released for the bridge)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def bridge_environ(
    *, db: Path, port: int, graph_url: str, rc_url: str, **overrides: str | None
) -> dict[str, str]:
    """Every variable the bridge needs, and nothing inherited from the developer's shell
    (only PATH). An override of None removes the variable."""
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": PNID,
        "WHATSAPP_GRAPH_URL": graph_url,
        "ROCKETCHAT_URL": rc_url,
        "ROCKETCHAT_WEBHOOK_TOKEN": RC_TOKEN,
        "ROCKETCHAT_USER_ID": "bridgebot-id",
        "ROCKETCHAT_AUTH_TOKEN": "bridgebot-token",
        "ROCKETCHAT_DEPARTMENT": "Atendimento",
        "BRIDGE_DB": str(db),
        "BRIDGE_HOST": "127.0.0.1",
        "BRIDGE_PORT": str(port),
        "BRIDGE_FLOW": "",
        "BRIDGE_MESSAGES": str(MESSAGES),
        "BRIDGE_RETRY_BASE_SECONDS": "0.05",
        "BRIDGE_RETRY_MAX_SECONDS": "0.4",
        "BRIDGE_RETRY_LIMIT": "8",
        "BRIDGE_NO_AGENT_RETRY_SECONDS": "0.3",
        "BRIDGE_RECONCILE_SECONDS": "0",
        "LOG_LEVEL": "info",
        "LOG_FORMAT": "json",
    }
    for name, value in overrides.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return environ


class BridgeProcess:
    """Starts `python -m bridge run` (again and again, e.g. after a kill) on one port."""

    def __init__(self, environ: dict[str, str], cwd: Path, log_path: Path) -> None:
        self.environ = environ
        self.cwd = cwd
        self.url = f"http://127.0.0.1:{environ['BRIDGE_PORT']}"
        self.log_path = log_path
        self.starts = 0
        self._log: IO[bytes] | None = None
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        return self._require().pid

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory so far (VmHWM, Linux)."""
        status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Start the process and wait until it answers GET /healthz."""
        if self.running:
            raise RuntimeError("the bridge is already running")
        self.starts += 1
        log = self._open_log()
        log.write(f"--- start #{self.starts}\n".encode())
        log.flush()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bridge",
            "run",
            env=self.environ,
            cwd=self.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        async with aiohttp.ClientSession() as http:

            async def healthy() -> bool:
                if not self.running:
                    raise AssertionError(f"the bridge exited:\n{self.output()}")
                try:
                    async with http.get(f"{self.url}/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await until_async(healthy, limit=15)

    async def kill(self) -> int:
        """SIGKILL: no clean-up, no graceful shutdown; returns the exit status."""
        process = self._require()
        process.send_signal(signal.SIGKILL)
        return await process.wait()

    async def stop(self) -> None:
        """Kill the process if it still runs (for finally blocks) and close the log."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self) -> str:
        if self._log is not None:
            self._log.flush()
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _open_log(self) -> IO[bytes]:
        if self._log is None:
            self._log = self.log_path.open("ab")
        return self._log

    def _require(self) -> asyncio.subprocess.Process:
        if self._process is None or self._process.returncode is not None:
            raise RuntimeError("the bridge is not running")
        return self._process


async def until_async(check: Callable[[], Awaitable[bool]], limit: float = 10.0) -> None:
    """`until` for a condition that must be awaited (bounded polling, not a timing test)."""
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
