"""FakeGraph send API over real HTTP: success shape, auth, validation limits, faults."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bridge.sandbox.graph import FakeGraph

from .conftest import ACCESS_TOKEN, CITIZEN, PNID

Json = dict[str, Any]


async def post(
    http: aiohttp.ClientSession,
    graph: FakeGraph,
    body: Json,
    *,
    token: str | None = ACCESS_TOKEN,
    path: str = f"/v25.0/{PNID}/messages",
) -> tuple[int, Json, aiohttp.ClientResponse]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with http.post(graph.base_url + path, json=body, headers=headers) as response:
        return response.status, await response.json(content_type=None), response


def text(body: str, to: str = CITIZEN) -> Json:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": body},
    }


def buttons(*titles: str) -> Json:
    return {
        "messaging_product": "whatsapp",
        "to": CITIZEN,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Como podemos ajudar?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": f"b{i}", "title": t}}
                    for i, t in enumerate(titles)
                ]
            },
        },
    }


def a_list(rows: list[Json], sections: int = 1) -> Json:
    return {
        "messaging_product": "whatsapp",
        "to": CITIZEN,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Selecione"},
            "action": {
                "button": "Ver opções",
                "sections": [{"title": f"S{n}", "rows": rows} for n in range(sections)],
            },
        },
    }


async def test_text_send_answers_exactly_like_meta(http: Any, graph: FakeGraph) -> None:
    graph.open_window(CITIZEN)
    status, body, response = await post(http, graph, text("Olá! Escolha uma opção."))
    assert status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    wamid = body["messages"][0]["id"]
    assert body == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": CITIZEN, "wa_id": CITIZEN}],
        "messages": [{"id": wamid}],
    }
    assert wamid.startswith("wamid.") and len(wamid) > 30
    expected = {**text("Olá! Escolha uma opção."), "_wamid": wamid, "_from": PNID}
    assert graph.sent == [expected]
    assert graph.requests == [("POST", f"/v25.0/{PNID}/messages")]


@pytest.mark.parametrize(
    "path", [f"/v19.0/{PNID}/messages", f"/v26.0/{PNID}/messages", f"/{PNID}/messages"]
)
async def test_any_graph_version_is_accepted(http: Any, graph: FakeGraph, path: str) -> None:
    status, _, _ = await post(http, graph, text("oi"), path=path)
    assert status == 200


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_missing_or_wrong_token_is_401_code_190(
    http: Any, graph: FakeGraph, token: str | None
) -> None:
    status, body, _ = await post(http, graph, text("oi"), token=token)
    assert status == 401
    error = body["error"]
    assert error["code"] == 190 and error["type"] == "OAuthException"
    assert error["message"] == "Invalid OAuth access token - Cannot parse access token"
    assert error["fbtrace_id"]
    assert graph.sent == []


async def test_unknown_phone_number_id_is_code_100(http: Any, graph: FakeGraph) -> None:
    status, body, _ = await post(http, graph, text("oi"), path="/v25.0/999/messages")
    assert status == 400
    assert body["error"]["code"] == 100 and body["error"]["error_subcode"] == 33
    assert body["error"]["type"] == "GraphMethodException"


async def test_messaging_product_is_required(http: Any, graph: FakeGraph) -> None:
    body = text("oi")
    del body["messaging_product"]
    status, answer, _ = await post(http, graph, body)
    assert status == 400
    error = answer["error"]
    assert error["message"] == "(#100) The parameter messaging_product is required."
    assert set(error) == {"message", "type", "code", "fbtrace_id"}


async def test_text_body_limit_is_4096(http: Any, graph: FakeGraph) -> None:
    assert (await post(http, graph, text("x" * 4096)))[0] == 200
    status, body, _ = await post(http, graph, text("x" * 4097))
    assert status == 400
    assert body["error"]["code"] == 100
    assert body["error"]["message"] == (
        "(#100) Param text['body'] must be at most 4096 characters long."
    )


async def test_button_title_over_20_is_rejected_with_metas_exact_envelope(
    http: Any, graph: FakeGraph
) -> None:
    status, body, _ = await post(http, graph, buttons("Serviços", "x" * 21))
    assert status == 400
    error = body["error"]
    assert error["message"] == "(#131009) Parameter value is not valid"
    assert error["code"] == 131009 and error["type"] == "OAuthException"
    assert error["error_data"] == {
        "messaging_product": "whatsapp",
        "details": "Button title length invalid. Min length: 1, Max length: 20",
    }
    assert graph.sent == []  # the whole message is lost


LIMIT_CASES: list[tuple[Json, str]] = [
    (
        buttons("a", "b", "c", "d"),
        "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3",
    ),
    (a_list([{"id": "r", "title": "x" * 25}]), "Row title is too long. Max length is 24"),
    (
        a_list([{"id": "r", "title": "ok", "description": "d" * 73}]),
        "Row description is too long. Max length is 72",
    ),
    (
        a_list([{"id": f"r{n}", "title": "ok"} for n in range(6)], sections=2),
        "Total row count exceed max allowed count: 10",
    ),
]


@pytest.mark.parametrize(("body", "details"), LIMIT_CASES)
async def test_interactive_limits_are_131009(
    http: Any, graph: FakeGraph, body: Json, details: str
) -> None:
    status, answer, _ = await post(http, graph, body)
    assert status == 400
    assert answer["error"]["code"] == 131009
    assert answer["error"]["error_data"]["details"] == details


async def test_limits_count_code_points_and_accept_the_maximum(http: Any, graph: FakeGraph) -> None:
    ok_list = a_list(
        [{"id": f"r{n}", "title": "ç" * 24, "description": "😀" * 72} for n in range(10)]
    )
    assert (await post(http, graph, buttons("é" * 20, "b", "c")))[0] == 200
    assert (await post(http, graph, ok_list))[0] == 200


async def test_read_receipt_and_typing_answer_success(http: Any, graph: FakeGraph) -> None:
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}
    typing = {**read, "typing_indicator": {"type": "text"}}
    for body in (read, typing):
        status, answer, _ = await post(http, graph, body)
        assert (status, answer) == (200, {"success": True})
    assert graph.sent == [] and graph.reads == [read, typing]


async def test_template_send_carries_message_status(http: Any, graph: FakeGraph) -> None:
    body: Json = {
        "messaging_product": "whatsapp",
        "to": CITIZEN,
        "type": "template",
        "template": {"name": "retomar", "language": {"code": "pt_BR"}},
    }
    status, answer, _ = await post(http, graph, body)
    assert status == 200 and answer["messages"][0]["message_status"] == "accepted"
    graph.approved_templates = {("retomar", "pt_BR"): 1}
    status, answer, _ = await post(http, graph, body)
    assert status == 400 and answer["error"]["code"] == 132000
    body["template"]["language"]["code"] = "pt"
    status, answer, _ = await post(http, graph, body)
    assert status == 404 and answer["error"]["code"] == 132001


async def test_fail_next_uses_the_code_table(http: Any, graph: FakeGraph) -> None:
    graph.fail_next(130429, count=2)
    graph.fail_next(131056)
    for expected in (130429, 130429, 131056):
        status, body, _ = await post(http, graph, text("oi"))
        assert status == 400  # rate limits are HTTP 400, not 429 (§7.2)
        assert body["error"]["code"] == expected
        assert body["error"]["error_data"]["messaging_product"] == "whatsapp"
    assert (await post(http, graph, text("oi")))[0] == 200
    assert len(graph.sent) == 1


async def test_fail_next_with_explicit_status_and_retry_after(http: Any, graph: FakeGraph) -> None:
    graph.fail_next(131000, http_status=503, details="boom", retry_after=2)
    status, body, response = await post(http, graph, text("oi"))
    assert status == 503 and response.headers["Retry-After"] == "2"
    assert body["error"]["error_data"]["details"] == "boom"


async def test_fail_next_does_not_consume_on_read_receipts(http: Any, graph: FakeGraph) -> None:
    graph.fail_next(131026)
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}
    assert (await post(http, graph, read))[0] == 200
    assert (await post(http, graph, text("oi")))[1]["error"]["code"] == 131026


async def test_fail_http_is_a_non_json_gateway_error(http: Any, graph: FakeGraph) -> None:
    graph.fail_http(502)
    async with http.post(
        f"{graph.base_url}/v25.0/{PNID}/messages",
        json=text("oi"),
        headers={"Authorization": f"Bearer {ACCESS_TOKEN}"},
    ) as response:
        assert response.status == 502
        assert response.content_type == "text/html"
    assert (await post(http, graph, text("oi")))[0] == 200


async def test_set_down_answers_503_code_2_everywhere(http: Any, graph: FakeGraph) -> None:
    graph.set_down(True)
    status, body, _ = await post(http, graph, text("oi"))
    assert status == 503 and body["error"]["code"] == 2
    async with http.get(f"{graph.base_url}/v25.0/123") as response:
        assert response.status == 503
    graph.set_down(False)
    assert (await post(http, graph, text("oi")))[0] == 200


async def test_pair_rate_limit_gives_131056(http: Any, graph: FakeGraph) -> None:
    graph.pair_limit = True
    graph.pair_burst = 2
    assert [(await post(http, graph, text(f"m{n}")))[0] for n in range(2)] == [200, 200]
    status, body, _ = await post(http, graph, text("m2"))
    assert status == 400 and body["error"]["code"] == 131056
    assert (await post(http, graph, text("other", to="5511900000000")))[0] == 200


async def test_canonical_wa_id_models_the_brazilian_ninth_digit(
    http: Any, graph: FakeGraph
) -> None:
    graph.canonical_wa_ids = {"5531987654321": "553187654321"}
    _, body, _ = await post(http, graph, text("oi", to="+55 31 98765-4321"))
    assert body["contacts"] == [{"input": "+55 31 98765-4321", "wa_id": "553187654321"}]
