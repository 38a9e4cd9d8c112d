"""The ``initials-tag`` label: stable, keyed, and never one label for two patients (SPEC §7)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.model import MatchKind, Patient, PatientKey
from sync.feeds.labels import TAG_CHARS, PatientLabel, feed_labels, label_tag, patient_label

KEY = b"k" * 32
TAG = PatientLabel.INITIALS_TAG


def named(name: str) -> Patient:
    return Patient(PatientKey(MatchKind.NAME, name.casefold()), name=name)


surnames = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
same_initials = st.lists(surnames, min_size=1, max_size=60, unique=True).map(
    lambda tails: [named(f"Ivy N{tail}") for tail in tails]
)


@given(patients=same_initials, key=st.binary(min_size=16, max_size=32))
def test_patients_sharing_initials_get_labels_no_two_alike(
    patients: list[Patient], key: bytes
) -> None:
    labels = feed_labels(patients, TAG, key=key)
    assert len(set(labels.values())) == len(patients)
    assert all(label.startswith("I. N. ·") for label in labels.values())


@given(patients=same_initials)
def test_a_label_is_the_same_in_every_render_and_any_order(patients: list[Patient]) -> None:
    first = feed_labels(patients, TAG, key=KEY)
    assert feed_labels(list(reversed(patients)), TAG, key=KEY) == first


def test_short_tags_that_meet_grow_until_they_differ() -> None:
    """Among 3,000 patients some 4-character tags meet; those get longer ones, all distinct."""
    patients = [named(f"Ivy N{index}") for index in range(3000)]
    labels = feed_labels(patients, TAG, key=KEY)
    assert len(set(labels.values())) == 3000
    lengths = {len(label.split("·")[1]) for label in labels.values()}
    assert TAG_CHARS in lengths
    assert max(lengths) > TAG_CHARS, "at least one pair met at 4 characters"


def test_the_tag_depends_on_the_clinics_key_and_shows_no_name() -> None:
    jane = named("Jane Doe")
    mine = patient_label(jane, TAG, key=KEY)
    theirs = patient_label(jane, TAG, key=b"x" * 32)
    assert mine.startswith("J. D. ·")
    assert theirs.startswith("J. D. ·")
    assert mine != theirs
    assert label_tag(jane.key, KEY) == mine.split("·")[1]
    assert not {"jane", "doe"} & set(mine.casefold().split())


def test_without_a_key_initials_tag_shows_the_id_label() -> None:
    jane = named("Jane Doe")
    assert patient_label(jane, TAG) == patient_label(jane, PatientLabel.ID)
