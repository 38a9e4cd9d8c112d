"""Patient identity and linking (SPEC §4)."""

from __future__ import annotations

from rules.model import MatchKind, Policy
from rules.patients import IdentityOptions, TitleNames, identify, name_key
from rules.vocabulary import Matcher
from tests.factories import booking, guest, pairs, run

NO_OPTIONS = IdentityOptions()


def test_explicit_id_is_trusted_first(matcher: Matcher) -> None:
    b = booking(
        "a",
        "2026-12-01",
        "Botox - Jane Doe",
        patient_id=" P-7 ",
        attendees=(guest("jane@example.com"),),
    )
    ident = identify(b, TitleNames(matcher), NO_OPTIONS)
    assert ident.patient_id == "P-7"
    assert ident.kind is MatchKind.ID


def test_attendee_emails_exclude_organizer_calendar_rooms_and_staff(matcher: Matcher) -> None:
    attendees = (
        guest("dr.smith@clinic.example", organizer=True),
        guest("Nurse@Clinic.Example"),
        guest("room-2@clinic.example", resource=True),
        guest("c_123@resource.calendar.google.com"),
        guest("me@self.example", is_self=True),
        guest("Jane.Doe@Example.COM"),
    )
    b = booking("a", "2026-12-01", "Botox", attendees=attendees)
    ident = identify(
        b, TitleNames(matcher), IdentityOptions(staff_domains=frozenset({"clinic.example"}))
    )
    assert ident.emails == frozenset({"jane.doe@example.com"})
    assert ident.kind is MatchKind.EMAIL


def test_patient_or_client_line_in_description_names_the_patient(matcher: Matcher) -> None:
    b = booking("a", "2026-12-01", "Appointment", description="Booked online\nClient: Ana López")
    assert identify(b, TitleNames(matcher), NO_OPTIONS).name == "Ana López"


def test_title_name_is_what_is_left_of_a_messy_title(matcher: Matcher) -> None:
    titles = {
        "Botox 20u - Jane Doe": "Jane Doe",
        "Jane Doe — Microneedling (SkinPen®) #2": "Jane Doe",
        "Tox maintenance (moved) - Tom Reed": "Tom Reed",
        "Potenza RF | Ben Carter": "Ben Carter",
        "Follow-up appt: Botox w/ Anna-Maria López 💉": "Anna-Maria López",
        "Microneedling + Botox | O'Brien, Siobhan": "O'brien Siobhan",
    }
    for title, expected in titles.items():
        assert (
            identify(booking("a", "2026-12-01", title), TitleNames(matcher), NO_OPTIONS).name
            == expected
        )


def test_title_without_a_two_to_four_word_name_gives_no_patient(matcher: Matcher) -> None:
    for title in ("Botox", "Botox - Jane", "Botox - one two three four five"):
        assert (
            identify(booking("a", "2026-12-01", title), TitleNames(matcher), NO_OPTIONS).kind
            is None
        )


def test_identity_carries_the_compared_form_of_the_name(matcher: Matcher) -> None:
    ident = identify(
        booking("a", "2026-12-01", "Botox - José ÁLVAREZ"), TitleNames(matcher), NO_OPTIONS
    )
    assert (ident.name, ident.name_key) == ("José ÁLVAREZ", "alvarez jose")


def test_names_compare_without_accents_case_spacing_or_word_order() -> None:
    assert name_key("  José   ÁLVAREZ ") == name_key("jose alvarez")
    assert name_key("O'Brien, Siobhan") == name_key("Siobhan O'Brien")
    assert name_key("Jane Doe") != name_key("Jane Dow")


def test_same_id_links_bookings_with_different_names(default_policy: Policy) -> None:
    result = run(
        [
            booking("mn", "2026-12-01", "MN - Mrs A", patient_id="P1"),
            booking("bo", "2026-12-05", "Botox - Ann Smith", patient_id="P1"),
        ],
        default_policy,
    )
    assert [c.match for c in result.conflicts] == [MatchKind.ID]


def test_shared_email_links_across_calendars(default_policy: Policy) -> None:
    jane = (guest("jane@example.com"),)
    result = run(
        [
            booking("mn", "2026-12-01", "SkinPen", attendees=jane, calendar="Room 1"),
            booking("bo", "2026-12-05", "Dysport", attendees=jane, calendar="Dr Lee"),
        ],
        default_policy,
    )
    assert pairs(result) == {("botox-after-microneedling", "mn", "bo", 4)}
    assert result.conflicts[0].match is MatchKind.EMAIL


def test_name_links_a_booking_without_id_or_email_to_an_identified_one(
    default_policy: Policy,
) -> None:
    result = run(
        [
            booking("mn", "2026-12-01", "Microneedling - Jane Doe", patient_id="P1"),
            booking("bo", "2026-12-05", "Botox - jane  DOE"),
        ],
        default_policy,
    )
    assert [c.match for c in result.conflicts] == [MatchKind.NAME]


def test_name_never_links_two_bookings_that_both_carry_an_id_or_email(
    default_policy: Policy,
) -> None:
    result = run(
        [
            booking("mn", "2026-12-01", "Microneedling - Jane Doe", patient_id="P1"),
            booking("bo", "2026-12-05", "Botox - Jane Doe", attendees=(guest("j@example.com"),)),
        ],
        default_policy,
    )
    assert result.conflicts == []


def test_ambiguous_name_is_not_guessed_onto_one_of_two_patients(default_policy: Policy) -> None:
    result = run(
        [
            booking("mn1", "2026-12-01", "Microneedling - Jane Doe", patient_id="P1"),
            booking("mn2", "2026-12-01", "Microneedling - Jane Doe", patient_id="P2"),
            booking("bo", "2026-12-05", "Botox - Jane Doe"),
        ],
        default_policy,
    )
    assert result.conflicts == []


def test_email_and_id_on_one_booking_bridge_the_others(default_policy: Policy) -> None:
    mail = (guest("kim@example.com"),)
    result = run(
        [
            booking("mn", "2026-12-01", "Microneedling", patient_id="P9"),
            booking("consult", "2026-11-20", "Consultation", patient_id="P9", attendees=mail),
            booking("bo", "2026-12-05", "Xeomin", attendees=mail),
        ],
        default_policy,
    )
    assert pairs(result) == {("botox-after-microneedling", "mn", "bo", 4)}
    assert result.conflicts[0].match is MatchKind.EMAIL
    assert str(result.conflicts[0].patient.key) == "id:P9"


def test_treatment_booking_without_patient_is_recorded_not_flagged(
    default_policy: Policy,
) -> None:
    result = run(
        [booking("mn", "2026-12-01", "Microneedling"), booking("bo", "2026-12-02", "Botox")],
        default_policy,
    )
    assert result.conflicts == []
    assert {s.uid for s in result.skipped} == {"mn", "bo"}
    assert all("no patient" in s.reason for s in result.skipped)
