"""``GET /api/v1/livechat/config`` body (contract rocketchat-omnichannel.md §2.9).

`online` says whether agents are available for the given department (or anyone),
`departments` is the only anonymous department list; `guest`/`room`/`agent` appear when
`token` names a visitor (room only while open).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.sandbox.rocketchat import FakeRocketChat


def _settings(fake: FakeRocketChat) -> dict[str, Any]:
    return {
        "registrationForm": True,
        "allowSwitchingDepartments": True,
        "nameFieldRegistrationForm": True,
        "emailFieldRegistrationForm": True,
        "displayOfflineForm": True,
        "videoCall": False,
        "fileUpload": fake.file_upload_enabled,
        "language": "pt-BR",
        "transcript": False,
        "historyMonitorType": "url",
        "forceAcceptDataProcessingConsent": False,
        "showConnecting": False,
        "agentHiddenInfo": False,
        "clearLocalStorageWhenChatEnded": False,
        "limitTextLength": fake.message_character_limit or False,
        "visitorsCanCloseChat": fake.visitors_can_close,
        "hiddenSystemMessages": [],
    }


def _online(fake: FakeRocketChat, department: str | None) -> bool:
    if not fake.agents_online:
        return False
    found = fake.store.department(department) if department else None
    if found is None:
        return True
    return not {found["_id"], found["name"]} & fake.offline_departments


def build_config(fake: FakeRocketChat, token: str | None, department: str | None) -> dict[str, Any]:
    if not fake.livechat_enabled:
        return {"enabled": False}
    config: dict[str, Any] = {
        "enabled": True,
        "settings": _settings(fake),
        "theme": {"title": "Rocket.Chat", "color": "#C1272D", "position": "right"},
        "messages": {},
        "survey": {"items": [], "values": []},
        "triggers": [],
        "departments": [
            {key: d[key] for key in ("_id", "name", "showOnRegistration", "showOnOfflineForm")}
            for d in fake.store.departments
            if d["enabled"]
        ],
        "resources": {},
        "online": _online(fake, department),
    }
    visitor = fake.store.visitors.get(token) if token else None
    if visitor is not None:
        config["guest"] = visitor
        room = fake.store.open_room_of(visitor["token"])
        if room is not None:
            config["room"] = room
            served = room.get("servedBy")
            if served is not None:
                agent = fake.store.agent(served["username"])
                config["agent"] = {"_id": agent["_id"], "username": agent["username"],
                                   "name": agent.get("name")}  # fmt: skip
    return config
