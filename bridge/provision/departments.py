"""The default Omnichannel department (ROCKETCHAT_DEPARTMENT): find it, else create it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rocketchat_API.rocketchat import RocketChat

from bridge.provision.errors import API_ERRORS, as_object, error_text, reason
from bridge.provision.report import CHANGED, FAILED, OK, SKIPPED, WARNING, WOULD_CHANGE, Report

_PAGE = 100

_CE_DEPARTMENT_LIMIT = (
    "Rocket.Chat Community Edition allows only one Omnichannel department and {existing} "
    "already exists; set ROCKETCHAT_DEPARTMENT to that department's name or id (the bridge "
    "still labels rooms by service), or use an Enterprise licence for several departments"
)


def ensure_department(rc: RocketChat, wanted: str, dry_run: bool, report: Report) -> None:
    if not wanted:
        report.line("department", SKIPPED, "ROCKETCHAT_DEPARTMENT is empty: no default department")
        return
    try:
        departments = _list_departments(rc)
    except API_ERRORS as exc:
        report.line("department", FAILED, "cannot list departments: " + reason(exc))
        return
    found = next((d for d in departments if wanted in (d.get("_id"), d.get("name"))), None)
    if found is not None:
        _report_found_department(found, report)
    elif dry_run:
        report.line("department", WOULD_CHANGE, f"create {wanted!r}")
    else:
        _create_department(rc, wanted, departments, report)


def _list_departments(rc: RocketChat) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = as_object(rc.call_api_get("livechat/department", offset=len(found), count=_PAGE))
        items = [d for d in page.get("departments") or [] if isinstance(d, dict)]
        found.extend(items)
        if not items or len(found) >= int(page.get("total") or 0):
            return found


def _report_found_department(department: Mapping[str, Any], report: Report) -> None:
    detail = f"{department.get('name')!r} exists (id {department.get('_id')})"
    if department.get("enabled") is False:
        report.line("department", WARNING, detail + " but is disabled")
    elif department.get("numAgents") == 0:
        # Rooms for a department without agents fail with no-agent-online (contract §2.3).
        report.line("department", WARNING, detail + " but has no agents: add them in " + _AGENTS)
    else:
        report.line("department", OK, detail)


_AGENTS = "Omnichannel › Departments"


def _create_department(
    rc: RocketChat, name: str, existing: list[dict[str, Any]], report: Report
) -> None:
    # email is required by Rocket.Chat's check() but may be empty; it only receives the
    # offline-form messages, which the bridge does not use.
    department = {
        "name": name,
        "enabled": True,
        "showOnRegistration": True,
        "showOnOfflineForm": False,
        "email": "",
        "description": "WhatsApp citizens (rocketchat-whatsapp-bridge)",
    }
    try:
        created = as_object(rc.call_api_post("livechat/department", department=department))
    except API_ERRORS as exc:
        report.line("department", FAILED, _department_failure(exc, existing))
        return
    new_id = as_object(created.get("department")).get("_id")
    report.line("department", CHANGED, f"created {name!r} (id {new_id}); add agents in {_AGENTS}")


def _department_failure(exc: BaseException, existing: list[dict[str, Any]]) -> str:
    if "error-max-departments-number-reached" in error_text(exc):
        names = ", ".join(repr(d.get("name")) for d in existing) or "another department"
        return _CE_DEPARTMENT_LIMIT.format(existing=names)
    return "cannot create it: " + reason(exc)
