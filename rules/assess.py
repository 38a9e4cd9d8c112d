"""The whole decision in one call: bookings in, conflicts and eligibility out (SPEC §3–§5, §7).

This is the functional core's front door. It reads each booking once (categories,
patient identity), leaves out what SPEC §5 says to ignore — recording why for every
treatment booking it leaves out —, links patients, and runs detection and
eligibility. It takes "today" as an argument and touches nothing outside its inputs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from rules.conflicts import detect_conflicts
from rules.eligibility import DEFAULT_FEED_HORIZON_DAYS, find_eligibility
from rules.model import AmbiguousName, Booking, Conflict, Eligibility, Policy, Skip
from rules.patients import (
    Identity,
    IdentityOptions,
    PatientGroup,
    ReadBooking,
    TitleNames,
    identify,
    link,
    patients_declined,
)
from rules.vocabulary import Matcher

__all__ = ["Assessment", "Scope", "assess", "read_bookings"]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which days are scanned (SPEC §5) and how far eligibility looks ahead (SPEC §7)."""

    today: date
    days_back: int = 180
    days_ahead: int = 365
    feed_horizon_days: int = DEFAULT_FEED_HORIZON_DAYS

    def covers(self, day: date) -> bool:
        offset = (day - self.today).days
        return -self.days_back <= offset <= self.days_ahead


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the engine decided about one clinic's bookings."""

    conflicts: list[Conflict]
    eligibility: list[Eligibility]
    skipped: list[Skip] = field(default_factory=list)
    patients: list[PatientGroup] = field(default_factory=list)
    ambiguous_names: list[AmbiguousName] = field(default_factory=list)
    """Names several identified patients carry, which link no booking (SPEC §4)."""


def read_bookings(
    bookings: Iterable[Booking],
    matcher: Matcher,
    scope: Scope,
    options: IdentityOptions,
    titles: TitleNames | None = None,
    *,
    known: Sequence[Identity | None] | None = None,
) -> tuple[list[ReadBooking], list[Skip]]:
    """Classify and identify each booking; set aside what must not be evaluated.

    ``titles`` may carry titles already read with ``matcher`` (a caller reading a clinic
    a part at a time shares one); by default the titles are read afresh. ``known`` may
    give bookings' identities already read (``identities`` of :func:`assess`).
    """
    kept: list[ReadBooking] = []
    skipped: list[Skip] = []
    titles = titles or TitleNames(matcher)
    # A patient's bookings mostly say the same about them: one object for each identity.
    identities: dict[Identity, Identity] = {}
    pairs: Iterable[tuple[Booking, Identity | None]] = (
        ((booking, None) for booking in bookings)
        if known is None
        else zip(bookings, known, strict=True)  # never one booking left unread
    )
    for booking, given in pairs:
        if not scope.covers(booking.day):
            continue
        identity = identify(booking, titles, options) if given is None else given
        read = ReadBooking(
            booking=booking,
            identity=identities.setdefault(identity, identity),
            categories=titles.categories(booking),
        )
        reason = _reason_to_leave_out(read)
        if reason is None:
            kept.append(read)
        elif read.categories:
            skipped.append(Skip(uid=booking.uid, reason=reason, calendar=booking.calendar))
    return kept, skipped


def _reason_to_leave_out(read: ReadBooking) -> str | None:
    if read.booking.cancelled:
        return "cancelled"
    if patients_declined(read.booking, read.identity):
        return "declined by the patient"
    if read.categories and read.identity.kind is None:
        return "no patient could be identified (no id, patient e-mail or name)"
    return None


def assess(
    bookings: Iterable[Booking],
    policy: Policy,
    scope: Scope,
    *,
    matcher: Matcher | None = None,
    options: IdentityOptions | None = None,
    ambiguous: Collection[str] = (),
    titles: TitleNames | None = None,
    identities: Sequence[Identity | None] | None = None,
    eligibility: bool = True,
) -> Assessment:
    """Detect conflicts and eligibility over a clinic's bookings, as of ``scope.today``.

    ``ambiguous``: names other bookings of the clinic show to be shared by several
    identified patients (see :func:`rules.patients.link`). ``identities``: for each of
    ``bookings`` in order, its identity as :func:`rules.patients.identify` already read it
    with ``options`` and ``titles``, or ``None`` where it was not. ``eligibility=False``:
    conflicts only, for a caller that does not publish eligible dates (the assessment's
    ``eligibility`` is then empty).
    """
    matcher = matcher or Matcher(policy)
    read, skipped = read_bookings(
        bookings, matcher, scope, options or IdentityOptions(), titles, known=identities
    )
    linking = link(read, ambiguous=ambiguous)
    groups = linking.groups
    conflicts = detect_conflicts(groups, policy)
    eligible = (
        find_eligibility(groups, policy, scope.today, scope.feed_horizon_days)
        if eligibility
        else []
    )
    return Assessment(
        conflicts=sorted(conflicts, key=_conflict_order),
        eligibility=sorted(eligible, key=_eligibility_order),
        skipped=skipped + [_unlinked(item) for item in linking.unlinked if item.categories],
        patients=groups,
        ambiguous_names=linking.ambiguous,
    )


_AMBIGUOUS = (
    "no patient could be identified: its name is shared by patients with different ids or e-mails"
)


def _unlinked(item: ReadBooking) -> Skip:
    return Skip(uid=item.booking.uid, reason=_AMBIGUOUS, calendar=item.booking.calendar)


def _conflict_order(conflict: Conflict) -> tuple[object, ...]:
    return (conflict.later.day, conflict.earlier.day, conflict.rule.name, conflict.key)


def _eligibility_order(item: Eligibility) -> tuple[object, ...]:
    return (item.eligible_from, item.patient.key, item.rule.name, item.after.id)
