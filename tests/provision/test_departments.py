"""The default department: found by name or id, warnings, the Community Edition limit."""

from __future__ import annotations

from .fake_rocketchat import FakeRocketChat
from .helpers import setup, status_of


def test_department_is_found_by_id(server: str, fake: FakeRocketChat) -> None:
    fake.departments.append({"_id": "abc123", "name": "SAC", "enabled": True, "numAgents": 3})

    code, lines = setup(server, rocketchat_department="abc123")

    assert code == 0
    assert status_of(lines, "department") == "ok: 'SAC' exists (id abc123)"


def test_department_without_agents_is_a_warning(server: str, fake: FakeRocketChat) -> None:
    fake.departments.append({"_id": "d1", "name": "Atendimento 156", "numAgents": 0})

    code, lines = setup(server)

    assert code == 0
    assert status_of(lines, "department").startswith("WARNING: 'Atendimento 156' exists")
    assert "has no agents" in status_of(lines, "department")


def test_community_edition_limit_is_explained(server: str, fake: FakeRocketChat) -> None:
    fake.departments.append({"_id": "d1", "name": "Geral", "enabled": True, "numAgents": 1})

    code, lines = setup(server)

    assert code == 1
    department = status_of(lines, "department")
    assert department.startswith("FAILED: Rocket.Chat Community Edition allows only one")
    assert "'Geral' already exists" in department
    assert "ROCKETCHAT_DEPARTMENT" in department
    assert status_of(lines, "setup") == "FAILED: 1 changed, 1 warning(s), 1 failed"
