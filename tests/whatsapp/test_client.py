"""Graph errors translated once into Retryable / Permanent (contract §7)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bridge.core.ports import Download, ForeignUrl, Permanent, RateLimited, Retryable, TooLarge
from bridge.health import Reachability
from bridge.whatsapp.client import GraphClient, translate
from tests.support.mock_http import mock_http as aioresponses

BASE = "https://graph.example/v25.0"
SEND = f"{BASE}/42/messages"


def graph_error(code: int, details: str = "d") -> dict[str, object]:
    return {
        "error": {
            "message": f"(#{code}) t",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "A",
        }
    }


@pytest.mark.parametrize(
    "code", [1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 131057, 190]
)
def test_throttling_and_transient_codes_are_retryable(code: int) -> None:
    assert isinstance(translate(400, graph_error(code), None), Retryable)


@pytest.mark.parametrize(
    "code", [0, 100, 131008, 131009, 131021, 131026, 131047, 131051, 132001, 368]
)
def test_other_codes_are_permanent_and_keep_the_code(code: int) -> None:
    error = translate(400, graph_error(code), None)
    assert isinstance(error, Permanent) and error.code == code


@pytest.mark.parametrize(
    ("status", "kind"),
    [(502, Retryable), (429, RateLimited), (401, RateLimited), (404, Permanent)],
)
def test_bodies_without_an_error_envelope(status: int, kind: type) -> None:
    assert isinstance(translate(status, "<html>", None), kind)


@pytest.mark.parametrize("code", [4, 80007, 130429, 131048, 131056, 190])
def test_slow_down_and_refused_credentials_wait_without_spending_retries(code: int) -> None:
    assert isinstance(translate(400 if code != 190 else 401, graph_error(code), None), RateLimited)


def test_retry_after_is_honoured() -> None:
    error = translate(503, None, "7")
    assert isinstance(error, Retryable) and error.after == 7.0


@pytest.fixture
async def client() -> AsyncIterator[GraphClient]:
    async with aiohttp.ClientSession() as session:
        yield GraphClient(session, BASE, "42", "tok", Reachability("whatsapp"))


async def test_send_text_posts_the_documented_body(client: GraphClient) -> None:
    with aioresponses() as mocked:
        mocked.post(
            SEND,
            payload={
                "messaging_product": "whatsapp",
                "contacts": [],
                "messages": [{"id": "wamid.X"}],
            },
        )
        wamid = await client.send_text("5511912345678", "Olá")
        (call,) = mocked.requests[("POST", aiohttp.client.URL(SEND))]
    assert wamid == "wamid.X"
    assert call.kwargs["json"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "type": "text",
        "text": {"preview_url": False, "body": "Olá"},
        "to": "5511912345678",
    }
    assert call.kwargs["headers"]["Authorization"] == "Bearer tok"


async def test_business_scoped_ids_are_sent_as_recipient(client: GraphClient) -> None:
    with aioresponses() as mocked:
        mocked.post(SEND, payload={"messages": [{"id": "wamid.Y"}]})
        await client.send_text("BR.123", "x")
        (call,) = mocked.requests[("POST", aiohttp.client.URL(SEND))]
    assert call.kwargs["json"]["recipient"] == "BR.123" and "to" not in call.kwargs["json"]


async def test_rate_limit_is_retryable_and_marks_nothing_down(client: GraphClient) -> None:
    with aioresponses() as mocked:
        mocked.post(SEND, status=400, payload=graph_error(130429))
        with pytest.raises(Retryable):
            await client.send_text("5511", "x")
    assert client.health.problem() is None


async def test_network_failure_is_retryable_and_marks_down(client: GraphClient) -> None:
    with aioresponses() as mocked:
        mocked.post(SEND, exception=aiohttp.ClientConnectionError("refused"))
        with pytest.raises(Retryable):
            await client.send_text("5511", "x")
    assert client.health.problem() is not None


async def test_window_closed_is_permanent(client: GraphClient) -> None:
    with aioresponses() as mocked:
        mocked.post(SEND, status=400, payload=graph_error(131047, "Re-engagement message"))
        with pytest.raises(Permanent) as caught:
            await client.send_text("5511", "x")
    assert caught.value.code == 131047


async def test_media_is_downloaded_with_the_bearer_token(client: GraphClient) -> None:
    url = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=9"
    with aioresponses() as mocked:
        mocked.get(f"{BASE}/9", payload={"url": url, "mime_type": "image/jpeg", "id": "9"})
        mocked.get(url, body=b"jpeg-bytes", content_type="image/jpeg")
        file = await client.download_media("9", 1024)
        (download,) = mocked.requests[("GET", aiohttp.client.URL(url))]
    assert file == Download.of(b"jpeg-bytes", "image/jpeg")
    assert download.kwargs["headers"]["Authorization"] == "Bearer tok"


async def test_a_media_link_that_answers_404_is_asked_for_once_more(client: GraphClient) -> None:
    """§10.2: the link lives 5 minutes; on 404 re-query the id once (then it is gone)."""
    stale = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=old"
    fresh = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=new"
    with aioresponses() as mocked:
        mocked.get(f"{BASE}/9", payload={"url": stale, "mime_type": "image/jpeg", "id": "9"})
        mocked.get(stale, status=404)
        mocked.get(f"{BASE}/9", payload={"url": fresh, "mime_type": "image/jpeg", "id": "9"})
        mocked.get(fresh, body=b"jpeg-bytes", content_type="image/jpeg")
        assert await client.download_media("9", 1024) == Download.of(b"jpeg-bytes", "image/jpeg")
    with aioresponses() as mocked:
        for _ in range(2):
            mocked.get(f"{BASE}/9", payload={"url": stale, "mime_type": "image/jpeg", "id": "9"})
            mocked.get(stale, status=404)
        with pytest.raises(Permanent):
            await client.download_media("9", 1024)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/steal",  # another host would get our access token
        "http://lookaside.fbsbx.com/x",  # Meta's host, but not over TLS
        "https://user@lookaside.fbsbx.com/x",
        "https://fbsbx.com.evil.example/x",
    ],
)
async def test_a_media_link_outside_metas_hosts_is_never_fetched(
    client: GraphClient, url: str
) -> None:
    with aioresponses() as mocked:
        mocked.get(f"{BASE}/9", payload={"url": url, "mime_type": "image/jpeg", "id": "9"})
        with pytest.raises(ForeignUrl):
            await client.download_media("9", 1024)
        assert ("GET", aiohttp.client.URL(url)) not in mocked.requests


async def test_media_over_the_limit_is_refused_while_reading(client: GraphClient) -> None:
    url = "https://lookaside.fbsbx.com/x"
    with aioresponses() as mocked:
        mocked.get(f"{BASE}/9", payload={"url": url, "mime_type": "image/jpeg", "id": "9"})
        mocked.get(url, body=b"x" * 5000, content_type="image/jpeg")
        with pytest.raises(TooLarge):
            await client.download_media("9", 4096)
