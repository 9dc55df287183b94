"""The bridge under test: `python -m bridge run` with production settings, against the fakes.

Production settings: JSON logs at info, SQLite on disk (WAL, synchronous=FULL, as the
store opens it), default retry and body limits. One deviation, on purpose:
BRIDGE_RECONCILE_SECONDS=0 (reconcile at start-up only), because a periodic round re-reads
the history of every open room and would land in the middle of a measurement at a random
moment; its cost is not part of these figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench import config, procs
from bench.procs import Child


def settings(
    db: Path, port: int, fakes: dict[str, Any], flow: Path | None = None, database_url: str = ""
) -> dict[str, str]:
    return {
        "BRIDGE_DATABASE_URL": database_url,
        "WHATSAPP_ACCESS_TOKEN": config.ACCESS_TOKEN,
        "WHATSAPP_APP_SECRET": config.APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": config.VERIFY_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": config.PHONE_NUMBER_ID,
        "WHATSAPP_GRAPH_URL": str(fakes["graph"]),
        "ROCKETCHAT_URL": str(fakes["rc"]),
        "ROCKETCHAT_WEBHOOK_TOKEN": config.RC_TOKEN,
        "ROCKETCHAT_USER_ID": config.RC_USER_ID,
        "ROCKETCHAT_AUTH_TOKEN": config.RC_AUTH_TOKEN,
        "ROCKETCHAT_DEPARTMENT": config.DEPARTMENT,
        "BRIDGE_DB": str(db),
        "BRIDGE_HOST": "127.0.0.1",
        "BRIDGE_PORT": str(port),
        "BRIDGE_FLOW": str(flow) if flow else "",
        "BRIDGE_MESSAGES": str(config.REPO / "config" / "messages.yaml"),
        "BRIDGE_RECONCILE_SECONDS": "0",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "info",
    }


@dataclass
class Bridge:
    child: Child
    url: str
    startup_s: float  # process spawn to the first 200 of /healthz
    env_file: Path


async def start(
    session: aiohttp.ClientSession,
    workdir: Path,
    name: str,
    fakes: dict[str, Any],
    *,
    db: Path,
    flow: Path | None = None,
    database_url: str = "",
) -> Bridge:
    """Start a bridge and wait for /healthz; RuntimeError (with its log's tail) if it dies."""
    port = procs.free_port()
    env = settings(db, port, fakes, flow, database_url)
    env_file = workdir / f"{name}.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    child = await procs.spawn(
        name, ["-m", "bridge", "--env-file", str(env_file), "run"], workdir / f"{name}.log", env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        startup = await procs.wait_ready(session, child, f"{url}/healthz")
    except RuntimeError as exc:
        await child.stop()
        raise RuntimeError(f"{exc}\n{child.log_tail()}") from None
    return Bridge(child, url, round(startup, 3), env_file)


def log_summary(child: Child) -> dict[str, Any]:
    """Lines per level in the bridge's JSON log, and its size."""
    levels: dict[str, int] = {}
    size = 0
    try:
        with child.log.open("rb") as f:
            for raw in f:
                size += len(raw)
                level = "other"
                for name in ("info", "warning", "error", "critical", "debug"):
                    if f'"level": "{name}"'.encode() in raw:
                        level = name
                        break
                levels[level] = levels.get(level, 0) + 1
    except OSError:
        pass
    return {"lines": levels, "bytes": size}
