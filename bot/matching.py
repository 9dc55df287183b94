"""Recognising what a citizen meant: keywords, and which option of a menu they picked.

Order for an option: the tapped button/row id, the typed number, the exact title, a
declared synonym, a title/synonym said inside a longer sentence, then a fuzzy match
(rapidfuzz) tolerant of accents, case and typos. Ambiguous guesses return None, because
re-asking is cheaper than sending a citizen down the wrong path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.model import Keyword

_NOT_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")
_MIN_FUZZY_LENGTH = 3
_AMBIGUITY_MARGIN = 3.0


@dataclass(frozen=True)
class Choice:
    """One option as the matcher sees it."""

    key: str  # unique inside the node; the wire id is "<node>:<key>"
    number: int  # what a citizen types to pick it
    title: str
    synonyms: tuple[str, ...] = ()

    def phrases(self) -> list[str]:
        return [p for p in (normalize(t) for t in (self.title, *self.synonyms)) if p]


def normalize(text: str) -> str:
    """Lower case, no accents, no punctuation or emoji, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Me"))
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", bare).replace("_", " ")).strip()


def one_of(text: str, words: Iterable[str]) -> bool:
    """Whether `text` is, once normalised, one of `words`."""
    norm = normalize(text)
    return bool(norm) and norm in {normalize(w) for w in words}


def keyword_hit(text: str, keywords: Sequence[Keyword]) -> Keyword | None:
    """The first keyword group (in file order) whose words match `text`."""
    norm = normalize(text)
    if not norm:
        return None
    for keyword in keywords:
        if any(_says(norm, normalize(word), keyword.match) for word in keyword.words):
            return keyword
    return None


def _says(norm: str, word: str, how: str) -> bool:
    if not word:
        return False
    if how == "exact":
        return norm == word
    if how == "start":
        return norm == word or norm.startswith(word + " ")
    return f" {word} " in f" {norm} "


def by_id(choice_id: str | None, node_id: str, choices: Sequence[Choice]) -> Choice | None:
    if choice_id is None:
        return None
    return next((c for c in choices if f"{node_id}:{c.key}" == choice_id), None)


def pick(text: str, choices: Sequence[Choice], threshold: int) -> Choice | None:
    """The option `text` designates, or None when nothing (or more than one) fits."""
    norm = normalize(text)
    if not norm:
        return None
    found = _exact(norm, choices)
    if found is not None or norm.isdecimal():  # a number names one option or none
        return found
    return _contained(norm, choices) or _fuzzy(norm, choices, threshold)


def pick_exactly(text: str, choices: Sequence[Choice]) -> Choice | None:
    """The option `text` is (its number, title or a synonym), nothing looser: a rating
    must not be read into a sentence ("Bom dia, preciso de outra coisa" is no "Bom", and
    "não foi bom" is not one either)."""
    return _exact(normalize(text), choices)


def _exact(norm: str, choices: Sequence[Choice]) -> Choice | None:
    if norm.isdecimal():  # isdigit() admits '፩', which int() refuses
        return next((c for c in choices if c.number == int(norm)), None)
    return next((c for c in choices if norm and norm in c.phrases()), None)


def _contained(norm: str, choices: Sequence[Choice]) -> Choice | None:
    # "a lampada do meu poste esta apagada" names the option "Lâmpada apagada"? Only when
    # one option's phrase appears whole, and the longest such phrase is unambiguous.
    hits: list[tuple[int, Choice]] = []
    for choice in choices:
        found = [len(p) for p in choice.phrases() if f" {p} " in f" {norm} "]
        if found:
            hits.append((max(found), choice))
    hits.sort(key=lambda hit: hit[0], reverse=True)
    if not hits or (len(hits) > 1 and hits[0][0] == hits[1][0]):
        return None
    return hits[0][1]


def _fuzzy(norm: str, choices: Sequence[Choice], threshold: int) -> Choice | None:
    if len(norm) < _MIN_FUZZY_LENGTH:
        return None
    scored = sorted(
        ((max(fuzz.WRatio(norm, p) for p in c.phrases()), c) for c in choices if c.phrases()),
        key=lambda pair: pair[0],
        reverse=True,
    )
    if not scored or scored[0][0] < threshold:
        return None
    if len(scored) > 1 and scored[1][0] >= scored[0][0] - _AMBIGUITY_MARGIN:
        return None
    return scored[0][1]
