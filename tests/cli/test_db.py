"""``clinic-sync db``: migrations applied and rolled back by the operator."""

from __future__ import annotations

from sqlalchemy import Engine, text

from sync.store.clinics import get_clinic
from sync.store.database import session_scope
from sync.store.migrate import head_revision
from sync.store.sources import Provider, add_source
from tests.cli.conftest import Run, ok, refused


def test_downgrade_goes_back_to_the_revision_asked_and_upgrade_returns(
    cli: Run, store: Engine
) -> None:
    """Rolling a release back keeps the clinic and its calendars (SQLite copies tables)."""
    ok(cli("db", "upgrade"))
    ok(cli("clinics", "add", "alpha", "--name", "Alpha"))
    with session_scope(store) as session:
        alpha = get_clinic(session, "alpha").id
        add_source(
            session,
            alpha,
            Provider.ICS,
            "https://example.com/a.ics",
            display_name="A",
            time_zone="UTC",
        )
    assert "0012" in ok(cli("db", "downgrade", "0012"))
    assert ok(cli("db", "current")).strip() == "0012"
    with session_scope(store) as session:
        names = session.execute(text("SELECT name FROM clinics")).scalars().all()
        calendars = session.execute(text("SELECT count(*) FROM calendar_sources")).scalar()
    assert names == ["Alpha"]
    assert calendars == 1
    ok(cli("db", "upgrade"))
    assert ok(cli("db", "current")).strip() == head_revision()


def test_downgrade_to_an_unknown_revision_is_one_line(cli: Run) -> None:
    ok(cli("db", "upgrade"))
    assert "9999" in refused(cli("db", "downgrade", "9999"), 1, 2)
