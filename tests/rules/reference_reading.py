"""The title reader as it was before the one-pass rewrite, kept as a test oracle.

It matches each part of a title on its own and the whole title again for categories,
re-tokenising each time: slow, but its results are what the one-pass reader in
:mod:`rules.titles` must give, title for title. Token folding, the phrase tables and the
one-slip index are shared with the engine; the matching and the name reading are the
old ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rules.model import Policy
from rules.noise import CONNECTORS as _CONNECTORS
from rules.noise import NOISE as _NOISE
from rules.noise import NOISE_MAX_TOKENS as _NOISE_MAX_TOKENS
from rules.noise import UNITS as _UNITS
from rules.slips import SlipIndex, deletions
from rules.vocabulary import (
    _FUZZY_MIN_LENGTH,
    _keys_of,
    _targets_of,
    tokenize,
)

_SEGMENT_BREAK = re.compile(r"\s[-–—]+\s|[–—:|/+&()]|\s-|-\s|\b(?:w/|with|for)\b", re.IGNORECASE)
_NAME_CHARS = re.compile(r"[^\w'’ -]+")
_NAME_WORDS = range(2, 5)

Hit = tuple[int, int, str, bool]


class _Index:
    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = frozenset(keys)
        self.openings = frozenset(key[:end] for key in self.keys for end in range(1, len(key)))
        long = [key for key in self.keys if len(key) >= _FUZZY_MIN_LENGTH]
        self.fuzzy = SlipIndex(long)
        self.max_length = max((len(key) for key in self.keys), default=0) + 1
        # The old, looser pre-checks: a token opens (closes) a window when it or one of its
        # deletions is a proper prefix (suffix) of a phrase or one of their deletions.
        self.heads = _neighbourhood(key[:end] for key in long for end in range(1, len(key)))
        self.tails = _neighbourhood(key[start:] for key in long for start in range(1, len(key)))

    def resolved(self, tokens: Sequence[str], blocked: frozenset[int]) -> list[Hit]:
        exact = _pick(self._exact(tokens, blocked), longest_first=True)
        taken = blocked | {i for hit in exact for i in range(hit[0], hit[1])}
        fuzzy = _pick(self._fuzzy(tokens, taken), longest_first=False)
        return sorted(exact + fuzzy, key=lambda hit: hit[0])

    def _exact(self, tokens: Sequence[str], blocked: frozenset[int]) -> list[Hit]:
        found: list[Hit] = []
        for start in range(len(tokens)):
            joined = ""
            for end in range(start + 1, len(tokens) + 1):
                if end - 1 in blocked:
                    break
                joined += tokens[end - 1]
                if joined in self.keys:
                    found.append((start, end, joined, True))
                if joined not in self.openings:
                    break
        return found

    def _fuzzy(self, tokens: Sequence[str], taken: frozenset[int]) -> list[Hit]:
        found: list[Hit] = []
        for start, token in enumerate(tokens):
            if start in taken:
                continue
            found += ((start, start + 1, key, False) for key in self.fuzzy.facts(token).near)
            if _variants(token).isdisjoint(self.heads):
                continue
            joined = token
            for end in range(start + 2, len(tokens) + 1):
                if end - 1 in taken:
                    break
                joined += tokens[end - 1]
                if len(joined) > self.max_length:
                    break
                if not _variants(tokens[end - 1]).isdisjoint(self.tails):
                    found += ((start, end, key, False) for key in self.fuzzy.near(joined))
        return found


def _variants(word: str) -> set[str]:
    return deletions(word) | {word}


def _neighbourhood(words: Iterable[str]) -> frozenset[str]:
    return frozenset(variant for word in words for variant in _variants(word))


def _pick(candidates: list[Hit], *, longest_first: bool) -> list[Hit]:
    def rank(hit: Hit) -> tuple[int, int, int]:
        span = hit[1] - hit[0]
        return (-span if longest_first else span, -len(hit[2]), hit[0])

    chosen: list[Hit] = []
    used: set[int] = set()
    for hit in sorted(candidates, key=rank):
        span = range(hit[0], hit[1])
        if not used.intersection(span):
            chosen.append(hit)
            used.update(span)
    return chosen


@dataclass(frozen=True)
class _Left:
    words: tuple[str, ...]
    lenient: tuple[str, ...]
    named: bool


class ReferenceReader:
    """Categories and name of a title, the old way."""

    def __init__(self, policy: Policy) -> None:
        self._targets = _targets_of(policy)
        self._phrases = _Index(self._targets)
        self._services = _Index(_keys_of(policy.services))

    def hits(self, tokens: Sequence[str]) -> list[tuple[str | None, str, int, int, bool]]:
        return [
            (target.category, target.phrase, start, end, exact)
            for start, end, key, exact in self._phrases.resolved(tokens, frozenset())
            for target in self._targets[key]
        ]

    def categories_of_text(self, text: str) -> frozenset[str]:
        found: set[str] = set()
        excluded: set[str] = set()
        for _, _, key, _ in self._phrases.resolved(tokenize(text), frozenset()):
            for target in self._targets[key]:
                if target.category is None:
                    excluded |= target.excludes
                else:
                    found.add(target.category)
        return frozenset(found - excluded)

    def name_words(self, title: str) -> tuple[str, ...]:
        return self._left(tokenize(title)).words

    def name(self, title: str) -> str | None:
        chunks = [
            [(text, self._left(tokenize(text))) for text in chunk.split(",")]
            for chunk in _SEGMENT_BREAK.split(title)
        ]
        name = _name_of(chunks, lenient=False)
        if name is None and any(left.lenient != left.words for c in chunks for _, left in c):
            name = _name_of(chunks, lenient=True)
        return name

    def _left(self, tokens: Sequence[str]) -> _Left:
        hits = self._phrases.resolved(tokens, frozenset())
        removed = {i for hit in hits for i in range(hit[0], hit[1])}
        doubtful: set[int] = set()
        services = self._services.resolved(tokens, frozenset(removed))
        for start, end, _, exact in services:
            (removed if exact else doubtful).update(range(start, end))
        removed |= _noise(tokens)
        kept = [
            i for i, token in enumerate(tokens) if i not in removed and token not in _CONNECTORS
        ]
        lenient = tuple(tokens[i] for i in kept)
        words = tuple(tokens[i] for i in kept if i not in doubtful)
        return _Left(words, lenient, bool(hits or services))


def _noise(tokens: Sequence[str]) -> set[int]:
    removed: set[int] = set()
    for i, token in enumerate(tokens):
        beside = any(0 <= j < len(tokens) and tokens[j].isdigit() for j in (i - 1, i + 1))
        if token.isdigit() or (token in _UNITS and beside):
            removed.add(i)
        for end in range(i + 1, min(i + _NOISE_MAX_TOKENS, len(tokens)) + 1):
            if "".join(tokens[i:end]) in _NOISE:
                removed.update(range(i, end))
    return removed


def _name_of(chunks: list[list[tuple[str, _Left]]], *, lenient: bool) -> str | None:
    def words(left: _Left) -> tuple[str, ...]:
        return left.lenient if lenient else left.words

    parts = [(text, left) for chunk in chunks for text, left in chunk]
    for named in (False, True):
        whole = [(t, lf) for t, lf in parts if lf.named is named and len(words(lf)) in _NAME_WORDS]
        if whole:
            if len({" ".join(sorted(words(lf))) for _, lf in whole}) != 1:
                return None
            text, left = whole[0]
            cleaned = " ".join(_NAME_CHARS.sub(" ", text).split())
            if tuple(tokenize(cleaned)) == words(left):
                return cleaned
            return " ".join(word.capitalize() for word in words(left))
    joined = [
        found
        for chunk in chunks
        if len(found := tuple(w for _, lf in chunk if not lf.named for w in words(lf)))
        in _NAME_WORDS
    ]
    if joined and len({" ".join(sorted(words)) for words in joined}) == 1:
        return " ".join(word.capitalize() for word in joined[0])
    return None
