"""Request validation in Rocket.Chat's two styles (contract rocketchat-omnichannel.md §1.3).

* ajv (``validateParams``): strict schemas; the first failing rule is reported, ``required``
  before ``additionalProperties`` (ajv checks validation keywords before applicator ones).
* Meteor ``check``/``Match``: "Match error: ..." messages (texts inferred from Meteor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.sandbox.rocketchat_errors import invalid_params, match_error

_TYPE_NAMES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    dict: "object",
    list: "array",
    float: "number",
    int: "number",
}


def _is(value: Any, kind: type) -> bool:
    if kind in (int, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, kind)


def ajv_strict(
    body: Any,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    types: Mapping[str, type] | None = None,
) -> dict[str, Any]:
    """Validate like an ajv schema with ``additionalProperties: false``; return the body."""
    if not isinstance(body, dict):
        raise invalid_params("must be object")
    for key in required:
        if key not in body:
            raise invalid_params(f"must have required property '{key}'")
    allowed = set(required) | set(optional)
    for key in body:
        if key not in allowed:
            raise invalid_params("must NOT have additional properties")
    for key, kind in (types or {}).items():
        if key in body and not _is(body[key], kind):
            raise invalid_params(f"must be {_TYPE_NAMES[kind]}")
    return body


def strings_only(
    query: Mapping[str, str], *, required: Sequence[str], optional: Sequence[str]
) -> None:
    """ajv on a query string (every value is a string already)."""
    ajv_strict(dict(query), required=required, optional=optional)


def match_keys(
    value: Any,
    field: str,
    *,
    required: Mapping[str, type],
    optional: Mapping[str, type],
    exact: bool,
) -> dict[str, Any]:
    """Meteor ``check(value, {..})`` (exact) or ``Match.ObjectIncluding({..})``."""
    where = f" in field {field}" if field else ""
    if not isinstance(value, dict):
        raise match_error(f"Expected object, got {_js_type(value)}{where}")
    for key, kind in required.items():
        if key not in value:
            raise match_error(f"Missing key '{key}'{where}")
        _match_type(value[key], kind, _join(field, key))
    for key, kind in optional.items():
        if value.get(key) is not None:
            _match_type(value[key], kind, _join(field, key))
    if exact:
        for key in value:
            if key not in required and key not in optional:
                raise match_error(f"Unknown key in field {_join(field, key)}")
    return value


def _match_type(value: Any, kind: type, field: str) -> None:
    if not _is(value, kind):
        raise match_error(f"Expected {_TYPE_NAMES[kind]}, got {_js_type(value)} in field {field}")


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in _TYPE_NAMES.items():
        if _is(value, kind):
            return name
    return "object"
