"""Commands survive the outbox: every kind round-trips through its stored JSON."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bridge.core.model import (
    CitizenMessage,
    Command,
    ConversationKey,
    Location,
    Media,
    OpenRoom,
    PostNotice,
    RelayToRoom,
    SendFile,
    SendMenu,
    SendText,
    WaId,
    WaMessageId,
    command_from_json,
    command_to_json,
)

KEY = ConversationKey("1122334455667", WaId("5511912345678"))
PHOTO = Media("image", "media-1", "image/jpeg", "poste.jpg")
MESSAGE = CitizenMessage(
    KEY,
    WaMessageId("wamid.1"),
    1_700_000_000.5,
    "Maria",
    "olá, ação",
    choice_id="menu_2",
    media=PHOTO,
    location=Location(-23.5, -46.6, "Sé", None),
)
COMMANDS: list[Command] = [
    SendText("Bom dia ☀️", origin="rc-1"),
    SendFile("/file-upload/1/a.pdf", "a.pdf", "application/pdf", None, "rc-2", room="r1"),
    SendMenu({"kind": "buttons", "body": "Escolha", "buttons": [{"id": "1", "title": "Sim"}]}),
    OpenRoom(
        "Iluminação",
        "t",
        {"cpf": "123"},
        ("poste",),
        "urgent",
        True,
        "queue",
        "x",
        (PHOTO,),
        "🚨 URGENTE · Iluminação",
    ),
    RelayToRoom(MESSAGE),
    RelayToRoom(CitizenMessage(KEY, WaMessageId("wamid.2"), 1.0, "", "só texto")),
    PostNotice("A mensagem não foi entregue"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_every_command_round_trips(command: Command) -> None:
    stored = command_to_json(command)
    assert json.loads(stored)["kind"] == type(command).__name__
    assert command_from_json(stored) == command


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_rows_queued_by_the_previous_release_still_decode(command: Command) -> None:
    """Before orjson, rows were written by the standard library (spaces after separators,
    non-ASCII kept): a row queued then is delivered after an upgrade."""
    previous = json.dumps(json.loads(command_to_json(command)), ensure_ascii=False)
    assert ", " in previous or ": " in previous
    assert command_from_json(previous) == command


def test_a_file_queued_before_files_named_their_room_decodes_without_one() -> None:
    stored = json.loads(command_to_json(COMMANDS[1]))
    del stored["room"]
    assert command_from_json(json.dumps(stored)) == replace(COMMANDS[1], room=None)
