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

:class:`Matcher` turns a :class:`~rules.model.Policy` into those indexes once, then answers
which categories a booking's title and ``Service:``/``Treatment:`` lines name, after the
exclusion words ("consult", "cancelled"...) have had their say. :func:`name_words` gives
patient-name extraction (SPEC §4 point 4) what is left of a title once treatments,
exclusions, connectors and booking noise are taken out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rules.flag import strip_flag
from rules.model import Policy

__all__ = [
    "Leftover",
    "Matcher",
    "PhraseHit",
    "leftover",
    "name_words",
    "normalize",
    "service_lines",
    "tokenize",
]

_FUZZY_MIN_LENGTH = 6
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+")
_SERVICE_LINE = re.compile(r"^\s*(?:service|treatment)s?\s*:(.*)$", re.IGNORECASE)

# Booking noise for name extraction (SPEC §4 point 4). Joined forms, matched exactly.
# Besides SPEC's own examples, the descriptive notes staff add beside a treatment: who
# the patient is to the clinic, the area treated, the booking's state. None is a name.
_CONNECTORS = frozenset({"w", "with", "for"})
_NOISE = frozenset(
    {
        "newpt",
        "newpts",
        "newclient",
        "newclients",
        "existingpt",
        "existingpatient",
        "existingclient",
        "returningpt",
        "returningpatient",
        "returningclient",
        "pt",
        "fullface",
        "halfface",
        "upperface",
        "lowerface",
        "midface",
        "forehead",
        "glabella",
        "frownlines",
        "crowsfeet",
        "crow'sfeet",
        "undereye",
        "undereyes",
        "jawline",
        "masseter",
        "masseters",
        "maintenance",
        "moved",
        "rescheduled",
        "resched",
        "tbc",
        "confirmed",
        "unconfirmed",
        "depositpaid",
        "walkin",
        "reviews",
        "appt",
        "appts",
        "appointment",
        "appointments",
        "session",
        "sessions",
        "treatment",
        "treatments",
        "followup",
        "followups",
        "touchup",
        "touchups",
        "topup",
        "topups",
        "review",
        "newpatient",
    }
)
# Units and counters only count as noise next to a number ("20 u", "x2", "2nd").
_UNITS = frozenset(
    {
        "u",
        "iu",
        "unit",
        "units",
        "vial",
        "vials",
        "syringe",
        "syringes",
        "area",
        "areas",
        "ml",
        "cc",
        "mg",
        "x",
        "st",
        "nd",
        "rd",
        "th",
    }
)
_NOISE_MAX_TOKENS = 2


def normalize(text: str) -> str:
    """Fold ``text`` for comparison: NFKD, accents dropped, casefolded, spaces collapsed.

    Typographic apostrophes become ``'`` so "O’Brien" and "O'Brien" compare equal.
    """
    return " ".join(_fold(text).split())


def tokenize(text: str) -> tuple[str, ...]:
    """Split normalised ``text`` into word tokens: letter runs (inner ``'`` kept) and digit runs."""
    return tuple(_TOKEN.findall(_fold(text)))


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


@dataclass(frozen=True, slots=True)
class _Candidate:
    start: int
    end: int
    key: str
    exact: bool


class Matcher:
    """Finds a policy's treatment categories in booking text (SPEC §3).

    Build one per policy and reuse it: the indexes are computed in the constructor, so
    classifying a title is a handful of dictionary lookups. The clinic's other services
    (SPEC §4) have an index of their own and only ever fill the gaps treatment phrases
    and exclusions leave, so listing a service can never hide a treatment.
    """

    def __init__(self, policy: Policy) -> None:
        self._targets = _targets_of(policy)
        self._phrases = _PhraseIndex(self._targets)
        self._services = _PhraseIndex(_keys_of(policy.services))

    def hits(self, tokens: Sequence[str]) -> list[PhraseHit]:
        """All phrase and exclusion hits in ``tokens``, in text order.

        Overlaps are settled first: exact hits win over misspelt ones, longer over shorter,
        so "anti-wrinkle injections" is one hit, not also a slip of "anti-wrinkle injection".
        """
        return [
            PhraseHit(target.category, target.phrase, hit.start, hit.end, hit.exact)
            for hit in self._phrases.resolved(tokens, frozenset())
            for target in self._targets[hit.key]
        ]

    def service_spans(
        self, tokens: Sequence[str], taken: frozenset[int]
    ) -> list[tuple[int, int, bool]]:
        """``(start, end, exact)`` of the services named among the tokens not ``taken``."""
        return [(hit.start, hit.end, hit.exact) for hit in self._services.resolved(tokens, taken)]

    def categories_of_text(self, text: str) -> frozenset[str]:
        """Categories named in ``text``, less those its exclusion words rule out."""
        return self._categories_of((text,))

    def categories(self, summary: str, description: str) -> frozenset[str]:
        """Categories of a booking: its title plus ``Service:``/``Treatment:`` description lines.

        The clinic-sync flag block is removed first; other description text never counts.
        An exclusion word in any of these parts rules its categories out for the booking.
        """
        return self._categories_of((summary, *service_lines(description)))

    def noise_spans(self, tokens: Sequence[str]) -> list[tuple[int, int]]:
        """Token spans that are booking noise: counts, units, "appt", "follow-up", "#2"..."""
        spans = [(i, i + 1) for i in range(len(tokens)) if _is_noise_token(tokens, i)]
        return spans + _noise_phrase_spans(tokens)

    def _categories_of(self, texts: Iterable[str]) -> frozenset[str]:
        found: set[str] = set()
        excluded: set[str] = set()
        for text in texts:
            for hit in self._phrases.resolved(tokenize(text), frozenset()):
                for target in self._targets[hit.key]:
                    if target.category is None:
                        excluded |= target.excludes
                    else:
                        found.add(target.category)
        return frozenset(found - excluded)


class _PhraseIndex:
    """Exact and one-slip lookup of a set of joined phrase forms in a token sequence."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = frozenset(keys)
        self._openings = frozenset(key[:end] for key in self._keys for end in range(1, len(key)))
        self._fuzzy = _FuzzyIndex(key for key in self._keys if len(key) >= _FUZZY_MIN_LENGTH)
        self._max_length = max((len(key) for key in self._keys), default=0) + 1

    def resolved(self, tokens: Sequence[str], blocked: frozenset[int]) -> list[_Candidate]:
        """Non-overlapping hits among the tokens not ``blocked``, in text order."""
        exact = _non_overlapping(self._exact_candidates(tokens, blocked), longest_first=True)
        taken = blocked | {i for hit in exact for i in range(hit.start, hit.end)}
        fuzzy = _non_overlapping(self._fuzzy_candidates(tokens, taken), longest_first=False)
        return sorted(exact + fuzzy, key=lambda hit: hit.start)

    def _exact_candidates(self, tokens: Sequence[str], blocked: frozenset[int]) -> list[_Candidate]:
        """Windows whose joined tokens equal a phrase; a window grows only while it could."""
        found: list[_Candidate] = []
        keys, openings = self._keys, self._openings
        for start in range(len(tokens)):
            joined = ""
            for end in range(start + 1, len(tokens) + 1):
                if end - 1 in blocked:
                    break
                joined += tokens[end - 1]
                if joined in keys:
                    found.append(_Candidate(start, end, joined, exact=True))
                if joined not in openings:
                    break
        return found

    def _fuzzy_candidates(self, tokens: Sequence[str], taken: frozenset[int]) -> list[_Candidate]:
        """Windows of untaken tokens within one slip of a phrase of six characters or more."""
        found: list[_Candidate] = []
        for start, token in enumerate(tokens):
            if start in taken:
                continue
            facts = self._fuzzy.facts(token)
            found += (_Candidate(start, start + 1, key, exact=False) for key in facts.near)
            if facts.opens:
                found += self._fuzzy_windows(tokens, start, taken)
        return found

    def _fuzzy_windows(
        self, tokens: Sequence[str], start: int, taken: frozenset[int]
    ) -> list[_Candidate]:
        """Fuzzy hits of two tokens or more from ``start``: rare, so not cached."""
        found: list[_Candidate] = []
        joined = tokens[start]
        for end in range(start + 2, len(tokens) + 1):
            if end - 1 in taken:
                break
            joined += tokens[end - 1]
            if len(joined) > self._max_length:
                break
            if self._fuzzy.facts(tokens[end - 1]).closes:
                found += (_Candidate(start, end, key, False) for key in self._fuzzy.near(joined))
        return found


@dataclass(frozen=True, slots=True)
class _TokenFacts:
    """What one token can do in a fuzzy match; see :class:`_FuzzyIndex`."""

    near: tuple[str, ...]
    opens: bool
    closes: bool


class _FuzzyIndex:
    """One-slip lookup of the phrases of six characters or more.

    ``near`` looks a word up in the single-deletion neighbourhood of every phrase (SymSpell)
    and verifies the distance. A window of several tokens can only be one slip from a
    phrase if its first token is one slip from the phrase's start and its last token one
    slip from its end; those two facts are known per token, so most windows are never built.
    Facts are memoised per token (names and words repeat across bookings); the memo is
    bounded and only ever holds values computed from the policy.
    """

    _MEMO_LIMIT = 100_000

    def __init__(self, keys: Iterable[str]) -> None:
        keys = tuple(keys)
        self._deletions = _deletion_index(keys)
        self._heads = _neighbourhood(key[:end] for key in keys for end in range(1, len(key)))
        self._tails = _neighbourhood(key[start:] for key in keys for start in range(1, len(key)))
        self._shortest = min((len(key) for key in keys), default=1) - 1
        self._memo: dict[str, _TokenFacts] = {}

    def facts(self, token: str) -> _TokenFacts:
        facts = self._memo.get(token)
        if facts is None:
            if len(self._memo) >= self._MEMO_LIMIT:
                self._memo.clear()
            variants = _deletions(token) | {token}
            facts = _TokenFacts(
                self._near(token, variants),
                not variants.isdisjoint(self._heads),
                not variants.isdisjoint(self._tails),
            )
            self._memo[token] = facts
        return facts

    def near(self, word: str) -> tuple[str, ...]:
        """Phrase keys at distance exactly 1 from ``word``."""
        return self._near(word, _deletions(word) | {word})

    def _near(self, word: str, variants: set[str]) -> tuple[str, ...]:
        if len(word) < self._shortest:
            return ()
        index = self._deletions
        keys = {key for variant in variants for key in index.get(variant, ())}
        return tuple(sorted(key for key in keys if key != word and _within_one(word, key)))


def name_words(title: str, matcher: Matcher) -> tuple[str, ...]:
    """The normalised title tokens left for a patient's name (SPEC §4 point 4).

    Treatment phrases of any category, exclusion words, the clinic's other services, the
    connectors "w/", "with" and "for", and booking noise are taken out; the caller decides
    whether what is left (two to four words) is a name.
    """
    tokens = tokenize(title)
    return leftover(tokens, matcher.hits(tokens), matcher).words


@dataclass(frozen=True, slots=True)
class Leftover:
    """What a token sequence leaves for a name once everything that is not one is out."""

    words: tuple[str, ...]
    """Every phrase, service and noise word taken out."""
    lenient: tuple[str, ...]
    """The same, but keeping words only one slip from a service: "Miller" may not be "filler"."""
    named: bool
    """A treatment, exclusion or service phrase was found: other words may describe it."""


def leftover(tokens: Sequence[str], hits: Sequence[PhraseHit], matcher: Matcher) -> Leftover:
    """:func:`name_words` for a caller that already holds the tokens and their hits."""
    removed = {i for hit in hits for i in range(hit.start, hit.end)}
    doubtful: set[int] = set()
    services = matcher.service_spans(tokens, frozenset(removed))
    for start, end, exact in services:
        (removed if exact else doubtful).update(range(start, end))
    for start, end in matcher.noise_spans(tokens):
        removed.update(range(start, end))
    kept = [i for i, token in enumerate(tokens) if i not in removed and token not in _CONNECTORS]
    lenient = tuple(tokens[i] for i in kept)
    words = lenient if not doubtful else tuple(tokens[i] for i in kept if i not in doubtful)
    return Leftover(words, lenient, named=bool(hits or services))


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


def _neighbourhood(words: Iterable[str]) -> frozenset[str]:
    """``words`` and all their single-character deletions."""
    return frozenset(variant for word in words for variant in _deletions(word) | {word})


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _deletion_index(keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each key and each of its single-character deletions → the keys they come from."""
    index: dict[str, list[str]] = {}
    for key in keys:
        for variant in _deletions(key) | {key}:
            index.setdefault(variant, []).append(key)
    return {variant: tuple(keys) for variant, keys in index.items()}


def _within_one(one: str, other: str) -> bool:
    """Optimal-string-alignment distance between ``one`` and ``other`` is at most 1."""
    if len(one) > len(other):
        one, other = other, one
    if len(other) - len(one) > 1:
        return False
    i = 0
    while i < len(one) and one[i] == other[i]:
        i += 1
    if len(one) < len(other):
        return one[i:] == other[i + 1 :]
    if i >= len(one) - 1 or one[i + 1 :] == other[i + 1 :]:
        return True
    swapped = one[i] == other[i + 1] and one[i + 1] == other[i]
    return swapped and one[i + 2 :] == other[i + 2 :]


def _non_overlapping(candidates: list[_Candidate], *, longest_first: bool) -> list[_Candidate]:
    """Greedy pick of non-overlapping candidates: longest (or shortest) span, then leftmost."""

    def rank(hit: _Candidate) -> tuple[int, int, int]:
        span = hit.end - hit.start
        return (-span if longest_first else span, -len(hit.key), hit.start)

    chosen: list[_Candidate] = []
    used: set[int] = set()
    for hit in sorted(candidates, key=rank):
        span = range(hit.start, hit.end)
        if not used.intersection(span):
            chosen.append(hit)
            used.update(span)
    return chosen


def _is_noise_token(tokens: Sequence[str], i: int) -> bool:
    token = tokens[i]
    if token.isdigit():
        return True
    beside_number = any(0 <= j < len(tokens) and tokens[j].isdigit() for j in (i - 1, i + 1))
    return token in _UNITS and beside_number


def _noise_phrase_spans(tokens: Sequence[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for start in range(len(tokens)):
        for end in range(start + 1, min(start + _NOISE_MAX_TOKENS, len(tokens)) + 1):
            if "".join(tokens[start:end]) in _NOISE:
                spans.append((start, end))
    return spans
