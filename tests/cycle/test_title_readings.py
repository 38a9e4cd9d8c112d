"""A full re-check keeps what each title says, per reading version, for the next one (SPEC §4)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, select

from rules.patients import TitleNames
from rules.titles import TitleReader
from rules.vocabulary import Matcher
from sync.policy_file import load_policy
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.tables import TitleReadingRow
from sync.store.title_readings import (
    keep_readings,
    load_readings,
    reading_version,
    title_digest,
)
from sync.usecases.partition import Partition, partition_clinic
from tests.cycle.test_incremental import booking
from tests.cycle.twins import Twins

TITLES = (
    "Botox - Jane Doe",
    "Microneedling (SkinPen) — Siobhán O'Brien",
    "O'Brien, Siobhan: Dysport 20u",
    "Hydrafacial w/ Zoë Müller",
    "Consultation",
    "Microneedling + Botox Ann Lee",
    "Filler — Miller Jane",
    "  ",
    "Botox " + "Anna " * 900,  # longer than an index entry
)


def _stream(twins: Twins, *, policy: bool = True) -> Partition:
    with session_scope(twins.engine) as session:
        return partition_clinic(
            session,
            twins.full.id,
            twins.reader,
            twins.scope,
            policy=twins.policy if policy else None,
        )


def _kept(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(TitleReadingRow)).one()[0]


def test_a_new_process_recalls_each_title_and_reads_it_as_a_fresh_reader_would(
    engine: Engine,
) -> None:
    twins = Twins(engine)
    for n, title in enumerate(TITLES):
        twins.put(booking(f"b{n}", title, n))
    first = _stream(twins)
    assert set(first.titles.fresh) == set(TITLES)  # nothing kept yet: all read
    assert _kept(engine) == len(TITLES)
    again = _stream(twins)  # as a new process would: a new reader, nothing in memory
    assert again.titles.fresh == {}
    fresh = TitleReader(twins.reader.matcher)
    for title in TITLES:
        assert again.titles.reading(title) == fresh.read(title)
        assert again.titles.reading(title) == first.titles.reading(title)


def test_titles_no_live_booking_carries_are_let_go(engine: Engine) -> None:
    twins = Twins(engine)
    twins.put(booking("a", "Botox Jane Doe", 3))
    twins.put(booking("b", "Microneedling Ann Lee", 4))
    _stream(twins)
    twins.put(booking("a", "Botox Janet Doe", 3))  # retitled
    twins.delete("smith", "b")
    again = _stream(twins)
    assert set(again.titles.fresh) == {"Botox Janet Doe"}
    with session_scope(engine) as session:
        kept = load_readings(session, twins.full.id, reading_version(twins.policy))
    assert set(kept) == {title_digest("Botox Janet Doe")}


def test_another_policy_reads_every_title_again_and_its_readings_replace_the_old(
    engine: Engine,
) -> None:
    twins = Twins(engine)
    twins.put(booking("a", "Profhilo Jane Doe", 3))
    before = _stream(twins).titles.reading("Profhilo Jane Doe")
    services = tuple(s for s in twins.policy.services if "profhilo" not in s.casefold())
    twins.policy = replace(twins.policy, services=services)
    twins.reader = replace(twins.reader, matcher=Matcher(twins.policy))
    after = _stream(twins)
    assert set(after.titles.fresh) == {"Profhilo Jane Doe"}
    assert after.titles.reading("Profhilo Jane Doe") != before
    assert _kept(engine) == 1  # the old version's reading is gone


def test_a_re_check_without_the_policy_keeps_nothing(engine: Engine) -> None:
    twins = Twins(engine)
    twins.put(booking("a", "Botox Jane Doe", 3))
    _stream(twins, policy=False)
    assert _kept(engine) == 0


def test_one_clinic_never_recalls_another_clinics_readings(engine: Engine) -> None:
    policy = load_policy()
    version = reading_version(policy)
    reading = TitleReader(Matcher(policy)).read("Botox Jane Doe")
    digest = title_digest("Botox Jane Doe")
    with session_scope(engine) as session:
        mine = get_or_create_clinic(session, "mine").id
        theirs = get_or_create_clinic(session, "theirs").id
        keep_readings(session, theirs, version, fresh={digest: reading}, kept=(), live={digest})
    with session_scope(engine) as session:
        assert load_readings(session, mine, version) == {}
        assert load_readings(session, theirs, version) == {digest: reading}
        keep_readings(session, theirs, version, fresh={digest: reading}, kept=(), live={digest})
    assert _kept(engine) == 1  # the same reading again (another worker) is left as it is


_MATCHER = Matcher(load_policy())
_WORDS = st.sampled_from(
    [
        "Botox",
        "botox",
        "Microneedling",
        "SkinPen",
        "Jane",
        "Doe",
        "Zoë",
        "O'Brien",
        "20u",
        "review",
        "Filler",
        "Miller",
        "new pt",
        "—",
        "-",
        "/",
        ",",
        "(",
        ")",
        "w/",
        "for",
        "&",
    ]
)
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)
_TITLES = st.lists(st.one_of(_WORDS, _TEXT), max_size=8).map(" ".join)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(titles=st.lists(_TITLES, min_size=1, max_size=5, unique=True))
def test_a_kept_reading_is_the_reading(engine: Engine, titles: list[str]) -> None:
    """Kept and loaded back, each reading is what reading its title gives, whatever it is."""
    version = reading_version(load_policy())
    made = {title_digest(title): TitleReader(_MATCHER).read(title) for title in titles}
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, "rivera").id
        session.execute(delete(TitleReadingRow.__table__))  # type: ignore[attr-defined]
        keep_readings(session, clinic, version, fresh=made, kept=(), live=set(made))
    with session_scope(engine) as session:
        loaded = load_readings(session, clinic, version)
    assert loaded == made
    recalled = TitleNames(_MATCHER, lambda title: loaded[title_digest(title)])
    for title in titles:
        assert recalled.reading(title) == TitleNames(_MATCHER).reading(title)
    assert recalled.fresh == {}
