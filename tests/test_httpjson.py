"""The HTTP clients' JSON: any answer body becomes a value or None, never an exception."""

from __future__ import annotations

import json

import pytest

from bridge.httpjson import json_body, json_text


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"<html><body>502 Bad Gateway</body></html>",
        b'{"success": true',  # cut short
        '{"msg": "ação"}'.encode("latin-1"),  # not UTF-8
    ],
    ids=["empty", "blank", "html", "truncated", "latin-1"],
)
def test_an_answer_that_is_not_json_is_none(raw: bytes) -> None:
    assert json_body(raw) is None


def test_an_answer_in_json_is_read() -> None:
    raw = '{"success": true, "message": {"_id": "m1", "msg": "olá ☀️"}}'.encode()
    assert json_body(raw) == {"success": True, "message": {"_id": "m1", "msg": "olá ☀️"}}


def test_a_request_body_reads_back_as_the_standard_library_would() -> None:
    value = {"token": "t", "msg": "ação ☀️", "n": 3, "ok": None, "tags": ("a", "b"), 7: "x"}
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))
