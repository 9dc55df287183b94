"""A 100 MB document each way through the bridge as a process (issue #9 §4): it arrives
whole, and the bridge's memory grows far less than the file (it goes through a temporary
file in chunks, never whole in memory)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Fakes
from tests.support.e2e import CITIZEN, until
from tests.support.process import BridgeProcess, bridge_environ, free_port

SIZE = 100 * 1000 * 1000  # under WhatsApp's 100 MB for documents
DATA = b"%PDF-1.4\n" + b"0123456789abcdef" * (SIZE // 16 - 1)
GROWTH_MB = 40  # generous: buffers, the event loop, a multipart parser; not the file

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture
async def process(fakes: Fakes, tmp_path: Path) -> AsyncIterator[BridgeProcess]:
    environ = bridge_environ(
        db=tmp_path / "bridge.db", port=free_port(), graph_url=fakes.graph_url, rc_url=fakes.rc_url
    )
    bridge = BridgeProcess(environ, cwd=tmp_path, log_path=tmp_path / "bridge.log")
    fakes.graph.webhook_url = f"{bridge.url}/webhooks/whatsapp"
    fakes.rc.webhook_url = f"{bridge.url}/webhooks/rocketchat"
    try:
        yield bridge
    finally:
        await bridge.stop()
        print(bridge.output())


async def test_a_100_mb_document_each_way_without_holding_it_in_memory(
    fakes: Fakes, process: BridgeProcess
) -> None:
    graph, rc = fakes.graph, fakes.rc
    await process.start()
    await graph.citizen_says(CITIZEN, "oi")
    await until(lambda: bool(rc.open_room_ids()))
    rid = next(iter(rc.open_room_ids()))
    await until(lambda: len(rc.visitor_messages(rid)) == 2)
    before = process.peak_rss_mb()

    await rc.agent_sends_file(rid, DATA, "processo.pdf", "application/pdf")
    await until(lambda: any(m.get("type") == "document" for m in graph.sent), limit=180)
    (document,) = [m for m in graph.sent if m.get("type") == "document"]
    assert graph.uploads[document["document"]["id"]][0] == DATA

    await graph.citizen_sends_media(
        CITIZEN, "document", DATA, "application/pdf", filename="comprovante.pdf"
    )
    uploaded = lambda: [m for m in rc.visitor_messages(rid) if "file" in m]  # noqa: E731
    await until(lambda: len(uploaded()) == 1, limit=180)
    assert rc.store.files[uploaded()[0]["file"]["_id"]].data == DATA

    growth = process.peak_rss_mb() - before
    assert growth < GROWTH_MB, f"peak RSS grew {growth:.0f} MB for a {SIZE // 10**6} MB file"
