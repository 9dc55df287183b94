"""Read-only checks of the server: version, Omnichannel enabled, API rate limiter."""

from __future__ import annotations

from rocketchat_API.rocketchat import RocketChat

from bridge.provision.errors import API_ERRORS, as_object, http_status, reason
from bridge.provision.report import FAILED, OK, SKIPPED, WARNING, Report

SUPPORTED_MAJORS = (7, 8)


def check_version(rc: RocketChat, report: Report) -> None:
    try:
        version = str(as_object(rc.info()).get("version") or "")
    except API_ERRORS as exc:
        report.line("version", WARNING, "could not read /api/info: " + reason(exc))
        return
    major = version.split(".", 1)[0]
    if major.isdigit() and int(major) in SUPPORTED_MAJORS:
        report.line("version", OK, f"Rocket.Chat {version}")
    else:
        report.line(
            "version",
            WARNING,
            f"Rocket.Chat {version or 'unknown'}: the bridge is written and tested for 7.x "
            "and 8.x; other versions differ in the Omnichannel API",
        )


def check_omnichannel(rc: RocketChat, report: Report) -> None:
    try:
        config = as_object(as_object(rc.call_api_get("livechat/config")).get("config"))
    except API_ERRORS as exc:
        report.line("omnichannel", FAILED, reason(exc))
        return
    if config.get("enabled") is True:
        report.line("omnichannel", OK, "enabled")
    else:
        report.line(
            "omnichannel",
            FAILED,
            "disabled: turn on Administration › Workspace › Settings › Omnichannel › "
            "'Omnichannel enabled' (or OVERWRITE_SETTING_Livechat_enabled=true)",
        )


def check_rate_limiter(rc: RocketChat, report: Report) -> None:
    try:
        value = as_object(rc.settings_get("API_Enable_Rate_Limiter")).get("value")
    except API_ERRORS as exc:
        why = "only an admin can read it" if http_status(exc) == 403 else reason(exc)
        report.line("rate limiter", SKIPPED, f"{why}; make sure API_Enable_Rate_Limiter is false")
        return
    if value is False:
        report.line("rate limiter", OK, "API_Enable_Rate_Limiter is off")
    else:
        report.line("rate limiter", WARNING, "API_Enable_Rate_Limiter is on: " + _LIMITER_WHY)


# Contract §1.4 and §10.1: the limiter keys on client IP, and every citizen's calls come
# from the bridge's one IP.
_LIMITER_WHY = (
    "livechat/visitor and livechat/room allow 5 calls a minute per IP and every citizen "
    "shares the bridge's IP; set OVERWRITE_SETTING_API_Enable_Rate_Limiter=false "
    "(docs/deployment.md)"
)
