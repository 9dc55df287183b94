"""One bridge, several WhatsApp numbers: each number is a line with its own default
department and, optionally, its own chatbot flow (issue #9 §5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bridge.core.decide import Bot, Policy


@dataclass(frozen=True)
class Line:
    policy: Policy
    bot: Bot | None


@dataclass(frozen=True)
class Lines:
    """The lines by phone number id; a number not listed uses `default` (the single-number
    set-up lists none)."""

    default: Line
    by_number: Mapping[str, Line] = field(default_factory=dict)

    def of(self, phone_number_id: str) -> Line:
        return self.by_number.get(phone_number_id, self.default)
