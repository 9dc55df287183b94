"""Phone numbers as people read them: E.164, and Brazilian mobiles with their ninth digit.

WhatsApp accounts registered before Brazil added the leading 9 to mobiles (2012-2016) kept
the old 8-digit form as their `wa_id` (55 + area + 8 digits; contract §10.5). Sends keep
using the `wa_id` Meta gave; what agents see, and what Rocket.Chat stores on the visitor,
is the number as it is dialled today, checked with phonenumbers (Google's libphonenumber).
"""

from __future__ import annotations

import phonenumbers

BRAZIL = "55"


def display(wa_id: str) -> str:
    """`+<E.164>` for a phone-number wa_id (with the 9 restored where it is missing);
    anything that is not a valid number (a business-scoped user id) as it came."""
    if not wa_id.isdigit():
        return wa_id
    for candidate in (with_ninth_digit(wa_id), wa_id):
        if candidate is None:
            continue
        try:
            number = phonenumbers.parse(f"+{candidate}")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"+{wa_id}"


def with_ninth_digit(wa_id: str) -> str | None:
    """55 + two-digit area + 8 digits starting 6-9 (an old mobile): the 9 goes back in.
    Landlines (starting 2-5) keep 8 digits."""
    if wa_id.startswith(BRAZIL) and len(wa_id) == 12 and wa_id[4] in "6789":
        return f"{wa_id[:4]}9{wa_id[4:]}"
    return None
