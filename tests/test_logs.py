"""The production log format (bridge.logs): JSON lines whose tracebacks carry no frame
locals and whose personal data is masked. Run in a child process: structlog's set-up is
global and cached on first use."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CITIZEN_PHONE = "5511987654321"

SCRIPT = textwrap.dedent(
    f"""
    import sys

    import structlog
    from bridge import logs

    logs.configure("info", sys.argv[1])
    log = structlog.get_logger("test")

    def relay(text):
        raise KeyError("no room for {CITIZEN_PHONE}")

    try:
        relay("meu endereço é rua das flores 10")
    except KeyError:
        log.exception("outbox.crashed", row=7)
    log.info("webhook.item", text="meu endereço", wa_id="{CITIZEN_PHONE}", items=1)
    log.debug("webhook.handled", ms=1.0)
    """
)


def run(fmt: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", SCRIPT, fmt],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stderr


def test_a_json_traceback_has_its_frames_but_no_locals_and_no_phone_numbers() -> None:
    crashed, item = (json.loads(line) for line in run("json").splitlines())
    assert crashed["event"] == "outbox.crashed" and crashed["level"] == "error"
    [error] = crashed["exception"]
    assert error["exc_type"] == "KeyError"
    assert [f["name"] for f in error["frames"]][-1] == "relay"
    text = json.dumps(crashed)
    assert "rua das flores" not in text  # the frame's local `text`
    assert CITIZEN_PHONE not in text and "[redacted]" in error["exc_value"]
    assert item["text"] == "[redacted]" and item["wa_id"] == "[redacted]" and item["items"] == 1


def test_the_console_format_keeps_the_traceback_and_masks_the_same_keys() -> None:
    out = run("console")
    assert "Traceback" in out and "KeyError" in out
    assert "rua das flores" not in out and "meu endereço" not in out
    assert CITIZEN_PHONE not in out
    assert "webhook.handled" not in out  # debug, below the level
