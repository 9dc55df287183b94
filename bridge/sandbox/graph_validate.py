"""Synchronous validation of ``POST /{phone-number-id}/messages`` bodies (contract §5).

Each check raises a :class:`GraphError` shaped like Meta's answer. Where the contract quotes
a real error text it is used verbatim (observed); other texts follow the same pattern and are
marked (inferred) — a bridge must key on `code`, never on the text (§7.1).
Lengths are counted in Unicode code points (§10.8, inferred).
"""

from __future__ import annotations

from typing import Any

from bridge.sandbox.graph_errors import GraphError, missing_param, param_error
from bridge.sandbox.graph_validate_interactive import validate_interactive

MESSAGE_TYPES = (
    "audio", "contacts", "document", "image", "interactive", "location",
    "reaction", "sticker", "template", "text", "video",
)  # fmt: skip
MEDIA_TYPES = ("audio", "document", "image", "sticker", "video")
CAPTIONED = ("document", "image", "video")
TEXT_MAX = 4096
CAPTION_MAX = 1024
BIZ_OPAQUE_MAX = 512


def require_product(body: dict[str, Any]) -> None:
    """Every POST needs ``messaging_product=whatsapp`` (captured verbatim error text)."""
    product = body.get("messaging_product")
    if product is None:
        raise param_error("The parameter messaging_product is required.")
    if product != "whatsapp":
        raise param_error(f'Param messaging_product must be one of {{WHATSAPP}} - got "{product}".')


def validate_read(body: dict[str, Any]) -> None:
    """Mark-as-read / typing indicator body (§5.3)."""
    if body.get("status") != "read":
        raise param_error("Param status must be one of {READ}")
    if not isinstance(body.get("message_id"), str) or not body["message_id"]:
        raise param_error("The parameter message_id is required.")
    typing = body.get("typing_indicator")
    if typing is not None and (not isinstance(typing, dict) or typing.get("type") != "text"):
        raise param_error("Param typing_indicator['type'] must be one of {TEXT}")


def validate_send(body: dict[str, Any]) -> str:
    """Validate a message send and return its `type` (Meta defaults it to ``text``)."""
    to = body.get("to")
    if not isinstance(to, str) or not any(ch.isdigit() for ch in to):
        raise param_error("The parameter to is required.")
    kind = body.get("type", "text")
    if kind not in MESSAGE_TYPES:
        # Graph's enum error shape (inferred text).
        raise param_error(
            f'Param type must be one of {{{", ".join(MESSAGE_TYPES).upper()}}} - got "{kind}".'
        )
    obj = body.get(kind)
    if not isinstance(obj, dict) and not (kind == "contacts" and isinstance(obj, list)):
        raise missing_param(f"The parameter {kind} is required.")
    _validate_envelope_extras(body)
    _VALIDATORS[kind](kind, obj)
    return str(kind)


def _validate_envelope_extras(body: dict[str, Any]) -> None:
    context = body.get("context")
    if context is not None and not (
        isinstance(context, dict) and isinstance(context.get("message_id"), str)
    ):
        raise param_error("The parameter context['message_id'] is required.")
    opaque = body.get("biz_opaque_callback_data")
    if opaque is not None and (not isinstance(opaque, str) or len(opaque) > BIZ_OPAQUE_MAX):
        # ≤ 512 chars (§5.1); error text (inferred).
        raise param_error("Param biz_opaque_callback_data must be at most 512 characters long.")


def _text(_kind: str, obj: Any) -> None:
    body = obj.get("body")
    if not isinstance(body, str):
        raise param_error("The parameter text['body'] is required.")
    if len(body) > TEXT_MAX:
        # Observed in third-party tests (§5.3).
        raise param_error("Param text['body'] must be at most 4096 characters long.")
    if not body:
        raise param_error("Param text['body'] must be at least 1 character long.")  # (inferred)
    if "preview_url" in obj and not isinstance(obj["preview_url"], bool):
        raise param_error("Param text['preview_url'] must be a boolean.")  # (inferred)


def _media(kind: str, obj: Any) -> None:
    has_id, has_link = isinstance(obj.get("id"), str), isinstance(obj.get("link"), str)
    if not has_id and not has_link:
        raise missing_param(f"Param {kind} must contain either id or link.")  # (inferred)
    if has_id and has_link:
        raise param_error(f"Param {kind} must contain exactly one of id or link.")  # (inferred)
    if has_link and not str(obj["link"]).startswith(("http://", "https://")):
        raise param_error(f"Param {kind}['link'] must be a valid URL.")  # (inferred)
    caption = obj.get("caption")
    if caption is None:
        return
    if kind not in CAPTIONED:
        # Audio and stickers take no caption (§5.3). Meta may silently drop it; rejecting is
        # the safer choice for the bridge, since the citizen would never see it. (inferred)
        raise param_error(f"Param {kind}['caption'] is not supported for {kind} messages.")
    if not isinstance(caption, str) or len(caption) > CAPTION_MAX:
        raise param_error(f"Param {kind}['caption'] must be at most 1024 characters long.")


def _location(_kind: str, obj: Any) -> None:
    for key in ("latitude", "longitude"):
        value = obj.get(key)
        try:
            float(value)
        except (TypeError, ValueError):
            raise missing_param(f"The parameter location['{key}'] is required.") from None


def _reaction(_kind: str, obj: Any) -> None:
    if not isinstance(obj.get("message_id"), str) or not obj["message_id"]:
        raise missing_param("The parameter reaction['message_id'] is required.")
    if not isinstance(obj.get("emoji"), str):
        # An empty string removes the reaction (§5.3, inferred); absent is an error.
        raise missing_param("The parameter reaction['emoji'] is required.")


def _template(_kind: str, obj: Any) -> None:
    if not isinstance(obj.get("name"), str) or not obj["name"]:
        raise missing_param("The parameter template['name'] is required.")
    language = obj.get("language")
    if not isinstance(language, dict) or not isinstance(language.get("code"), str):
        raise missing_param("The parameter template['language']['code'] is required.")
    components = obj.get("components", [])
    if not isinstance(components, list):
        raise param_error("Param template['components'] must be an array.")


def _contacts(_kind: str, obj: Any) -> None:
    if not isinstance(obj, list) or not obj:
        raise missing_param("The parameter contacts is required.")


def _interactive(_kind: str, obj: Any) -> None:
    validate_interactive(obj)


_VALIDATORS = {
    "audio": _media,
    "contacts": _contacts,
    "document": _media,
    "image": _media,
    "interactive": _interactive,
    "location": _location,
    "reaction": _reaction,
    "sticker": _media,
    "template": _template,
    "text": _text,
    "video": _media,
}


def template_body_params(template: dict[str, Any]) -> int:
    """Number of parameters in the `body` component (for the 132000 check)."""
    for component in template.get("components", []):
        if isinstance(component, dict) and component.get("type") == "body":
            params = component.get("parameters", [])
            return len(params) if isinstance(params, list) else 0
    return 0


def check_template(
    template: dict[str, Any],
    approved: dict[tuple[str, str], int],
    paused: frozenset[str] = frozenset(),
) -> None:
    """132001 for an unknown (name, language), 132015 for a paused template, 132000 for a
    parameter-count mismatch (§5.3)."""
    name, language = template["name"], template["language"]["code"]
    if name in paused:
        raise GraphError(132015, details=f"Template {name} is paused due to low quality")
    expected = approved.get((name, language))
    if expected is None:
        # Captured body: "template name (X) does not exist in es" (HTTP 404 per §7.2).
        raise GraphError(132001, details=f"template name ({name}) does not exist in {language}")
    got = template_body_params(template)
    if got != expected:
        raise GraphError(
            132000,
            details=(
                f"body: number of localizable_params ({got}) does not match the expected "
                f"number of params ({expected})"
            ),
        )
