"""Who a booking is for, and which bookings are the same patient (SPEC §4).

A booking's identity comes from, in order of trust: an explicit patient id, the
attendee e-mail addresses that are not the clinic's own, a ``Patient:``/``Client:``
line in the description, and last the words of the title left once treatment
phrases and booking noise are taken out.

Linking follows the SPEC's rule: two bookings are one patient when they share an id
or an e-mail, or — where one of them has neither — a name. Ids and e-mails are
joined transitively (a booking carrying both bridges them). A name-only booking
joins the one identified patient of that name, or, when no identified patient has
it, the other name-only bookings of that name. A name that two identified patients
or more carry (different ids or e-mails, once joined) is shown to be shared by
different people — "Jane Doe" twice, or a descriptive word read as a name — so it is
no evidence at all: nothing is linked through it, its name-only bookings are left
without a patient, and the linking reports it as an :class:`AmbiguousName`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rules.flag import strip_flag
from rules.model import AmbiguousName, Booking, MatchKind, Patient, PatientKey
from rules.vocabulary import Leftover, Matcher, leftover, normalize, tokenize

__all__ = [
    "Identity",
    "IdentityOptions",
    "Linking",
    "PatientGroup",
    "ReadBooking",
    "TitleNames",
    "identify",
    "link",
    "link_patients",
    "link_strength",
    "name_key",
    "patients_declined",
]

_NAME_LINE = re.compile(r"^\s*(?:patient|client)\s*:\s*(?P<name>.+?)\s*$", re.IGNORECASE)
_RESOURCE_DOMAIN = "resource.calendar.google.com"
_NAME_WORDS = range(2, 5)
# Where a title's parts meet (SPEC §4 point 4): dashes between spaces, other separators,
# and the connecting words "w/", "with", "for". A hyphen inside a word joins a name. A
# comma parts a title too, but may also part one name ("O'Brien, Siobhan").
_SEGMENT_BREAK = re.compile(r"\s[-–—]+\s|[–—:|/+&()]|\s-|-\s|\b(?:w/|with|for)\b", re.IGNORECASE)
_NAME_CHARS = re.compile(r"[^\w'’ -]+")


@dataclass(frozen=True, slots=True)
class IdentityOptions:
    """The clinic's own addresses, which never identify a patient."""

    staff_domains: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Identity:
    """What one booking says about its patient; empty when it says nothing usable."""

    patient_id: str | None = None
    emails: frozenset[str] = frozenset()
    name: str | None = None
    """The name as a person writes it (for display)."""
    name_key: str | None = None
    """The name as names are compared (see :func:`name_key`)."""

    @property
    def kind(self) -> MatchKind | None:
        if self.patient_id:
            return MatchKind.ID
        if self.emails:
            return MatchKind.EMAIL
        return MatchKind.NAME if self.name else None

    @property
    def strong(self) -> bool:
        return bool(self.patient_id or self.emails)


def name_key(name: str) -> str:
    """Names compare after NFKD, accents removed, case folded, spaces collapsed.

    Word order is ignored too, so "O'Brien, Siobhan" and "Siobhan O'Brien" meet.
    """
    words = re.split(r"[\s,]+", normalize(name))
    return " ".join(sorted(word for word in words if word))


def identify(booking: Booking, titles: TitleNames, options: IdentityOptions) -> Identity:
    """Read a booking's patient identity from its strongest sources (SPEC §4)."""
    patient_id = (booking.patient_id or "").strip() or None
    emails = _patient_emails(booking, options)
    written = _description_name(booking.description)
    name, key = (written, name_key(written)) if written else titles(booking.summary)
    return Identity(patient_id=patient_id, emails=emails, name=name, name_key=key)


def _patient_emails(booking: Booking, options: IdentityOptions) -> frozenset[str]:
    own = {booking.calendar_email.casefold(), booking.organizer_email.casefold(), ""}
    found = set()
    for attendee in booking.attendees:
        email = attendee.email.strip().casefold()
        if attendee.organizer or attendee.is_self or attendee.resource or email in own:
            continue
        domain = email.rpartition("@")[2]
        if "@" not in email or domain == _RESOURCE_DOMAIN or domain in options.staff_domains:
            continue
        found.add(email)
    return frozenset(found)


def _description_name(description: str) -> str | None:
    for line in strip_flag(description).splitlines():
        match = _NAME_LINE.match(line)
        if match and normalize(match["name"]):
            return " ".join(match["name"].split())
    return None


class TitleNames:
    """Reads the patient's name (as written, and as compared) in titles, remembering them.

    A clinic's titles repeat (every instance of a recurring booking, a patient's
    regular treatment), so one reader per assessment saves most of the matching.
    """

    def __init__(self, matcher: Matcher) -> None:
        self._matcher = matcher
        self._seen: dict[str, tuple[str | None, str | None]] = {}

    def __call__(self, summary: str) -> tuple[str | None, str | None]:
        try:
            return self._seen[summary]
        except KeyError:
            name = _title_name(summary, self._matcher)
            read = self._seen[summary] = (name, name_key(name) if name else None)
            return read


def _title_name(summary: str, matcher: Matcher) -> str | None:
    """The patient's name in a title, read part by part (SPEC §4 point 4).

    Staff separate the parts of a title ("Tox maintenance (moved) - Tom Reed",
    "Potenza RF | Ben Carter"). A part that holds no treatment or service and 2 to 4
    words is the name; failing one, such words beside a treatment ("Botox Jane Doe");
    failing that, one-word parts a comma splits ("O'Brien, Siobhan"). Where two parts
    of the same rank could each be a different name, the title gives none: no guessing.
    A word one slip from a service ("Miller" for "filler") is only kept when the title
    gives no name without it.
    """
    chunks = [
        [_read_part(text, matcher) for text in chunk.split(",")]
        for chunk in _SEGMENT_BREAK.split(summary)
    ]
    name = _name_of(chunks, lenient=False)
    if name is None and any(part.left.lenient != part.left.words for c in chunks for part in c):
        name = _name_of(chunks, lenient=True)
    return name


@dataclass(frozen=True, slots=True)
class _Part:
    """One part of a title as staff wrote it, and what it leaves for a name."""

    text: str
    left: Leftover

    def words(self, lenient: bool) -> tuple[str, ...]:
        return self.left.lenient if lenient else self.left.words


def _read_part(text: str, matcher: Matcher) -> _Part:
    tokens = tokenize(text)
    return _Part(text, leftover(tokens, matcher.hits(tokens), matcher))


def _name_of(chunks: list[list[_Part]], *, lenient: bool) -> str | None:
    parts = [part for chunk in chunks for part in chunk]
    for named in (False, True):
        whole = [p for p in parts if p.left.named is named and len(p.words(lenient)) in _NAME_WORDS]
        if whole:
            first = whole[0]
            single = _one_key(part.words(lenient) for part in whole)
            return _as_written(first.text, first.words(lenient)) if single else None
    joined = [
        words for chunk in chunks if len(words := _plain_words(chunk, lenient)) in _NAME_WORDS
    ]
    if joined and _one_key(joined):
        return " ".join(word.capitalize() for word in joined[0])
    return None


def _plain_words(chunk: list[_Part], lenient: bool) -> tuple[str, ...]:
    """The words of a comma-split run of parts that name no treatment or service."""
    return tuple(word for part in chunk if not part.left.named for word in part.words(lenient))


def _one_key(names: Iterable[tuple[str, ...]]) -> bool:
    """All these word sequences are one name as names compare."""
    return len({" ".join(sorted(words)) for words in names}) == 1


def _as_written(segment: str, words: tuple[str, ...]) -> str:
    """The segment as staff wrote it when it is only the name, else the folded words."""
    cleaned = " ".join(_NAME_CHARS.sub(" ", segment).split())
    if tuple(tokenize(cleaned)) == words:
        return cleaned
    return " ".join(word.capitalize() for word in words)


def patients_declined(booking: Booking, identity: Identity) -> bool:
    """True when every attendee who is the patient declined the booking (SPEC §5)."""
    responses = [a.response for a in booking.attendees if a.email.casefold() in identity.emails]
    return bool(responses) and all(response == "declined" for response in responses)


@dataclass(frozen=True, slots=True)
class ReadBooking:
    """A booking with what the engine read from it: its patient identity and categories."""

    booking: Booking
    identity: Identity
    categories: frozenset[str]


@dataclass(frozen=True, slots=True)
class PatientGroup:
    """The bookings of one patient, sorted by day then id."""

    patient: Patient
    members: tuple[ReadBooking, ...]


def link_strength(first: Identity, second: Identity) -> MatchKind:
    """How two bookings of one group are tied together (reported on every conflict)."""
    if first.patient_id and first.patient_id == second.patient_id:
        return MatchKind.ID
    if first is second:
        return first.kind or MatchKind.NAME
    if first.emails & second.emails or (first.strong and second.strong):
        return MatchKind.EMAIL
    return MatchKind.NAME


@dataclass(frozen=True, slots=True)
class Linking:
    """Bookings grouped into patients, and the names that could not link anyone."""

    groups: list[PatientGroup]
    """One per patient, in key order."""
    ambiguous: list[AmbiguousName]
    """Names carried by several identified patients, in key order."""
    unlinked: list[ReadBooking]
    """Bookings known only by an ambiguous name: no patient."""


def link(items: Iterable[ReadBooking]) -> Linking:
    """Group bookings into patients; bookings with no usable identity are left out."""
    entries = [item for item in items if item.identity.kind is not None]
    sets = _DisjointSets(len(entries))
    _join_strong(entries, sets)
    ambiguous, unlinked = _join_names(entries, sets)
    groups: dict[int, list[ReadBooking]] = defaultdict(list)
    for index, entry in enumerate(entries):
        if index not in unlinked:
            groups[sets.find(index)].append(entry)
    built = sorted((_group(members) for members in groups.values()), key=_patient_key)
    left = [entries[index] for index in sorted(unlinked)]
    return Linking(built, ambiguous, left)


def link_patients(items: Iterable[ReadBooking]) -> list[PatientGroup]:
    """The patient groups of :func:`link`."""
    return link(items).groups


def _patient_key(group: PatientGroup) -> PatientKey:
    return group.patient.key


def _join_strong(entries: Sequence[ReadBooking], sets: _DisjointSets) -> None:
    first_seen: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        ident = entry.identity
        keys = [("id", ident.patient_id)] if ident.patient_id else []
        keys += [("email", email) for email in ident.emails]
        for key in keys:
            sets.union(first_seen.setdefault(key, index), index)


def _join_names(
    entries: Sequence[ReadBooking], sets: _DisjointSets
) -> tuple[list[AmbiguousName], set[int]]:
    """Link name-only bookings; return the ambiguous names and the bookings they leave out."""
    strong_roots: dict[str, set[int]] = defaultdict(set)
    carriers: Counter[str] = Counter()
    weak_by_name: dict[str, list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        ident = entry.identity
        key = ident.name_key
        if key is None:
            continue
        carriers[key] += 1
        if ident.strong:
            strong_roots[key].add(sets.find(index))
        else:
            weak_by_name[key].append(index)
    ambiguous: list[AmbiguousName] = []
    unlinked: set[int] = set()
    for key in sorted(carriers):
        roots, weak = strong_roots.get(key, set()), weak_by_name.get(key, [])
        if len(roots) > 1:
            ambiguous.append(AmbiguousName(key, carriers[key], len(roots), len(weak)))
            unlinked.update(weak)
        elif weak:
            anchor = next(iter(roots)) if roots else weak[0]
            for index in weak:
                sets.union(anchor, index)
    return ambiguous, unlinked


def _group(members: list[ReadBooking]) -> PatientGroup:
    members.sort(key=lambda entry: (entry.booking.day, entry.booking.id))
    idents = [entry.identity for entry in members]
    ids = frozenset(i.patient_id for i in idents if i.patient_id)
    emails = frozenset(email for i in idents for email in i.emails)
    names = Counter(i.name for i in idents if i.name)
    name = min(names, key=lambda n: (-names[n], n)) if names else None
    if ids:
        key = PatientKey(MatchKind.ID, min(ids))
    elif emails:
        key = PatientKey(MatchKind.EMAIL, min(emails))
    else:
        key = PatientKey(MatchKind.NAME, min(i.name_key or "" for i in idents))
    patient = Patient(key=key, name=name, ids=ids, emails=emails)
    return PatientGroup(patient=patient, members=tuple(members))


class _DisjointSets:
    """Union–find with path halving; near-constant time per operation."""

    def __init__(self, size: int) -> None:
        self._parent = list(range(size))

    def find(self, item: int) -> int:
        parent = self._parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, first: int, second: int) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            self._parent[max(a, b)] = min(a, b)
