"""A calendar's name passes the ingest boundary when the calendar is connected (SPEC §9)."""

from __future__ import annotations

from sync.ingest.text import calendar_name


def test_a_calendar_name_loses_control_characters_and_lone_surrogates() -> None:
    assert calendar_name("Dr\x00 Smith\ud800\n") == "Dr Smith"


def test_a_calendar_name_is_cut_to_what_the_store_holds() -> None:
    assert calendar_name("x" * 500) == "x" * 200
