"""Which stored bookings a change can reach: the closure over shared identity keys (SPEC §4, §5).

Detection after a pull re-assesses only the *affected set* of the changed bookings, not
the whole clinic. The set is grown to a fixpoint from the rows of the changed events
(live or deleted, on every calendar of the clinic) and the keys those bookings gave up,
adding at each step, with a few set-based queries per step:

- every live booking carrying an identity key (id, e-mail or name: see
  :func:`sync.usecases.pull.identity_keys`) of a booking in the set, or a key given up;
- every live copy of an event in the set (detection keeps one copy of each event and
  must see all of them to keep the same one);
- both bookings of every unresolved stored conflict that involves a booking in the set
  (so a conflict whose booking left the patient is re-examined, and its resolution
  explained, with both sides in view).

Why the set is enough — the same groups, hence the same conflicts, as over the clinic.
Call two bookings *key-connected* when a chain of bookings joins them, each sharing a
key with the next. :func:`rules.patients.link_patients` only ever joins key-connected
bookings: an id or an e-mail join shares that key; a name-only booking joins either
another name-only booking of the same name, or the one identified patient (a strong
component) holding a booking of that name. And how it groups the bookings of one
key-connected component *K* depends on the bookings of *K* alone: the strong joins are
made by keys inside *K*; the name rule counts, for a name *n*, the identified patients
among the bookings named *n* — all of which share *n*, so lie in *K*, as do their whole
strong components. So linking *K* alone gives the groups that linking the clinic gives
inside *K*. The closure is a union of whole components of the live bookings (it adds
every live booking sharing any key with one in it), so assessing it gives exactly the
clinic's groups that touch it; an ambiguous name stays ambiguous, because every booking
of that name, and every patient those bookings belong to, is inside. Which bookings are
left out (cancelled, declined, outside the horizon) is decided booking by booking, so it
is the same in the set as in the clinic, and taking in more bookings than the real
groups (a name shared by patients kept apart) changes no group.

Why the rest needs no look. A booking outside the set shares no key with a changed one,
before or after the change (the keys a changed booking kept are among its keys now, the
ones it lost are followed explicitly, a deleted booking keeps its keys), so its
component holds no changed booking and the same bookings as before: its groups, and so
its stored conflicts, are what the last detection found. The stored conflicts to
reconcile are therefore those involving a booking of the set, and those detected now —
found by public id, since the stored row may name another copy of the same event.

"Today" also moves what is in view (SPEC §5's horizon); :mod:`sync.usecases.cycle` re-checks the
whole clinic when the date changes, and after anything went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from rules.model import PatientKey
from sync.store.conflicts import ConflictState, conflicts_touching, live_copies, rows_of_events
from sync.store.identity_keys import keys_by_row, rows_with_keys

__all__ = ["Changes", "affected_rows"]

_UNRESOLVED = tuple(state for state in ConflictState if state is not ConflictState.RESOLVED)


@dataclass(frozen=True, slots=True)
class Changes:
    """What a pull changed in a clinic: what detection starts from."""

    booking_ids: tuple[str, ...]
    """Provider event ids of the bookings inserted, updated or deleted."""
    retired_keys: tuple[PatientKey, ...] = ()
    """Identity keys the updated bookings no longer carry."""


def affected_rows(session: Session, clinic_id: int, changes: Changes) -> set[int]:
    """The booking rows a re-assessment of ``changes`` must read (see the module docstring)."""
    rows: set[int] = set()
    keys: set[PatientKey] = set()
    new_rows = rows_of_events(session, clinic_id, changes.booking_ids)
    new_keys = set(changes.retired_keys)
    while new_rows or new_keys:
        rows |= new_rows
        for row_keys in keys_by_row(session, new_rows).values():
            new_keys |= row_keys
        new_keys -= keys
        keys |= new_keys
        reached = rows_with_keys(session, clinic_id, new_keys)
        reached |= live_copies(session, clinic_id, new_rows)
        reached |= _conflict_partners(session, clinic_id, new_rows)
        new_rows, new_keys = reached - rows, set()
    return rows


def _conflict_partners(session: Session, clinic_id: int, row_ids: set[int]) -> set[int]:
    touching = conflicts_touching(session, clinic_id, row_ids, states=_UNRESOLVED)
    return {row for c in touching for row in (c.facts.earlier_row_id, c.facts.later_row_id)}
