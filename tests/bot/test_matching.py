from __future__ import annotations

import pytest

from bot.matching import Choice, by_id, keyword_hit, normalize, one_of, pick
from bot.model import Keyword

CHOICES = [
    Choice("cadunico", 1, "Cadastro Único", ("bolsa família", "nis")),
    Choice("iluminacao", 2, "Iluminação Pública", ("luz", "poste")),
    Choice("castracao", 3, "Castração de animais", ("castrar",)),
    Choice("duvidas", 4, "Dúvidas frequentes"),
    Choice("atualizar", 5, "Atualizar cadastro"),
]


def test_normalize_drops_accents_case_punctuation_and_keycaps() -> None:
    assert normalize("  Iluminação   PÚBLICA!! ") == "iluminacao publica"
    assert normalize("2️⃣") == "2"
    assert normalize("opção_2.") == "opcao 2"
    assert normalize("👍") == ""


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("2", "iluminacao"),  # number
        ("2.", "iluminacao"),
        ("iluminação pública", "iluminacao"),  # title, any case/accents
        ("ILUMINACAO PUBLICA", "iluminacao"),
        ("bolsa familia", "cadunico"),  # synonym
        ("a luz do meu poste apagou", "iluminacao"),  # synonym inside a sentence
        ("iluminasao publca", "iluminacao"),  # misspelt: fuzzy
        ("castracao", "castracao"),  # partial title: fuzzy
        ("duvidas", "duvidas"),
        ("9", None),  # no such number
        ("cadastro", None),  # ambiguous: two options say "cadastro"
        ("bom dia", None),
        ("ok", None),  # too short for a fuzzy guess
        ("", None),
        ("፩", None),  # a digit to str.isdigit(), not to int(): no crash
    ],
)
def test_pick(typed: str, key: str | None) -> None:
    found = pick(typed, CHOICES, threshold=85)
    assert (found.key if found else None) == key


def test_threshold_is_respected() -> None:
    assert pick("iluminasao publca", CHOICES, threshold=99) is None


def test_by_id_only_accepts_this_nodes_ids() -> None:
    assert by_id("menu:castracao", "menu", CHOICES) == CHOICES[2]
    assert by_id("other:castracao", "menu", CHOICES) is None
    assert by_id(None, "menu", CHOICES) is None


KEYWORDS = [
    Keyword(("violência doméstica",), "urgent", "contains"),
    Keyword(("urgente",), "urgent", "start"),
    Keyword(("menu", "voltar"), "menu", "exact"),
]


@pytest.mark.parametrize(
    ("typed", "goto"),
    [
        ("Menu", "menu"),
        ("VOLTAR!", "menu"),
        ("menu principal por favor", None),
        ("urgente: meu vizinho", "urgent"),
        ("é urgente", None),
        ("sofro violencia domestica em casa", "urgent"),
        ("", None),
    ],
)
def test_keywords(typed: str, goto: str | None) -> None:
    hit = keyword_hit(typed, KEYWORDS)
    assert (hit.goto if hit else None) == goto


def test_one_of() -> None:
    assert one_of(" Não ", ["nao", "n"])
    assert not one_of("", ["", "x"])
