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
from typing import NamedTuple

from rules.vocabulary import Leftover, Matcher, normalize, tokenize

__all__ = ["TitleReader", "TitleReading", "name_key"]

_NAME_WORDS = range(2, 5)
# Where a title's parts meet: dashes between spaces, other separators, and the connecting
# words. A hyphen inside a word joins a name. A comma parts a title too, but may also part
# one name ("O'Brien, Siobhan"), so it is kept apart. The group keeps the separators.
_BREAK = re.compile(r"(\s[-–—]+\s|[–—:|/+&()]|\s-|-\s|\b(?:w/|with|for)\b)", re.IGNORECASE)
# The same breaks in ASCII text, spelt out so that matching needs no case folding and
# fails fast where no break can start.
_ASCII_BREAK = re.compile(
    r"(?=[\s:|/+&()\-wWfF])(\s-+\s|[:|/+&()]|\s-|-\s|\b(?:[wW]/|[wW][iI][tT][hH]|[fF][oO][rR])\b)"
)
_NAME_CHARS = re.compile(r"[^\w'’ -]+")


def name_key(name: str) -> str:
    """Names compare after NFKD, accents removed, case folded, spaces collapsed (SPEC §4).

    Word order is ignored too, so "O'Brien, Siobhan" and "Siobhan O'Brien" meet.
    """
    return " ".join(sorted(normalize(name).replace(",", " ").split()))


class TitleReading(NamedTuple):
    """What a title says: the categories it names, and its patient's name if it gives one.

    A named tuple, immutable, because one is made per title read (see ``Leftover``).
    """

    categories: frozenset[str]
    name: str | None
    """As staff wrote it when the part is only the name, else its words capitalised."""
    name_key: str | None
    """The name as names compare (:func:`name_key`)."""


class TitleReader:
    """Reads titles with one policy's :class:`~rules.vocabulary.Matcher`; remembers nothing."""

    def __init__(self, matcher: Matcher) -> None:
        self._matcher = matcher

    def read(self, title: str) -> TitleReading:
        cut = _Cut(title)
        scan = self._matcher.scan(cut.tokens, cut.spans)
        categories = scan.categories if cut.whole else self._matcher.categories_of_text(title)
        name = _name_of(cut, scan.parts, lenient=False)
        if name is None and any(left.lenient is not left.words for left in scan.parts):
            name = _name_of(cut, scan.parts, lenient=True)
        return TitleReading(categories, name, name_key(name) if name else None)


class _Cut:
    """A title cut into parts: each part's text and chunk (parts a comma splits share one),
    all tokens in order with each part's span of them, and whether those tokens are
    exactly the title's own (they are unless a connecting word touches an apostrophe,
    "d'with", which the title reads as one word)."""

    __slots__ = ("chunks", "spans", "texts", "tokens", "whole")

    def __init__(self, title: str) -> None:
        self.texts: list[str] = []
        self.chunks: list[int] = []
        self.tokens: list[str] = []
        self.spans: list[tuple[int, int]] = []
        self.whole = True
        pieces = (_ASCII_BREAK if title.isascii() else _BREAK).split(title)
        for index, piece in enumerate(pieces):
            if index % 2:
                if piece[:1].isalpha():  # "with", "for", "w/": tokens between the parts
                    self.tokens += tokenize(piece)
                    self.whole = self.whole and not _touches_apostrophe(pieces, index)
                continue
            for text in piece.split(",") if "," in piece else (piece,):
                found = tokenize(text)
                start = len(self.tokens)
                self.texts.append(text)
                self.chunks.append(index)
                self.spans.append((start, start + len(found)))
                self.tokens += found


def _touches_apostrophe(pieces: Sequence[str], index: int) -> bool:
    before, after = pieces[index - 1][-1:], pieces[index + 1][:1]
    return "'" in normalize(before + after)


def _name_of(cut: _Cut, lefts: Sequence[Leftover], *, lenient: bool) -> str | None:
    words = [left.lenient if lenient else left.words for left in lefts]
    for named in (False, True):
        whole = [
            number
            for number, left in enumerate(lefts)
            if left.named is named and len(words[number]) in _NAME_WORDS
        ]
        if whole:
            if len(whole) > 1 and not _one_name(words[number] for number in whole):
                return None
            first = whole[0]
            return _as_written(cut.texts[first], cut.spans[first], words[first])
    joined: dict[int, list[str]] = {}
    for number, left in enumerate(lefts):
        if not left.named:
            joined.setdefault(cut.chunks[number], []).extend(words[number])
    names = [tuple(found) for found in joined.values() if len(found) in _NAME_WORDS]
    if names and _one_name(names):
        return " ".join(word.capitalize() for word in names[0])
    return None


def _one_name(names: Iterable[tuple[str, ...]]) -> bool:
    """All these word sequences are one name as names compare."""
    return len({" ".join(sorted(words)) for words in names}) == 1


def _as_written(text: str, span: tuple[int, int], words: tuple[str, ...]) -> str:
    """The part as staff wrote it when it is only the name, else the folded words.

    Nothing was taken out of the part when it has as many tokens as name words; only a
    part with non-ASCII text can still tokenise differently once cleaned (a "‘" inside a
    word), so only that one is checked again.
    """
    if span[1] - span[0] == len(words):
        cleaned = " ".join(_NAME_CHARS.sub(" ", text).split())
        if text.isascii() or tokenize(cleaned) == words:
            return cleaned
    return " ".join(word.capitalize() for word in words)
