"""How much of a patient's name a feed shows: full, initials, initials and a tag, or an id.

SPEC §7.

A feed URL may be forwarded or leak; the clinic's ``feed_patient_label`` decides what it
then gives away. ``id`` shows the clinic's own patient id when there is one, and
otherwise a short hash of the patient key, so no e-mail address or name shows.

Initials alone collide: in the demo clinic 37 of 81 patients shared their initials with
another one. ``initials-tag`` adds a short tag — the first characters of an HMAC-SHA256
of the patient key under the clinic's own secret (RFC 2104), in Crockford's base32 (no
I, L, O, U to misread) — so "I. N. ·7KQ2" and "I. N. ·M3XD" are told apart, the tag is
the same in every render, and without the clinic's key it cannot be recomputed from a
guessed name. :func:`feed_labels` names every patient of one feed, lengthening the tags
of the rare patients whose short tags still meet, so a feed never shows one label for
two patients.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Iterable
from itertools import groupby

from rules.model import MatchKind, Patient, PatientKey

__all__ = ["TAG_CHARS", "PatientLabel", "feed_labels", "label_tag", "patient_label"]

_REFERENCE_CHARS = 8
TAG_CHARS = 4
"""Characters in a tag: 20 bits, so patients of one clinic sharing initials rarely meet."""
_TAG_STEP = 2
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DIGEST_CHARS = 51  # 256 bits / 5 bits a character


class PatientLabel(enum.StrEnum):
    """The levels of disclosure."""

    FULL = "full"
    INITIALS = "initials"
    INITIALS_TAG = "initials-tag"
    ID = "id"


def patient_label(
    patient: Patient, mode: PatientLabel, *, key: bytes | None = None, tag_chars: int = TAG_CHARS
) -> str:
    """What a feed calls ``patient`` under ``mode``.

    ``initials-tag`` needs the clinic's ``key``; without one it shows the ``id`` label,
    which gives away no more.
    """
    if mode is PatientLabel.FULL:
        return patient.label
    initials = _initials(patient) if mode is not PatientLabel.ID else None
    if mode is PatientLabel.INITIALS and initials:
        return initials
    if mode is PatientLabel.INITIALS_TAG and key is not None:
        tag = label_tag(patient.key, key, tag_chars)
        return f"{initials} ·{tag}" if initials else f"·{tag}"
    return _reference(patient)


def feed_labels(
    patients: Iterable[Patient], mode: PatientLabel, *, key: bytes | None = None
) -> dict[PatientKey, str]:
    """A label for each patient of one feed, no two alike for ``initials-tag``.

    Patients whose tags meet get longer tags (6, 8, … characters) until they differ;
    everyone else keeps the short tag, so a label stays the same from render to render.
    """
    unique = {patient.key: patient for patient in patients}
    if mode is not PatientLabel.INITIALS_TAG or key is None:
        return {k: patient_label(p, mode, key=key) for k, p in unique.items()}
    labels: dict[PatientKey, str] = {}
    _spread(list(unique.values()), key, TAG_CHARS, labels)
    return labels


def _spread(patients: list[Patient], key: bytes, chars: int, labels: dict[PatientKey, str]) -> None:
    """Label ``patients`` with ``chars``-long tags; those that still meet go one step longer."""

    def label(patient: Patient) -> str:
        return patient_label(patient, PatientLabel.INITIALS_TAG, key=key, tag_chars=chars)

    for text, group in groupby(sorted(patients, key=label), key=label):
        alike = list(group)
        if len(alike) == 1 or chars >= _DIGEST_CHARS:
            labels.update((patient.key, text) for patient in alike)
        else:
            _spread(alike, key, chars + _TAG_STEP, labels)


def label_tag(patient: PatientKey, key: bytes, chars: int = TAG_CHARS) -> str:
    """The first ``chars`` base32 characters of HMAC-SHA256(``key``, patient key)."""
    digest = hmac.new(key, str(patient).encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    out = []
    for _ in range(min(chars, _DIGEST_CHARS)):
        number, index = divmod(number, 32)
        out.append(_CROCKFORD[index])
    return "".join(out)


def _initials(patient: Patient) -> str | None:
    if not patient.name:
        return None
    initials = [f"{word[0].upper()}." for word in patient.name.split() if word[:1].isalnum()]
    return " ".join(initials) or None


def _reference(patient: Patient) -> str:
    if patient.key.kind is MatchKind.ID:
        return patient.key.value
    digest = hashlib.sha256(str(patient.key).encode()).hexdigest()
    return f"#{digest[:_REFERENCE_CHARS]}"
