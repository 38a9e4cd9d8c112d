"""Treatment vocabulary: how booking text is normalised and matched to categories (SPEC §3).

Staff write "Botox/Dysport", "Botox 20u", "Micro-Needling (SkinPen®)", "💉Bótox✨" or
"Xeomen". Matching therefore works on word tokens, not on raw text:

* :func:`normalize` folds case and accents and collapses white space;
* :func:`tokenize` cuts the normalised text into runs of letters or digits (also at a
  letter/digit boundary, so "botox20u" is ``botox 20 u``); anything else separates;
* a policy phrase is compared by its tokens joined without spaces against windows of
  consecutive text tokens joined the same way, so spacing and hyphens never matter but a
  phrase never matches inside a longer word ("tox" is not in "detox");
* a phrase of six characters or more also matches at optimal-string-alignment distance 1
  (one letter inserted, deleted, replaced, or two neighbours swapped), found through a
  precomputed single-deletion index (the SymSpell idea) and then verified.

:class:`Matcher` compiles a :class:`~rules.model.Policy` once — every joined form it knows
(treatment phrases, exclusion words, the clinic's other services of SPEC §4, booking
noise) in one table with the prefixes that lead to them, the long ones in one one-slip
index — and then reads text in one walk over its tokens: which categories a booking's
title and ``Service:``/``Treatment:`` lines name, after the exclusion words ("consult",
"cancelled"...) have had their say, and (:meth:`Matcher.scan`, used by
:mod:`rules.titles`) what each part of a title leaves for a patient's name once
treatments, exclusions, services, connectors and noise are taken out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from rules.flag import strip_flag
from rules.model import Policy
from rules.noise import CONNECTORS, NOISE, NOISE_MAX_TOKENS, UNITS
from rules.slips import SlipIndex

__all__ = [
    "Leftover",
    "Matcher",
    "PhraseHit",
    "Scan",
    "name_words",
    "normalize",
    "service_lines",
    "tokenize",
]

_FUZZY_MIN_LENGTH = 6
# Parts of titles remembered per matcher: a clinic's treatments and patients' names.
_PARTS_MEMO_LIMIT = 50_000
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+")
_FIND_TOKENS = _TOKEN.findall
# The same tokens in lower-cased ASCII text, where the Unicode classes are plain ranges.
_FIND_ASCII_TOKENS = re.compile(r"[a-z]+(?:'[a-z]+)*|[0-9]+").findall
_SERVICE_LINE = re.compile(r"^\s*(?:service|treatment)s?\s*:(.*)$", re.IGNORECASE)


def normalize(text: str) -> str:
    """Fold ``text`` for comparison: NFKD, accents dropped, casefolded, spaces collapsed.

    Typographic apostrophes become ``'`` so "O’Brien" and "O'Brien" compare equal.
    """
    return " ".join(_fold(text).split())


def tokenize(text: str) -> tuple[str, ...]:
    """Split normalised ``text`` into word tokens: letter runs (inner ``'`` kept) and digit runs."""
    if text.isascii():  # the common case: folding is lower-casing
        return tuple(_FIND_ASCII_TOKENS(text.lower()))
    return tuple(_FIND_TOKENS(_fold(text)))


def _fold(text: str) -> str:
    if text.isascii():  # the common case: skip the Unicode tables
        return text.lower()
    # Symbols go first: NFKD would turn "Botox™" into "botoxtm".
    spaced = text.translate(_SYMBOLS)
    return unicodedata.normalize("NFKD", spaced).translate(_MARKS).casefold()


class _LazyTable(dict[int, int | None]):
    """A ``str.translate`` table filled one code point at a time by ``decide``.

    Nothing scans Unicode at import, and translating stays in C once a character is known.
    """

    def __init__(self, decide: Callable[[str], int | None], fixed: dict[int, int]) -> None:
        super().__init__(fixed)
        self._decide = decide

    def __missing__(self, code: int) -> int | None:
        value = self._decide(chr(code))
        self[code] = value
        return value


def _space_if_symbol(char: str) -> int:
    return ord(" ") if unicodedata.category(char).startswith("S") else ord(char)


def _drop_if_mark(char: str) -> int | None:
    return None if unicodedata.combining(char) else ord(char)


_SYMBOLS = _LazyTable(_space_if_symbol, {})
_MARKS = _LazyTable(_drop_if_mark, {ord(quote): ord("'") for quote in "’‘ʼ"})


@dataclass(frozen=True, slots=True)
class PhraseHit:
    """One policy phrase (or exclusion word) found in a token sequence.

    ``category`` is ``None`` for an exclusion word; ``start``/``end`` are the token span
    ``[start, end)``; ``exact`` is false when the match needed the one-slip tolerance.
    """

    category: str | None
    phrase: str
    start: int
    end: int
    exact: bool


@dataclass(frozen=True, slots=True)
class _Target:
    """What a joined form stands for: a category's phrase or an exclusion of some categories."""

    category: str | None
    phrase: str
    excludes: frozenset[str]


# A window of tokens ``[start, end)`` whose joined form is ``key``; ``exact`` is false for
# a one-slip match. Plain tuples: a title makes dozens and the engine reads millions.
_Hit = tuple[int, int, str, bool]
_Window = tuple[int, int, str]

# What a joined form is, as bits: one form can be several ("review" is noise and service).
_PHRASE, _SERVICE, _NOISY = 1, 2, 4


# Leftover and Scan are built for every part of every title read: named tuples, immutable
# like the core's frozen dataclasses but made at the cost of a tuple (a frozen dataclass
# pays one object.__setattr__ a field).
class Leftover(NamedTuple):
    """What one part of a title leaves for a name once everything that is not one is out."""

    words: tuple[str, ...]
    """Every phrase, service and noise word taken out."""
    lenient: tuple[str, ...]
    """The same, but keeping words only one slip from a service: "Miller" may not be "filler"."""
    named: bool
    """A treatment, exclusion or service phrase was found: other words may describe it."""


class Scan(NamedTuple):
    """One title read in one pass: its categories, and what each of its parts leaves."""

    categories: frozenset[str]
    parts: tuple[Leftover, ...]


class Matcher:
    """Finds a policy's phrases in booking text (SPEC §3, §4 point 4).

    Build one per policy and reuse it. The constructor compiles every joined form the
    policy knows — treatment phrases, exclusions, the clinic's other services and booking
    noise — into one table with the prefixes that lead to them, and the forms of six
    characters or more into one one-slip index. Reading text is then one walk over its
    tokens: each window grows only while its joined form can still become a known one.

    Overlaps are settled by kind: treatments and exclusions first (exact hits before
    misspelt ones, longer before shorter); services only in the gaps they leave, so
    listing a service never changes what treatment a booking is; noise is taken out
    wherever it is.
    """

    def __init__(self, policy: Policy) -> None:
        self._targets = _targets_of(policy)
        self._effects = {key: _effects(targets) for key, targets in self._targets.items()}
        kinds = dict.fromkeys(self._targets, _PHRASE)
        for key in _keys_of(policy.services):
            kinds[key] = kinds.get(key, 0) | _SERVICE
        for key in NOISE:
            kinds[key] = kinds.get(key, 0) | _NOISY
        self._kinds = kinds
        self._openings = frozenset(key[:end] for key in kinds for end in range(1, len(key)))
        slips = [k for k, kind in kinds.items() if kind != _NOISY and len(k) >= _FUZZY_MIN_LENGTH]
        self._fuzzy = SlipIndex(slips)
        self._leftovers: dict[tuple[str, ...], Leftover] = {}
        self._category_sets: dict[frozenset[str], frozenset[str]] = {}

    def hits(self, tokens: Sequence[str]) -> list[PhraseHit]:
        """All phrase and exclusion hits in ``tokens``, in text order.

        Overlaps are settled first: exact hits win over misspelt ones, longer over shorter,
        so "anti-wrinkle injections" is one hit, not also a slip of "anti-wrinkle injection".
        """
        found, _ = self._phrase_hits(tokens, 0, len(tokens), self._windows(tokens))
        return [
            PhraseHit(target.category, target.phrase, start, end, exact)
            for start, end, key, exact in found
            for target in self._targets[key]
        ]

    def categories_of_text(self, text: str) -> frozenset[str]:
        """Categories named in ``text``, less those its exclusion words rule out."""
        return self._categories_of((text,))

    def categories(self, summary: str, description: str) -> frozenset[str]:
        """Categories of a booking: its title plus ``Service:``/``Treatment:`` description lines.

        The clinic-sync flag block is removed first; other description text never counts.
        An exclusion word in any of these parts rules its categories out for the booking.
        """
        return self._categories_of((summary, *service_lines(description)))

    def scan(self, tokens: Sequence[str], parts: Sequence[tuple[int, int]]) -> Scan:
        """Categories of all ``tokens``, and the leftover of each part ``[lo, hi)`` of them.

        A part is read as if it stood alone (a phrase never spans two parts of a title);
        the categories come from the tokens as one text. Both come out of one walk, unless
        a phrase does span two parts ("micro / needling"): then each part is matched again.
        """
        windows = self._windows(tokens)
        hits, slips = self._phrase_hits(tokens, 0, len(tokens), windows)
        categories = self._categories_from(hits)
        if len(parts) == 1 and parts[0] == (0, len(tokens)):
            left = self._leftover(tokens, 0, len(tokens), windows=windows, hits=hits, slips=slips)
            return Scan(categories, (left,))
        known = self._leftovers
        leftovers = [known.get(tuple(tokens[lo:hi])) for lo, hi in parts]
        if None in leftovers:
            self._fill(tokens, parts, leftovers, windows=windows, hits=hits, slips=slips)
        return Scan(categories, tuple(left for left in leftovers if left is not None))

    def _fill(
        self,
        tokens: Sequence[str],
        parts: Sequence[tuple[int, int]],
        leftovers: list[Leftover | None],
        *,
        windows: list[_Window],
        hits: list[_Hit],
        slips: list[_Hit],
    ) -> None:
        """Read the parts not yet known, and remember them: what a part leaves depends on
        its own tokens only, and a clinic's parts repeat (its treatments, its patients)."""
        part_of = _part_index(parts, len(tokens))
        by_part, spanning = self._within(part_of, len(parts), windows, hits, slips)
        if len(self._leftovers) >= _PARTS_MEMO_LIMIT:
            self._leftovers.clear()
        for number, (lo, hi) in enumerate(parts):
            if leftovers[number] is not None:
                continue
            inside, part_hits, part_slips = by_part[number]
            if spanning and lo < hi:
                part_hits, part_slips = self._phrase_hits(tokens, lo, hi, inside)
            left = self._leftover(tokens, lo, hi, windows=inside, hits=part_hits, slips=part_slips)
            leftovers[number] = self._leftovers[tuple(tokens[lo:hi])] = left

    def _within(
        self,
        part_of: list[int],
        parts: int,
        windows: list[_Window],
        hits: list[_Hit],
        slips: list[_Hit],
    ) -> tuple[list[_Bucket], bool]:
        """Windows, hits and one-slip windows sorted into the parts that wholly hold them,
        and whether a treatment or exclusion form, exact or misspelt, spans two parts."""
        kinds = self._kinds
        spanning = any(
            kinds[key] & _PHRASE and _holder(part_of, start, end) < 0
            for start, end, key in [*windows, *((s, e, k) for s, e, k, _ in slips)]
        )
        buckets = zip(
            _bucket(part_of, parts, windows),
            _bucket(part_of, parts, hits),
            _bucket(part_of, parts, slips),
            strict=True,
        )
        return list(buckets), spanning

    def _categories_of(self, texts: Iterable[str]) -> frozenset[str]:
        hits: list[_Hit] = []
        for text in texts:
            tokens = tokenize(text)
            hits += self._phrase_hits(tokens, 0, len(tokens), self._windows(tokens))[0]
        return self._categories_from(hits)

    def _categories_from(self, hits: Iterable[_Hit]) -> frozenset[str]:
        """The categories ``hits`` name, less those their exclusion words rule out."""
        found: set[str] = set()
        excluded: set[str] = set()
        for _, _, key, _ in hits:
            named, ruled_out = self._effects[key]
            found |= named
            excluded |= ruled_out
        categories = frozenset(found - excluded)
        # A policy names a few categories, so a few sets serve every title of a clinic.
        return self._category_sets.setdefault(categories, categories)

    def _windows(self, tokens: Sequence[str]) -> list[_Window]:
        """Every window whose joined tokens are a known form; a window grows while it could."""
        found: list[_Window] = []
        kinds, openings = self._kinds, self._openings
        count = len(tokens)
        for start in range(count):
            joined, end = tokens[start], start + 1
            while True:
                if joined in kinds:
                    found.append((start, end, joined))
                if end == count or joined not in openings:
                    break
                joined += tokens[end]
                end += 1
        return found

    def _phrase_hits(
        self, tokens: Sequence[str], lo: int, hi: int, windows: Iterable[_Window]
    ) -> tuple[list[_Hit], list[_Hit]]:
        """Treatment and exclusion hits in ``[lo, hi)``, and every one-slip window there
        that does not touch an exact hit (services are chosen among those later)."""
        kinds = self._kinds
        exact = [(s, e, k, True) for s, e, k in windows if kinds[k] & _PHRASE]
        if len(exact) > 1:
            exact = sorted(_pick(exact, True))
        taken = {i for start, end, _, _ in exact for i in range(start, end)}
        slips = self._slips(tokens, lo, hi, taken)
        if not slips:
            return exact, slips
        misspelt = [hit for hit in slips if kinds[hit[2]] & _PHRASE]
        if len(misspelt) > 1:
            misspelt = _pick(misspelt, False)
        return (sorted(exact + misspelt) if misspelt else exact), slips

    def _slips(self, tokens: Sequence[str], lo: int, hi: int, taken: set[int]) -> list[_Hit]:
        """Windows of ``[lo, hi)`` clear of ``taken`` within one slip of a long form."""
        found: list[_Hit] = []
        fuzzy = self._fuzzy
        known, facts_of = fuzzy.memo, fuzzy.facts
        for start in range(lo, hi):
            if start in taken:
                continue
            token = tokens[start]
            facts = known.get(token) or facts_of(token)
            if facts.near:
                found += [(start, start + 1, key, False) for key in facts.near]
            reach = facts.reach
            if not reach:
                continue
            joined = token
            for end in range(start + 1, hi):
                if end in taken:
                    break
                token = tokens[end]
                joined += token
                if len(joined) > reach:
                    break
                if (known.get(token) or facts_of(token)).closes:
                    found += [(start, end + 1, key, False) for key in fuzzy.near(joined)]
        return found

    def _leftover(
        self,
        tokens: Sequence[str],
        lo: int,
        hi: int,
        *,
        windows: Sequence[_Window],
        hits: Sequence[_Hit],
        slips: Sequence[_Hit],
    ) -> Leftover:
        """What ``[lo, hi)`` leaves once its hits, services and noise are out (SPEC §4)."""
        if lo == hi:
            return _NOTHING_LEFT
        if not windows and not slips:  # no phrase, service or noise form: only counts go
            part = tokens[lo:hi]
            if CONNECTORS.isdisjoint(part) and not any(map(str.isdigit, part)):
                words = tuple(part)  # the usual name part: nothing goes
            else:
                words = tuple(
                    [token for i, token in enumerate(part, lo) if _kept(tokens, i, lo, hi)]
                )
            return Leftover(words, words, False)
        kinds = self._kinds
        removed = {i for start, end, _, _ in hits for i in range(start, end)}
        noise: set[int] = set()
        named_service = False
        for start, end, key in windows:
            kind = kinds[key]
            named_service = named_service or bool(kind & _SERVICE)
            if kind & _NOISY and end - start <= NOISE_MAX_TOKENS:
                noise.update(range(start, end))
        services: list[_Hit] = []
        doubtful: set[int] = set()
        if named_service or slips:
            services, doubtful = self._services(windows, slips, removed)
        removed |= noise
        # Counts, units beside a count and connecting words go too (SPEC §4 point 4).
        kept = [
            (i, token)
            for i, token in enumerate(tokens[lo:hi], lo)
            if i not in removed and _kept(tokens, i, lo, hi)
        ]
        lenient = tuple(token for _, token in kept)
        words = tuple(token for i, token in kept if i not in doubtful) if doubtful else lenient
        return Leftover(words, lenient, bool(hits or services))

    def _services(
        self, windows: Sequence[_Window], slips: Sequence[_Hit], removed: set[int]
    ) -> tuple[list[_Hit], set[int]]:
        """Services in the gaps ``removed`` leaves; takes the exact ones out of the part, and
        returns the misspelt ones' tokens as doubtful."""
        kinds = self._kinds
        exact = [(s, e, k, True) for s, e, k in windows if kinds[k] & _SERVICE]
        exact = _pick([hit for hit in exact if _clear(removed, hit[0], hit[1])], True)
        removed.update(i for start, end, _, _ in exact for i in range(start, end))
        misspelt = [hit for hit in slips if kinds[hit[2]] & _SERVICE]
        misspelt = _pick([hit for hit in misspelt if _clear(removed, hit[0], hit[1])], False)
        doubtful = {i for start, end, _, _ in misspelt for i in range(start, end)}
        return exact + misspelt, doubtful


_NOTHING_LEFT = Leftover((), (), False)


def name_words(title: str, matcher: Matcher) -> tuple[str, ...]:
    """The normalised title tokens left for a patient's name (SPEC §4 point 4).

    Treatment phrases of any category, exclusion words, the clinic's other services, the
    connectors "w/", "with" and "for", and booking noise are taken out; the caller decides
    whether what is left (two to four words) is a name.
    """
    tokens = tokenize(title)
    return matcher.scan(tokens, [(0, len(tokens))]).parts[0].words


def service_lines(description: str) -> list[str]:
    """Values of the ``Service:``/``Treatment:`` lines of a description, flag block removed."""
    lines = strip_flag(description).splitlines()
    return [match.group(1) for line in lines if (match := _SERVICE_LINE.match(line))]


def _targets_of(policy: Policy) -> dict[str, tuple[_Target, ...]]:
    """Joined form → what it stands for; duplicates after normalisation are kept once."""
    everyone = frozenset(category.name for category in policy.categories)
    entries: list[tuple[str, _Target]] = []
    entries += [(word, _Target(None, word, everyone)) for word in policy.exclusions]
    for category in policy.categories:
        only = frozenset({category.name})
        entries += [
            (phrase, _Target(category.name, phrase, frozenset())) for phrase in category.phrases
        ]
        entries += [(word, _Target(None, word, only)) for word in category.exclusions]
    targets: dict[str, tuple[_Target, ...]] = {}
    for phrase, target in entries:
        key = _key_of(phrase)
        known = targets.get(key, ())
        if key and not any(_same_role(target, other) for other in known):
            targets[key] = (*known, target)
    return targets


def _keys_of(phrases: Iterable[str]) -> list[str]:
    return [key for key in map(_key_of, phrases) if key]


def _key_of(phrase: str) -> str:
    """A phrase's joined form: its tokens without the spaces and hyphens between them."""
    return "".join(tokenize(phrase))


def _same_role(one: _Target, other: _Target) -> bool:
    return one.category == other.category and one.excludes == other.excludes


def _effects(targets: Iterable[_Target]) -> tuple[frozenset[str], frozenset[str]]:
    """The categories a joined form names, and those it rules out."""
    named = frozenset(target.category for target in targets if target.category is not None)
    ruled_out = frozenset(
        c for target in targets if target.category is None for c in target.excludes
    )
    return named, ruled_out


def _pick(candidates: list[_Hit], longest_first: bool) -> list[_Hit]:
    """Greedy pick of non-overlapping candidates: longest (or shortest) span, then the
    longest form, then leftmost."""
    if len(candidates) < 2:
        return candidates
    sign = -1 if longest_first else 1
    ranked = sorted(candidates, key=lambda hit: (sign * (hit[1] - hit[0]), -len(hit[2]), hit[0]))
    chosen: list[_Hit] = []
    used: set[int] = set()
    for hit in ranked:
        span = range(hit[0], hit[1])
        if used.isdisjoint(span):
            chosen.append(hit)
            used.update(span)
    return chosen


def _clear(taken: set[int], start: int, end: int) -> bool:
    return taken.isdisjoint(range(start, end))


def _kept(tokens: Sequence[str], i: int, lo: int, hi: int) -> bool:
    """Not a count, a connecting word, or a unit or counter letter next to a number ("20 u",
    "x2"): alone, "U" or "X" may be an initial."""
    token = tokens[i]
    if token in CONNECTORS or token.isdigit():
        return False
    if token not in UNITS:
        return True
    return not ((i > lo and tokens[i - 1].isdigit()) or (i + 1 < hi and tokens[i + 1].isdigit()))


def _part_index(parts: Sequence[tuple[int, int]], count: int) -> list[int]:
    """For each token, the number of the part holding it, or -1 between parts."""
    index = [-1] * count
    for number, (lo, hi) in enumerate(parts):
        index[lo:hi] = [number] * (hi - lo)
    return index


_Bucket = tuple[list[_Window], list[_Hit], list[_Hit]]
_Found = TypeVar("_Found", _Window, _Hit)


def _holder(part_of: list[int], start: int, end: int) -> int:
    """The part that holds tokens ``[start, end)``, or -1 when no single part does."""
    number = part_of[start]
    return number if number >= 0 and part_of[end - 1] == number else -1


def _bucket(part_of: list[int], parts: int, found: list[_Found]) -> list[list[_Found]]:
    """``found`` sorted into the parts that wholly hold them."""
    by_part: list[list[_Found]] = [[] for _ in range(parts)]
    for item in found:
        number = _holder(part_of, item[0], item[1])
        if number >= 0:
            by_part[number].append(item)
    return by_part
