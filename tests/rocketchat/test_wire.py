"""The Omnichannel webhook's message model: which link each agent file is fetched from."""

from __future__ import annotations

from typing import Any

from bridge.rocketchat import wire

SITE = "https://chat.prefeitura.example"  # Site_Url: what agents open, not what the bridge calls


def message(**fields: Any) -> wire.Message:
    return wire.Message.model_validate({"_id": "m1", "agentId": "ana", **fields})


def test_every_file_comes_from_its_relative_link_not_from_the_public_path() -> None:
    found = wire.files_of(
        message(
            file={"_id": "F1", "name": "boleto.pdf", "type": "application/pdf"},
            files=[
                {"_id": "F1", "name": "boleto.pdf", "type": "application/pdf"},
                {"_id": "F2", "name": "foto.png", "type": "image/png"},
            ],
            fileUpload={"publicFilePath": f"{SITE}/file-upload/F1/boleto.pdf?token=jwt"},
            attachments=[
                {"title": "boleto.pdf", "title_link": "/file-upload/F1/boleto.pdf"},
                {"title": "foto.png", "title_link": "/file-upload/F2/foto.png"},
            ],
        )
    )
    assert [(f.url, f.name, f.mime) for f in found] == [
        ("/file-upload/F1/boleto.pdf", "boleto.pdf", "application/pdf"),
        ("/file-upload/F2/foto.png", "foto.png", "image/png"),
    ]


def test_a_file_without_attachments_keeps_only_the_public_paths_path_and_token() -> None:
    (found,) = wire.files_of(
        message(
            file={"_id": "F1", "name": "guia.pdf", "type": "application/pdf"},
            fileUpload={"publicFilePath": f"{SITE}/rc/file-upload/F1/guia.pdf?token=jwt"},
        )
    )
    assert found.url == "/file-upload/F1/guia.pdf?token=jwt"
    assert found.name == "guia.pdf" and found.mime == "application/pdf"


def test_a_public_path_elsewhere_is_left_for_the_download_to_refuse() -> None:
    for odd in ("https://elsewhere.example/x.pdf", "//elsewhere.example/file-upload/F1/x"):
        (found,) = wire.files_of(message(fileUpload={"publicFilePath": odd}))
        assert found.url == odd


NOW = 1_800_000_000.0


def closing(*messages: dict[str, Any]) -> wire.Payload:
    return wire.Payload.model_validate(
        {"type": "LivechatSession", "_id": "r1", "messages": list(messages)}
    )


def said(message_id: str, ts: Any, **more: Any) -> dict[str, Any]:
    return {"_id": message_id, "msg": "oi", "agentId": "ana", "ts": ts, **more}


def test_the_closing_transcripts_recent_agent_messages_come_before_the_close() -> None:
    parsed = wire.parse(
        closing(
            said("old", {"$date": (NOW - 2 * 3600) * 1000}),  # the open room's reconciler's
            {"_id": "v1", "msg": "obrigada", "token": "tok", "ts": "2027-01-15T07:59:00Z"},
            said("m1", "2027-01-15T07:59:30.000Z"),
            said("bye", "2027-01-15T08:00:00Z", t="livechat-close", closingMessage=True),
        ),
        now=NOW,
    )
    assert [dedupe for _, dedupe in parsed] == ["m1", "closed:r1"]  # type: ignore[misc]


def test_sent_at_reads_every_form_rocketchat_writes_and_nothing_else() -> None:
    forms = {
        "2027-01-15T08:00:00.000Z": NOW,
        "2027-01-15T08:00:00": NOW,
        "nonsense": None,
        None: None,
    }
    for ts, expected in forms.items():
        assert wire.sent_at(message(ts=ts)) == expected, ts
    assert wire.sent_at(message(ts={"$date": NOW * 1000})) == NOW
    assert wire.sent_at(message(ts={"$date": "2027-01-15T08:00:00Z"})) == NOW
