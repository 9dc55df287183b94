"""migrate-store (issue #11 §3) on a SQLite database filled by scripted conversations over
HTTP: everything arrives in PostgreSQL with its ids and counts, the bridge's reads answer
the same from both, and a target that holds data is refused."""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator

import pytest

from bridge import lgpd
from bridge.core.decide import Decision
from bridge.core.model import ConversationKey, WaId
from bridge.core.privacy import wa_ids_for
from bridge.core.storage import Applied, ByKey, Event
from bridge.store import Database, open_admin_store
from bridge.store.errors import StoreError
from bridge.store.migrate import migrate
from tests.store.backends import POSTGRES_URL, fresh_schema
from tests.support.e2e import CITIZEN, Env, settled, until

OTHER = "5521912345678"
NEW = ConversationKey("1", WaId("5531900000000"))


@pytest.fixture
async def target() -> AsyncIterator[str]:
    async with fresh_schema("migrate") as name:
        yield f"{POSTGRES_URL}?search_path={name}"


async def fill(env: Env) -> None:
    await env.graph.citizen_says(CITIZEN, "preciso de ajuda", name="Maria")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = env.rc.open_room_ids()[0]
    await until(lambda: env.room_texts(rid)[1:] == ["preciso de ajuda"])  # relayed first
    await env.rc.agent_says(rid, "Pois não?")
    await until(lambda: len(env.graph.sent_to(CITIZEN)) == 1)
    await env.rc.close_room(rid)
    await env.graph.citizen_says(OTHER, "bom dia", name="João")
    await until(lambda: bool(env.rc.open_room_ids()))
    await settled(env)
    admin = await open_admin_store(env.settings.database)
    try:
        await lgpd.export(admin, wa_ids_for(CITIZEN), "dpo", io.StringIO())
    finally:
        await admin.close()


async def reads(store: Database) -> dict[str, object]:
    export = await store.export(wa_ids_for(CITIZEN))
    return {
        "export": json.dumps(export, sort_keys=True, default=str),
        "counters": await store.counters(),
        "rooms": [c.room_id for c in await store.open_rooms()],
        "contacts": await store.contacts(0, time.time() + 60),
        "audit": await store.audit_log(10),
    }


async def test_everything_moves_with_its_ids_and_counts(env: Env, target: str) -> None:
    await fill(env)
    # Traffic has settled (in production the bridge is stopped first, as the docs say).
    counts = await migrate(str(env.settings.database), target)
    assert counts["conversation"] == 2 and counts["message_link"] >= 2
    assert counts["contact"] == 2 and counts["audit"] == 1 and counts["seen_event"] >= 2

    sqlite, postgres = await open_admin_store(env.settings.database), await open_admin_store(target)
    try:
        assert await reads(postgres) == await reads(sqlite)
        # New conversations take ids after the copied ones.
        created = await postgres.apply([Event(ByKey(NEW), Decision)])
        assert isinstance(created[0], Applied) and created[0].conversation is not None
        assert created[0].conversation.id == 3
    finally:
        await sqlite.close()
        await postgres.close()

    with pytest.raises(StoreError, match="already holds data"):
        await migrate(str(env.settings.database), target)
