from __future__ import annotations

import pytest

from bot.engine import Input, Location, Media
from bot.validators import (
    Valid,
    check,
    check_cep,
    check_cpf,
    check_date,
    check_email,
    check_file,
    check_location,
    check_number,
    check_phone,
    check_photo,
    check_text,
    cpf_is_valid,
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("529.982.247-25", "529.982.247-25"),
        ("52998224725", "529.982.247-25"),
        (" 529 982 247 25 ", "529.982.247-25"),
        ("111.444.777-35", "111.444.777-35"),
        ("123.456.789-00", None),  # wrong check digits
        ("111.111.111-11", None),  # repeated digits pass the arithmetic but are invalid
        ("5299822472", None),
        ("529.982.247-2a", None),
        ("", None),
        # as people type them: other separators, a label, a full stop
        ("529.982.247.25", "529.982.247-25"),
        ("529-982-247-25", "529.982.247-25"),
        ("CPF: 529.982.247-25", "529.982.247-25"),
        ("cpf 52998224725.", "529.982.247-25"),
        ("meu cpf é 529.982.247-25", None),  # a sentence: asked again, not guessed
        ("529.982.247-25 e 111.444.777-35", None),
    ],
)
def test_cpf(typed: str, stored: str | None) -> None:
    valid = check_cpf(Input(typed))
    assert (valid.value if valid else None) == stored


def test_cpf_check_digits_directly() -> None:
    assert cpf_is_valid("52998224725")
    assert not cpf_is_valid("52998224726")
    assert not cpf_is_valid("00000000000")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("01310-100", "01310-100"),
        ("01310100", "01310-100"),
        ("01.310-100", "01310-100"),
        ("0131010", None),
        ("00000-000", None),
        ("CEP 01310-100", "01310-100"),
        ("01310.100", "01310-100"),
        ("cep: 01310100", "01310-100"),
        ("01310-1000", None),
        ("Rua 1, 01310-100", None),
        ("CEP 01310 100", "01310-100"),
        ("12/03/1990", None),  # a date: no check digit would catch it, the shape does
        ("01.01.2000", None),
        ("3333-4444", None),  # a phone number
    ],
)
def test_cep(typed: str, stored: str | None) -> None:
    valid = check_cep(Input(typed))
    assert (valid.value if valid else None) == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("25/12/1980", "25/12/1980"),
        ("1/2/2000", "01/02/2000"),
        ("29-02-2024", "29/02/2024"),
        ("05.10.1988", "05/10/1988"),
        ("29/02/2023", None),
        ("31/04/2020", None),
        ("25/12/80", None),
        ("1980-12-25", None),
        ("ontem", None),
    ],
)
def test_date(typed: str, stored: str | None) -> None:
    valid = check_date(Input(typed))
    assert (valid.value if valid else None) == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("11 91234-5678", "(11) 91234-5678"),
        ("(21) 3123-4567", "(21) 3123-4567"),
        ("+55 11 91234-5678", "(11) 91234-5678"),
        ("5511912345678", "(11) 91234-5678"),
        ("011 91234 5678", "(11) 91234-5678"),
        ("91234-5678", None),
        ("11 81234-5678", None),
        ("01 91234-5678", None),
        ("11 1234-5678", None),
        ("telefone 11 91234-5678", None),
    ],
)
def test_phone(typed: str, stored: str | None) -> None:
    valid = check_phone(Input(typed))
    assert (valid.value if valid else None) == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("maria@Exemplo.COM.br", "maria@exemplo.com.br"),
        (" joao.silva+156@gov.br ", "joao.silva+156@gov.br"),
        ("maria@exemplo", None),
        ("maria exemplo.com", None),
        ("@exemplo.com", None),
    ],
)
def test_email(typed: str, stored: str | None) -> None:
    valid = check_email(Input(typed))
    assert (valid.value if valid else None) == stored


@pytest.mark.parametrize(
    ("typed", "ok"),
    [
        ("2", True),
        ("-3", True),
        ("1,5", True),
        ("10.25", True),
        ("dois", False),
        ("2 3", True),
        ("", False),
        ("1.2.3", False),
    ],
)
def test_number(typed: str, ok: bool) -> None:
    assert (check_number(Input(typed)) is not None) == ok


def test_text_needs_words_and_respects_max_length() -> None:
    assert check_text(Input("  Maria  "), 100).value == "Maria"  # type: ignore[union-attr]
    assert check_text(Input("   "), 100) is None
    assert check_text(Input("x" * 11), 10) is None
    photo = Media("image", "m1", "image/jpeg")
    assert check_text(Input(media=photo), 100) is None


def test_files_photos_and_locations() -> None:
    pdf = Media("document", "d1", "application/pdf", "rg.pdf")
    scan = Media("document", "d2", "image/png", "rg.png")
    photo = Media("image", "i1", "image/jpeg")
    sticker = Media("sticker", "s1", "image/webp")
    assert check_file(Input(media=pdf)).media == pdf  # type: ignore[union-attr]
    assert check_file(Input(media=photo)) is not None
    assert check_file(Input(media=sticker)) is None
    assert check_file(Input("rg.pdf")) is None
    assert check_photo(Input(media=photo)).value == "i1"  # type: ignore[union-attr]
    assert check_photo(Input(media=scan)) is not None
    assert check_photo(Input(media=pdf)) is None
    here = Location(-23.5505, -46.6333, "Praça da Sé", None)
    assert check_location(Input(location=here)).value == (  # type: ignore[union-attr]
        "Praça da Sé (https://maps.google.com/?q=-23.550500,-46.633300)"
    )
    assert check_location(Input("Rua A, 10")) is None


def test_yesno_by_tap_word_or_title(default_flow) -> None:  # type: ignore[no-untyped-def]
    messages = default_flow.messages
    assert check("yesno", Input(choice_id="q:yes"), "q", messages, 0).value == "Sim"  # type: ignore[union-attr]
    assert check("yesno", Input("NÃO"), "q", messages, 0).value == "Não"  # type: ignore[union-attr]
    assert check("yesno", Input("isso mesmo"), "q", messages, 0).value == "Sim"  # type: ignore[union-attr]
    assert check("yesno", Input("talvez"), "q", messages, 0) is None


def test_a_location_pin_answers_a_text_question_and_other_shown_things_do_not() -> None:
    pin = Input(shown="📍 -23.55, -46.63 (Praça da Sé)", location=Location(-23.55, -46.63))
    assert check_text(pin, 500) == Valid("📍 -23.55, -46.63 (Praça da Sé)")
    assert check_text(Input(shown="[pool]"), 500) is None
