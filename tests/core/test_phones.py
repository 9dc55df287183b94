"""Phone numbers as agents read them (issue #9 §6)."""

from __future__ import annotations

import pytest

from bridge.core import phones


@pytest.mark.parametrize(
    ("wa_id", "shown"),
    [
        ("551187654321", "+5511987654321"),  # an old São Paulo mobile: the 9 comes back
        ("553187654321", "+5531987654321"),  # Belo Horizonte, same
        ("5511987654321", "+5511987654321"),  # already 13 digits
        ("553133334444", "+553133334444"),  # a landline keeps 8 digits
        ("14155552671", "+14155552671"),  # not Brazilian: as E.164
        ("BR.12345", "BR.12345"),  # a business-scoped user id, no number shared
        ("5500000000", "+5500000000"),  # not a valid number: as it came, with a +
    ],
)
def test_display(wa_id: str, shown: str) -> None:
    assert phones.display(wa_id) == shown
