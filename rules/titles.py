"""Reading a booking's title once: its treatment categories and its patient's name (SPEC §3, §4).

A title has parts ("Botox 20u - Jane Doe", "Jeuveau (new pt) Jane Doe"): staff separate
them with dashes, bars, slashes, colons, pluses, ampersands, parentheses and the words
"w/", "with" and "for". :class:`TitleReader` cuts a title into its parts, folds and
tokenises each part once, and hands all the tokens to :meth:`rules.vocabulary.Matcher.scan`,
which finds the categories of the whole title and what each part leaves for a name in
one walk. The name is then chosen among the parts (SPEC §4 point 4):

* a part that holds no treatment or service and 2 to 4 words is the name;
* failing one, 2 to 4 words left beside a treatment ("Botox Jane Doe");
* failing that, the one-word parts a comma splits ("O'Brien, Siobhan");
* two parts of the same rank that could each be a different name give no name at all;
* a word one slip from a service ("Miller" for "filler") is kept only when the title has
  no name without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rules.vocabulary import Leftover, Matcher, normalize, tokenize

__all__ = ["TitleReader", "TitleReading", "name_key"]

_NAME_WORDS = range(2, 5)
# Where a title's parts meet: dashes between spaces, other separators, and the connecting
# words. A hyphen inside a word joins a name. A comma parts a title too, but may also part
# one name ("O'Brien, Siobhan"), so it is kept apart. The group keeps the separators.
_BREAK = re.compile(r"(\s[-–—]+\s|[–—:|/+&()]|\s-|-\s|\b(?:w/|with|for)\b)", re.IGNORECASE)
_NAME_CHARS = re.compile(r"[^\w'’ -]+")


def name_key(name: str) -> str:
    """Names compare after NFKD, accents removed, case folded, spaces collapsed (SPEC §4).

    Word order is ignored too, so "O'Brien, Siobhan" and "Siobhan O'Brien" meet.
    """
    words = re.split(r"[\s,]+", normalize(name))
    return " ".join(sorted(word for word in words if word))


@dataclass(frozen=True, slots=True)
class TitleReading:
    """What a title says: the categories it names, and its patient's name if it gives one."""

    categories: frozenset[str]
    name: str | None
    """As staff wrote it when the part is only the name, else its words capitalised."""
    name_key: str | None
    """The name as names compare (:func:`name_key`)."""


@dataclass(frozen=True, slots=True)
class _Part:
    text: str
    chunk: int
    """Parts a comma splits share a chunk."""
    tokens: int
    left: Leftover

    def words(self, lenient: bool) -> tuple[str, ...]:
        return self.left.lenient if lenient else self.left.words


class TitleReader:
    """Reads titles with one policy's :class:`~rules.vocabulary.Matcher`; remembers nothing."""

    def __init__(self, matcher: Matcher) -> None:
        self._matcher = matcher

    def read(self, title: str) -> TitleReading:
        texts, chunks, tokens, spans, whole = _cut(title)
        scan = self._matcher.scan(tokens, spans)
        categories = scan.categories if whole else self._matcher.categories_of_text(title)
        parts = [
            _Part(text, chunk, hi - lo, left)
            for text, chunk, (lo, hi), left in zip(texts, chunks, spans, scan.parts, strict=True)
        ]
        name = _name_of(parts, lenient=False)
        if name is None and any(part.left.lenient != part.left.words for part in parts):
            name = _name_of(parts, lenient=True)
        return TitleReading(categories, name, name_key(name) if name else None)


def _cut(title: str) -> tuple[list[str], list[int], list[str], list[tuple[int, int]], bool]:
    """The title's parts, their chunks, all tokens in order, each part's token span, and
    whether those tokens are exactly the title's own (they are unless a connecting word
    touches an apostrophe, "d'with", which the title reads as one word)."""
    texts: list[str] = []
    chunks: list[int] = []
    tokens: list[str] = []
    spans: list[tuple[int, int]] = []
    whole = True
    pieces = _BREAK.split(title)
    for index, piece in enumerate(pieces):
        if index % 2:
            if piece[:1].isalpha():  # "with", "for", "w/": tokens between the parts
                tokens += tokenize(piece)
                whole = whole and not _touches_apostrophe(pieces, index)
            continue
        for text in piece.split(","):
            found = tokenize(text)
            texts.append(text)
            chunks.append(index)
            spans.append((len(tokens), len(tokens) + len(found)))
            tokens += found
    return texts, chunks, tokens, spans, whole


def _touches_apostrophe(pieces: Sequence[str], index: int) -> bool:
    before, after = pieces[index - 1][-1:], pieces[index + 1][:1]
    return "'" in normalize(before + after)


def _name_of(parts: Sequence[_Part], *, lenient: bool) -> str | None:
    for named in (False, True):
        whole = [p for p in parts if p.left.named is named and len(p.words(lenient)) in _NAME_WORDS]
        if whole:
            first = whole[0]
            if not _one_name(part.words(lenient) for part in whole):
                return None
            return _as_written(first, first.words(lenient))
    joined: dict[int, list[str]] = {}
    for part in parts:
        if not part.left.named:
            joined.setdefault(part.chunk, []).extend(part.words(lenient))
    names = [tuple(words) for words in joined.values() if len(words) in _NAME_WORDS]
    if names and _one_name(names):
        return " ".join(word.capitalize() for word in names[0])
    return None


def _one_name(names: Iterable[tuple[str, ...]]) -> bool:
    """All these word sequences are one name as names compare."""
    return len({" ".join(sorted(words)) for words in names}) == 1


def _as_written(part: _Part, words: tuple[str, ...]) -> str:
    """The part as staff wrote it when it is only the name, else the folded words.

    Nothing was taken out of the part when it has as many tokens as name words; only a
    part with non-ASCII text can still tokenise differently once cleaned (a "‘" inside a
    word), so only that one is checked again.
    """
    if part.tokens == len(words):
        cleaned = " ".join(_NAME_CHARS.sub(" ", part.text).split())
        if part.text.isascii() or tokenize(cleaned) == words:
            return cleaned
    return " ".join(word.capitalize() for word in words)
