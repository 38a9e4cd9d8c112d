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
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from rules.flag import strip_flag
from rules.model import AmbiguousName, Booking, MatchKind, Patient, PatientKey
from rules.titles import TitleReader, TitleReading, name_key
from rules.vocabulary import Matcher, normalize, service_lines

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
_NAME_HINT = re.compile(r"(?:patient|client)\s*:", re.IGNORECASE)
"""What any :data:`_NAME_LINE` holds: a description without it names no one, unread."""
_RESOURCE_DOMAIN = "resource.calendar.google.com"
_NONE: frozenset[str] = frozenset()
"""The one empty set most bookings' e-mails and most patients' ids are (an empty
frozenset made from a set is a new object of 216 bytes; a clinic has 100k bookings)."""


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


def identify(booking: Booking, titles: TitleNames, options: IdentityOptions) -> Identity:
    """Read a booking's patient identity from its strongest sources (SPEC §4)."""
    patient_id = (booking.patient_id or "").strip() or None
    emails = _patient_emails(booking, options)
    written = _description_name(booking.description)
    name, key = (written, name_key(written)) if written else titles(booking.summary)
    return Identity(patient_id=patient_id, emails=emails, name=name, name_key=key)


def _patient_emails(booking: Booking, options: IdentityOptions) -> frozenset[str]:
    if not booking.attendees:  # most bookings: the patient is named, not invited
        return _NONE
    own = {booking.calendar_email.casefold(), booking.organizer_email.casefold(), ""}
    found = set()
    for attendee in booking.attendees:
        email = attendee.email.strip().casefold()
        if email == attendee.email:  # mostly already folded: keep the booking's string
            email = attendee.email
        if attendee.organizer or attendee.is_self or attendee.resource or email in own:
            continue
        domain = email.rpartition("@")[2]
        if "@" not in email or domain == _RESOURCE_DOMAIN or domain in options.staff_domains:
            continue
        found.add(email)
    return frozenset(found) if found else _NONE


def _description_name(description: str) -> str | None:
    if not _NAME_HINT.search(description):  # most descriptions: no such line at all
        return None
    for line in strip_flag(description).splitlines():
        match = _NAME_LINE.match(line)
        if match and normalize(match["name"]):
            return " ".join(match["name"].split())
    return None


class TitleNames:
    """Reads titles (categories and patient name) with one matcher, remembering them.

    ``recall`` may give the reading of a title made before, by this matcher's policy and
    this reader (kept by the caller between processes); the titles it does not know are read.

    A clinic's titles repeat (every instance of a recurring booking, a patient's
    regular treatment), so one reader per assessment saves most of the matching. Its
    patients' names repeat more than its titles do ("Botox - Jane Doe", "Jane Doe
    review"): each name, as written and as compared, is held once (at 100k bookings,
    66k titles name 100 people).
    """

    def __init__(
        self, matcher: Matcher, recall: Callable[[str], TitleReading | None] | None = None
    ) -> None:
        self._matcher = matcher
        self._reader = TitleReader(matcher)
        self._recall = recall
        self._seen: dict[str, TitleReading] = {}
        self._names: dict[str, str] = {}
        self._readings: dict[TitleReading, TitleReading] = {}
        self._fresh: dict[str, TitleReading] = {}

    def __call__(self, summary: str) -> tuple[str | None, str | None]:
        """The patient's name in ``summary`` as written, and as names compare."""
        reading = self.reading(summary)
        return reading.name, reading.name_key

    def reading(self, summary: str) -> TitleReading:
        """Everything ``summary`` says, read once."""
        reading = self._seen.get(summary)  # a third of a clinic's titles are new: no raise
        if reading is not None:
            return reading
        recalled = self._recall(summary) if self._recall else None
        read = self._reader.read(summary) if recalled is None else recalled
        # Titles say the same things in many ways ("Botox - Jane Doe", "Jane Doe botox
        # 20u"): each reading, and each name as written and as compared, is held once.
        reading = self._readings.get(read)
        if reading is None:
            reading = read
            if read.name is not None:
                names = self._names
                reading = TitleReading(
                    read.categories,
                    names.setdefault(read.name, read.name),
                    None
                    if read.name_key is None
                    else names.setdefault(read.name_key, read.name_key),
                )
            self._readings[reading] = reading
        self._seen[summary] = reading
        if recalled is None and self._recall is not None:
            self._fresh[summary] = reading
        return reading

    @property
    def fresh(self) -> Mapping[str, TitleReading]:
        """The titles read here, not recalled: what a caller keeping readings would add.

        With nothing to recall that is every title seen, held once.
        """
        return self._seen if self._recall is None else self._fresh

    def titles(self) -> Collection[str]:
        """Every title read so far (recalled or read)."""
        return self._seen.keys()

    def categories(self, booking: Booking) -> frozenset[str]:
        """A booking's categories (:meth:`Matcher.categories`), its title read only once.

        The title's own reading serves unless the description adds ``Service:`` lines: an
        exclusion word in any part rules out the categories of every part, so those are
        matched together.
        """
        if booking.description and service_lines(booking.description):
            return self._matcher.categories(booking.summary, booking.description)
        return self.reading(booking.summary).categories


def patients_declined(booking: Booking, identity: Identity) -> bool:
    """True when every attendee who is the patient declined the booking (SPEC §5)."""
    if not identity.emails:  # most bookings: no attendee is the patient
        return False
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


def link(items: Iterable[ReadBooking], *, ambiguous: Collection[str] = ()) -> Linking:
    """Group bookings into patients; bookings with no usable identity are left out.

    ``ambiguous`` names compared names already known to be carried by several identified
    patients — by bookings not among ``items`` (a re-assessment of part of a clinic): they
    link nobody here either.

    Bookings saying the same about their patient are one patient whatever else links
    them, so the joining is done over the distinct identities (a patient's bookings
    mostly repeat one), each counting the bookings that carry it.
    """
    entries = [item for item in items if item.identity.kind is not None]
    number: dict[Identity, int] = {}
    carried: list[int] = []  # bookings carrying each identity, by its number
    for entry in entries:
        found = number.setdefault(entry.identity, len(number))
        if found == len(carried):
            carried.append(1)
        else:
            carried[found] += 1
    identities = list(number)
    sets = _DisjointSets(len(identities))
    _join_strong(identities, sets)
    shared, unlinked = _join_names(identities, carried, sets, frozenset(ambiguous))
    groups: dict[int, list[ReadBooking]] = defaultdict(list)
    left: list[ReadBooking] = []
    for entry in entries:
        index = number[entry.identity]
        if index in unlinked:
            left.append(entry)
        else:
            groups[sets.find(index)].append(entry)
    del sets, number  # each patient's list goes as soon as its group holds the bookings
    built = sorted((_group(groups.pop(root)) for root in list(groups)), key=_patient_key)
    return Linking(built, shared, left)


def link_patients(items: Iterable[ReadBooking]) -> list[PatientGroup]:
    """The patient groups of :func:`link`."""
    return link(items).groups


def _patient_key(group: PatientGroup) -> PatientKey:
    return group.patient.key


def _join_strong(identities: Sequence[Identity], sets: _DisjointSets) -> None:
    first_seen: dict[tuple[str, str], int] = {}
    for index, ident in enumerate(identities):
        keys = [("id", ident.patient_id)] if ident.patient_id else []
        keys += [("email", email) for email in ident.emails]
        for key in keys:
            sets.union(first_seen.setdefault(key, index), index)


def _join_names(
    identities: Sequence[Identity],
    carried: Sequence[int],
    sets: _DisjointSets,
    known: frozenset[str],
) -> tuple[list[AmbiguousName], set[int]]:
    """Link name-only identities; return the ambiguous names and the identities they leave out.

    ``carried``: how many bookings carry each identity (names count bookings).
    """
    strong_roots: dict[str, set[int]] = defaultdict(set)
    carriers: Counter[str] = Counter()
    weak_by_name: dict[str, list[int]] = defaultdict(list)
    for index, ident in enumerate(identities):
        key = ident.name_key
        if key is None:
            continue
        carriers[key] += carried[index]
        if ident.strong:
            strong_roots[key].add(sets.find(index))
        else:
            weak_by_name[key].append(index)
    ambiguous: list[AmbiguousName] = []
    unlinked: set[int] = set()
    for key in sorted(carriers):
        roots, weak = strong_roots.get(key, set()), weak_by_name.get(key, [])
        if len(roots) > 1 or key in known:
            weak_bookings = sum(carried[index] for index in weak)
            ambiguous.append(AmbiguousName(key, carriers[key], len(roots), weak_bookings))
            unlinked.update(weak)
        elif weak:
            anchor = next(iter(roots)) if roots else weak[0]
            for index in weak:
                sets.union(anchor, index)
    return ambiguous, unlinked


def _group(members: list[ReadBooking]) -> PatientGroup:
    members.sort(key=lambda entry: (entry.booking.day, entry.booking.id))
    idents = [entry.identity for entry in members]
    ids = frozenset(i.patient_id for i in idents if i.patient_id) or _NONE
    emails = _all_emails(idents)
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


def _all_emails(idents: Sequence[Identity]) -> frozenset[str]:
    """Every e-mail of ``idents``: most patients' bookings carry one set, kept as it is."""
    found = {i.emails for i in idents if i.emails}
    if len(found) == 1:
        return found.pop()
    return frozenset(email for emails in found for email in emails) or _NONE


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
