"""Linking bookings into patients, and the guard on shared names (SPEC §4: no guessing)."""

from __future__ import annotations

import random
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from rules.model import AmbiguousName, Booking, Policy
from rules.patients import Identity, ReadBooking, TitleNames, link, name_key
from rules.vocabulary import Matcher
from tests.factories import booking, guest, pairs, run

MN_BOTOX = "botox-after-microneedling"


def test_a_name_two_identified_patients_carry_links_nobody(default_policy: Policy) -> None:
    result = run(
        [
            booking("p1", "2026-12-01", "Facial - Jane Doe", patient_id="P1"),
            booking("p2", "2026-12-02", "Facial - Jane Doe", attendees=(guest("jd@example.com"),)),
            booking("mn", "2026-12-03", "Microneedling - Jane Doe"),
            booking("bo", "2026-12-05", "Botox - Jane Doe"),
        ],
        default_policy,
    )
    assert result.conflicts == []
    assert result.ambiguous_names == [AmbiguousName("doe jane", 4, 2, 2)]
    assert {skip.uid for skip in result.skipped if "shared by patients" in skip.reason} == {
        "mn",
        "bo",
    }
    assert all("mn" not in {m.booking.id for m in g.members} for g in result.patients)


def test_a_descriptive_word_read_as_a_name_by_many_patients_links_none(
    default_policy: Policy,
) -> None:
    """The field case: one "name" on bookings of a hundred patients with their own ids."""
    bookings = [
        booking(f"p{i}", "2026-12-01", "Facial - Glow Package", patient_id=f"P{i}")
        for i in range(100)
    ]
    bookings += [
        booking("mn", "2026-12-02", "Microneedling - Glow Package"),
        booking("bo", "2026-12-04", "Botox - Glow Package"),
    ]
    result = run(bookings, default_policy)
    assert result.conflicts == []
    assert result.ambiguous_names == [AmbiguousName(name_key("Glow Package"), 102, 100, 2)]


def test_one_patient_with_an_id_and_an_email_joined_is_not_ambiguous(
    default_policy: Policy,
) -> None:
    mail = (guest("jane@example.com"),)
    result = run(
        [
            booking("a", "2026-11-20", "Facial - Jane Doe", patient_id="P1"),
            booking("b", "2026-11-21", "Peel - Jane Doe", patient_id="P1", attendees=mail),
            booking("c", "2026-11-22", "Facial - Jane Doe", attendees=mail),
            booking("mn", "2026-12-01", "Microneedling - Jane Doe"),
            booking("bo", "2026-12-05", "Botox - Jane Doe"),
        ],
        default_policy,
    )
    assert result.ambiguous_names == []
    assert pairs(result) == {(MN_BOTOX, "mn", "bo", 4)}


def test_name_only_bookings_still_link_when_no_identified_patient_has_the_name(
    default_policy: Policy,
) -> None:
    result = run(
        [
            booking("mn", "2026-12-01", "Microneedling - Jane Doe"),
            booking("bo", "2026-12-05", "Botox - Jane Doe"),
            booking("other", "2026-12-01", "Facial - Ana Ruiz", patient_id="P7"),
        ],
        default_policy,
    )
    assert pairs(result) == {(MN_BOTOX, "mn", "bo", 4)}
    assert result.ambiguous_names == []


def test_an_ambiguous_name_leaves_identified_patients_intact(default_policy: Policy) -> None:
    result = run(
        [
            booking("mn", "2026-12-01", "Microneedling - Jane Doe", patient_id="P1"),
            booking("bo", "2026-12-05", "Botox - Jane Doe", patient_id="P1"),
            booking("p2", "2026-12-01", "Microneedling - Jane Doe", patient_id="P2"),
        ],
        default_policy,
    )
    assert pairs(result) == {(MN_BOTOX, "mn", "bo", 4)}
    assert result.ambiguous_names == [AmbiguousName("doe jane", 3, 2, 0)]


# --- properties: the linking against a slow, obviously right oracle ---------------------------

_IDS = st.sampled_from([None, "P1", "P2", "P3"])
_EMAILS = st.frozensets(st.sampled_from(["a@x.example", "b@x.example", "c@x.example"]), max_size=2)
_NAMES = st.sampled_from([None, "doe jane", "lee kim", "new pt"])


@st.composite
def _identities(draw: st.DrawFn) -> list[ReadBooking]:
    count = draw(st.integers(0, 14))
    return [
        _read(f"b{i}", Identity(draw(_IDS), draw(_EMAILS), key := draw(_NAMES), key))
        for i in range(count)
    ]


def _read(uid: str, identity: Identity) -> ReadBooking:
    return ReadBooking(Booking(uid, uid, "Dr Smith", date(2026, 12, 1)), identity, frozenset())


def _oracle(items: list[ReadBooking]) -> tuple[set[frozenset[str]], dict[str, int]]:
    """Partition and ambiguous names, by merging sets until nothing changes."""
    known = [item for item in items if item.identity.kind is not None]
    strong = [item for item in known if item.identity.strong]
    parts = [{item.booking.id} for item in strong]
    by_id = {item.booking.id: item.identity for item in strong}

    def tied(one: set[str], other: set[str]) -> bool:
        return any(
            (by_id[a].patient_id and by_id[a].patient_id == by_id[b].patient_id)
            or by_id[a].emails & by_id[b].emails
            for a in one
            for b in other
        )

    merged = True
    while merged:
        merged = False
        for i in range(len(parts)):
            for j in range(i + 1, len(parts)):
                if tied(parts[i], parts[j]):
                    parts[i] |= parts.pop(j)
                    merged = True
                    break
            if merged:
                break
    names = {item.identity.name_key for item in known if item.identity.name_key}
    holders = {key: [p for p in parts if any(by_id[b].name_key == key for b in p)] for key in names}
    weak = [item for item in known if not item.identity.strong]
    for key in {item.identity.name_key for item in weak}:
        named = [item.booking.id for item in weak if item.identity.name_key == key]
        if len(holders[key]) == 1:
            holders[key][0].update(named)
        elif not holders[key]:
            parts.append(set(named))
    ambiguous = {key: len(found) for key, found in holders.items() if len(found) > 1}
    return {frozenset(p) for p in parts}, ambiguous


@given(_identities())
def test_linking_equals_the_oracle(items: list[ReadBooking]) -> None:
    linking = link(items)
    groups = {frozenset(m.booking.id for m in g.members) for g in linking.groups}
    expected_groups, expected_ambiguous = _oracle(items)
    assert groups == expected_groups
    assert {a.name_key: a.patients for a in linking.ambiguous} == expected_ambiguous


@given(_identities(), st.randoms(use_true_random=False))
def test_linking_does_not_depend_on_order(items: list[ReadBooking], rnd: random.Random) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    first, second = link(items), link(shuffled)
    assert [g.members for g in first.groups] == [g.members for g in second.groups]
    assert first.ambiguous == second.ambiguous


@given(_identities())
def test_no_group_is_linked_through_an_ambiguous_name(items: list[ReadBooking]) -> None:
    linking = link(items)
    ambiguous = {a.name_key for a in linking.ambiguous}
    for group in linking.groups:
        for member in group.members:
            assert member.identity.strong or member.identity.name_key not in ambiguous
    unlinked = {m.booking.id for m in linking.unlinked}
    assert all(m.identity.name_key in ambiguous for m in linking.unlinked)
    assert len(unlinked) == sum(a.unlinked for a in linking.ambiguous)


def test_a_patients_bookings_share_one_identity_name_and_email_set(
    default_policy: Policy,
) -> None:
    # Memory, not results: at 100k bookings 14k identities and 100 names are held once.
    jane = (guest("jd@example.com"),)
    result = run(
        [
            booking("mn", "2026-12-01", "Microneedling - Jane Doe", attendees=jane),
            booking("bo", "2026-12-20", "Botox - Jane Doe", attendees=jane),
            booking("rv", "2026-12-21", "Jane Doe review", attendees=jane),
        ],
        default_policy,
    )
    [group] = result.patients
    first, *others = (member.identity for member in group.members)
    assert all(other is first for other in others)
    assert group.patient.emails is first.emails
    titles = TitleNames(Matcher(default_policy))
    assert titles("Botox - Jane Doe")[0] is titles("Jane Doe review")[0] == "Jane Doe"
    assert titles("Botox - Jane Doe")[1] is titles("Jane Doe review")[1]
