"""Checking and normalising typed answers: free text, numbers, CPF (with check digits),
CEP, dates, Brazilian phones, e-mail, yes/no, files, photos and locations.

Each validator returns the value to store (in a canonical form agents can read), or None
when the answer is not acceptable and the citizen must be asked again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.inputs import Input, Media
from bot.matching import one_of
from bot.model import Messages

_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_DATE = re.compile(r"^(\d{1,2})\s*[/.\-\s]\s*(\d{1,2})\s*[/.\-\s]\s*(\d{4})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
# A CPF's digits with whatever separators people type between them ("123.456.789.09"),
# after an optional label ("CPF: "); its check digits decide. A CEP has none, so its shape
# does ("01001-000", "01.001-000", "01001.000", "CEP 01001 000"): a date or a phone
# number must not pass for one.
_CPF_TYPED = re.compile(r"^(?:cpf)?\s*[:\-]?\s*(\d[\d\s./\-]*\d)\s*\.?$", re.I)
_CEP_TYPED = re.compile(r"^(?:cep)?\s*[:\-]?\s*(\d{2}\.?\d{3}[-.\s]?\d{3})\s*\.?$", re.I)
_PHONE_CHARS = re.compile(r"^[\d\s()+\-.]+$")
_FILE_KINDS = ("document", "image", "video", "audio")


@dataclass(frozen=True)
class Valid:
    """An accepted answer: `value` goes into the answers, `media` into the files."""

    value: str
    media: Media | None = None


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def cpf_is_valid(number: str) -> bool:
    """The two CPF check digits (mod 11), rejecting repeated digits like 111.111.111-11."""
    if len(number) != 11 or not number.isdigit() or len(set(number)) == 1:
        return False
    for size in (9, 10):
        total = sum(int(d) * w for d, w in zip(number[:size], range(size + 1, 1, -1), strict=True))
        if (total * 10 % 11) % 10 != int(number[size]):
            return False
    return True


def check_text(inp: Input, max_length: int) -> Valid | None:
    # A location pin answers an address question as well as typed words do.
    text = inp.text.strip() or (inp.shown.strip() if inp.location is not None else "")
    return Valid(text) if text and len(text) <= max_length else None


def check_number(inp: Input) -> Valid | None:
    text = inp.text.strip().replace(" ", "")
    return Valid(text) if _NUMBER.match(text) else None


def _typed_digits(pattern: re.Pattern[str], text: str) -> str:
    """The digits of an answer that is the number and nothing else, or ""."""
    found = pattern.match(text.strip())
    return digits(found.group(1)) if found else ""


def check_cpf(inp: Input) -> Valid | None:
    number = _typed_digits(_CPF_TYPED, inp.text)
    if not cpf_is_valid(number):
        return None
    return Valid(f"{number[:3]}.{number[3:6]}.{number[6:9]}-{number[9:]}")


def check_cep(inp: Input) -> Valid | None:
    number = _typed_digits(_CEP_TYPED, inp.text)
    if len(number) != 8 or number == "0" * 8:
        return None
    return Valid(f"{number[:5]}-{number[5:]}")


def check_date(inp: Input) -> Valid | None:
    found = _DATE.match(inp.text.strip())
    if not found:
        return None
    day, month, year = (int(g) for g in found.groups())
    try:
        date(year, month, day)
    except ValueError:
        return None
    return Valid(f"{day:02d}/{month:02d}/{year:04d}")


def check_phone(inp: Input) -> Valid | None:
    text = inp.text.strip()
    if not text or not _PHONE_CHARS.match(text):
        return None
    number = digits(text).lstrip("0")  # "0xx11..." carrier prefixes
    if len(number) in (12, 13) and number.startswith("55"):
        number = number[2:]
    if len(number) not in (10, 11) or "0" in number[:2]:
        return None
    local = number[2:]
    mobile = len(local) == 9 and local[0] == "9"
    landline = len(local) == 8 and local[0] in "2345"
    if not (mobile or landline):
        return None
    return Valid(f"({number[:2]}) {local[:-4]}-{local[-4:]}")


def check_email(inp: Input) -> Valid | None:
    text = inp.text.strip()
    if len(text) > 254 or not _EMAIL.match(text):
        return None
    user, _, domain = text.rpartition("@")
    return Valid(f"{user}@{domain.lower()}")


def check_yesno(inp: Input, node_id: str, messages: Messages) -> Valid | None:
    if inp.choice_id == f"{node_id}:yes" or one_of(inp.text, (messages.yes, *messages.yes_words)):
        return Valid(messages.yes)
    if inp.choice_id == f"{node_id}:no" or one_of(inp.text, (messages.no, *messages.no_words)):
        return Valid(messages.no)
    return None


def check_file(inp: Input) -> Valid | None:
    media = inp.media
    if media is None or media.kind not in _FILE_KINDS:
        return None
    return Valid(media.filename or media.ref, media)


def check_photo(inp: Input) -> Valid | None:
    media = inp.media
    if media is None:
        return None
    is_image = media.kind == "image" or (
        media.kind == "document" and media.mime.startswith("image/")
    )
    return Valid(media.filename or media.ref, media) if is_image else None


def check_location(inp: Input) -> Valid | None:
    place = inp.location
    if place is None:
        return None
    where = ", ".join(p for p in (place.name, place.address) if p)
    link = f"https://maps.google.com/?q={place.latitude:.6f},{place.longitude:.6f}"
    return Valid(f"{where} ({link})" if where else link)


_SIMPLE: dict[str, Callable[[Input], Valid | None]] = {
    "number": check_number,
    "cpf": check_cpf,
    "cep": check_cep,
    "date": check_date,
    "phone": check_phone,
    "email": check_email,
    "file": check_file,
    "photo": check_photo,
    "location": check_location,
}


def check(kind: str, inp: Input, node_id: str, messages: Messages, max_length: int) -> Valid | None:
    """Validate `inp` as an answer of `kind` (one of the flow's validation names)."""
    if kind == "text":
        return check_text(inp, max_length)
    if kind == "yesno":
        return check_yesno(inp, node_id, messages)
    return _SIMPLE[kind](inp)
