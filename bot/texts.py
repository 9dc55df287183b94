"""Placeholders in citizen-facing texts: {nome} is replaced by the answer saved as
"nome"; {hours} and {department} by the handoff's schedule and department."""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
BUILTINS = frozenset({"hours", "department"})


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace known placeholders; an answer not given yet becomes empty text."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), text)
