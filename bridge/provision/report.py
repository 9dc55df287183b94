"""The step report: one line per step, a score, and no secrets in the output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

OK = "ok"
CHANGED = "changed"
SKIPPED = "skipped"
WOULD_CHANGE = "would change"
WARNING = "WARNING"
FAILED = "FAILED"


@dataclass
class Report:
    """Prints one line per step and keeps the score; scrubs known secrets from every line."""

    out: TextIO
    secrets: tuple[str, ...]
    failures: int = 0
    warnings: int = 0
    changes: int = 0

    def line(self, step: str, status: str, detail: str = "") -> None:
        self.failures += status == FAILED
        self.warnings += status == WARNING
        self.changes += status == CHANGED
        text = f"{step:<13} {status}" + (f": {detail}" if detail else "")
        for secret in self.secrets:
            text = text.replace(secret, "***")
        self.out.write(text + "\n")
        self.out.flush()

    def finish(self, step: str = "setup") -> int:
        summary = f"{self.changes} changed, {self.warnings} warning(s), {self.failures} failed"
        self.line(step, FAILED if self.failures else OK, summary)
        return 1 if self.failures else 0
