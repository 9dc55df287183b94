"""/metrics (issue #10 §2): scraped before and after a scripted conversation, the counters
move as they should, and no phone number, name or message text appears anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bridge.sandbox.graph_wire import text_message
from tests.support.e2e import CITIZEN, Env, settled, until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(env: Env) -> tuple[str, Samples]:
    async with aiohttp.ClientSession() as http, http.get(f"{env.url}/metrics") as answer:
        assert answer.status == 200
        assert answer.content_type == "text/plain"
        text = await answer.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def value(samples: Samples, metric: str, **labels: str) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


async def test_counters_move_with_a_conversation_and_no_personal_data_leaks(env: Env) -> None:
    _, before = await scrape(env)
    assert value(before, "bridge_webhooks_received_total", source="whatsapp") == 0

    await env.graph.citizen_says(CITIZEN, "meu CPF é 529.982.247-25", name="Maria Silva")
    await until(lambda: bool(env.rc.open_room_ids()))
    rid = env.rc.open_room_ids()[0]
    await env.rc.agent_says(rid, "Olá Maria, recebido.")
    await env.graph.redeliver(0)  # Meta's duplicate of the first delivery
    poison = text_message(CITIZEN, "x")
    poison["text"] = {"body": ["not", "text"]}
    await env.graph.deliver(env.graph.envelope_for(CITIZEN, poison))
    await env.rc.close_room(rid)
    await settled(env)
    text, after = await scrape(env)

    assert value(after, "bridge_webhooks_received_total", source="whatsapp") >= 3
    assert value(after, "bridge_webhooks_received_total", source="rocketchat") >= 2
    assert value(after, "bridge_events_deduplicated_total", source="whatsapp") == 1
    assert (
        value(after, "bridge_items_rejected_total", source="whatsapp", reason="invalid message")
        == 1
    )
    assert (
        value(after, "bridge_deliveries_total", destination="rocketchat", result="delivered") >= 2
    )  # the transcript, then the relayed text
    assert value(after, "bridge_deliveries_total", destination="whatsapp", result="delivered") >= 1
    assert value(after, "bridge_handoffs_total", department="Atendimento") == 1
    assert value(after, "bridge_statistic_total", name="room_opened", label="Atendimento") == 1
    assert value(after, "bridge_conversations", state="bot") == 1  # back to the bot, closed
    assert value(after, "bridge_outbox_messages", destination="whatsapp", state="pending") == 0
    assert value(after, "bridge_worker_up", worker="outbox") == 1
    calls = [k for k in after if k[0] == "bridge_remote_call_seconds_count"]
    endpoints = {dict(labels)["endpoint"] for _, labels in calls}
    assert "/v25.0/:id/messages" in endpoints and "/api/v1/livechat/message" in endpoints

    async with aiohttp.ClientSession() as http:
        for n in range(3):  # paths nobody routes do not each make a label series
            async with http.post(f"{env.url}/webhooks/x{n}{CITIZEN}", data=b"{}") as answer:
                assert answer.status == 404
    text, _ = await scrape(env)
    assert CITIZEN not in text and 'source="x' not in text
    for secret in (CITIZEN, "+55 11 98765", "Maria", "529.982", "recebido", rid):
        assert secret not in text, secret


ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
PANEL_TYPES = {"timeseries", "stat", "bargauge", "gauge", "table"}


def test_the_dashboard_is_a_well_formed_grafana_dashboard() -> None:
    dashboard = json.loads((MONITORING / "grafana/dashboards/bridge.json").read_text())
    assert isinstance(dashboard["uid"], str) and dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["panels"]
    datasources = yaml.safe_load(
        (MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"]
    uids = {d["uid"] for d in datasources}
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["type"] in PANEL_TYPES and panel["title"], panel
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["datasource"]["uid"] in uids and panel["targets"]
        for target in panel["targets"]:
            assert target["expr"] and target["refId"] and target["datasource"]["uid"] in uids


def test_every_profile_mounts_what_the_repository_holds_and_pins_its_images() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    profiles = {name: s.get("profiles", []) for name, s in compose["services"].items()}
    assert profiles["prometheus"] == profiles["grafana"] == ["monitoring"]
    assert profiles["postgres"] == ["postgres"]
    assert profiles["bridge-2"] == profiles["balancer"] == ["replicas"]
    for name, service in compose["services"].items():
        image = service.get("image", "")
        assert "build" in service or (":" in image and not image.endswith(":latest")), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
    [job] = yaml.safe_load((MONITORING / "prometheus.yml").read_text())["scrape_configs"]
    bridges = sorted(name for name, service in compose["services"].items() if "build" in service)
    assert bridges == ["bridge", "bridge-2"]
    [dns] = job["dns_sd_configs"]
    assert sorted(dns["names"]) == bridges and dns["port"] == 8080  # every replica scraped
    nginx = (ROOT / "deploy/replicas-nginx.conf").read_text()
    assert "server bridge:8080" in nginx and "server bridge-2:8080" in nginx


async def test_every_metric_the_dashboard_queries_exists(env: Env) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{env.url}/metrics") as answer:
        text = await answer.text()
    exposed: set[str] = set()
    for family in text_string_to_metric_families(text):
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
        exposed |= {family.name + s for s in suffixes.get(family.type, ("",))}
    dashboard = json.loads((MONITORING / "grafana/dashboards/bridge.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bbridge_[a-z_]+", target["expr"])
    }
    assert queried and queried <= exposed, queried - exposed


def test_every_variable_docker_compose_reads_is_in_the_example_env() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))
    example = (ROOT / "config/bridge.example.env").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert used - {"VAR"} <= listed, sorted(used - listed)
