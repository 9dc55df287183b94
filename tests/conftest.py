"""Shared fixtures: a real SQLite store with the real migrations, the bridge's texts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.core.decide import Policy, Texts
from bridge.store import SqliteStore
from bridge.texts import load_texts

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def texts() -> Texts:
    return load_texts(ROOT / "config" / "messages.yaml")


@pytest.fixture
def policy(texts: Texts) -> Policy:
    # Read receipts are tested on their own (tests/core/test_decide.py, e2e/test_read.py).
    return Policy(
        default_department="Atendimento",
        agent_prefix=True,
        texts=texts,
        read_receipts=False,
        typing=False,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "bridge.db")
    yield opened
    await opened.close()
