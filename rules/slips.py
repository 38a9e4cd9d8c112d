"""One slip of the pen: which policy phrases a word, or a window of words, is within one edit of.

SPEC §3: a phrase of six letters or more still matches with one letter missing, extra or
wrong, or two neighbours swapped ("Xeomen", "Microneedeling", "Morpheus 8") — the
optimal-string-alignment distance 1. Candidates come from a precomputed single-deletion
index (the SymSpell idea) and are then verified.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["MEMO_LIMIT", "SlipIndex", "TokenFacts", "deletions"]

MEMO_LIMIT = 100_000
"""Entries each memo of this module holds before it starts again."""


@dataclass(frozen=True, slots=True)
class TokenFacts:
    """What one token can do in a fuzzy match; see :class:`SlipIndex`."""

    near: tuple[str, ...]
    reach: int
    """0 unless a window of tokens opening here can be one slip from a phrase: then the
    longest that window may grow (its joined length)."""
    closes: bool


class SlipIndex:
    """One-slip lookup of the phrases of six characters or more.

    ``near`` looks a word up in the single-deletion neighbourhood of every phrase (SymSpell)
    and verifies the distance. A window of several tokens can only be one slip from a
    phrase if its first token is within one slip of a prefix of the phrase and its last
    token within one slip of a suffix (the slip falls in one of them, or in neither, or
    swaps the two letters where they meet); those two facts are known per token, so most
    windows are never built.
    Facts are memoised per token, and phrases near a window of tokens per window (names
    and words repeat across bookings); the memos are bounded and only ever hold values
    computed from the policy.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        keys = tuple(keys)
        self._deletions = _deletion_index(keys)
        # How long a window opening on a prefix may grow: one letter past its longest key.
        self._reach: dict[str, int] = {}
        for key in keys:
            for end in range(len(key) + 1):
                head = key[:end]
                self._reach[head] = max(self._reach.get(head, 0), len(key) + 1)
        self._heads = _deletion_index(self._reach)
        self._tails = _deletion_index(
            {key[start:] for key in keys for start in range(len(key) + 1)}
        )
        self._shortest = min((len(key) for key in keys), default=1) - 1
        self.memo: dict[str, TokenFacts] = {}
        """What :meth:`facts` found, by token: read it directly on hot paths."""
        self._windows: dict[str, tuple[str, ...]] = {}

    def facts(self, token: str) -> TokenFacts:
        facts = self.memo.get(token)
        if facts is None:
            if len(self.memo) >= MEMO_LIMIT:
                self.memo.clear()
            variants = deletions(token) | {token}
            heads = _within_one_of(token, variants, self._heads)
            facts = TokenFacts(
                self._near(token, variants),
                max((self._reach[head] for head in heads), default=0),
                any(_within_one_of(token, variants, self._tails)),
            )
            self.memo[token] = facts
        return facts

    def near(self, word: str) -> tuple[str, ...]:
        """Phrase keys at distance exactly 1 from ``word`` (windows of tokens repeat too)."""
        near = self._windows.get(word)
        if near is None:
            if len(self._windows) >= MEMO_LIMIT:
                self._windows.clear()
            near = self._windows[word] = self._near(word, deletions(word) | {word})
        return near

    def _near(self, word: str, variants: set[str]) -> tuple[str, ...]:
        if len(word) < self._shortest:
            return ()
        index = self._deletions
        keys = {key for variant in variants for key in index.get(variant, ())}
        return tuple(sorted(key for key in keys if key != word and _within_one(word, key)))


def _within_one_of(
    word: str, variants: set[str], index: dict[str, tuple[str, ...]]
) -> Iterator[str]:
    """The words of the deletion ``index`` at most one slip from ``word``."""
    return (other for v in variants for other in index.get(v, ()) if _within_one(word, other))


def deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _deletion_index(keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each key and each of its single-character deletions → the keys they come from."""
    index: dict[str, list[str]] = {}
    for key in keys:
        for variant in deletions(key) | {key}:
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
