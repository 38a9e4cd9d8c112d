"""Channel lifecycle against the emulator: open per Google calendar, renew, stop, forget.

:class:`~sync.push.PushChannels` is driven directly with an injected "now"; the emulator
answers events.watch and channels.stop and counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine

from sync.emulator import EmulatorServer
from sync.push import PushChannels
from sync.store.channels import clinics_to_sweep
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.sources import Provider, add_source, remove_source, set_source_enabled
from tests.google.conftest import connect
from tests.push.conftest import NOW, RENEW_BEFORE, TTL, stored_channels


def test_a_google_calendar_gets_one_channel_that_lives_for_the_ttl(
    channels: PushChannels,
    engine: Engine,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
) -> None:
    source = connect(engine, new_calendar())
    assert channels.ensure(source.id, NOW) is True
    assert channels.ensure(source.id, NOW + timedelta(days=1)) is True
    [channel] = stored_channels(engine, source.id)
    assert channel.expires_at == NOW + TTL
    assert channel.resource_id
    assert emulator.stats().get("events.watch") == 1


def test_caldav_and_ics_calendars_keep_polling_without_a_channel(
    channels: PushChannels, engine: Engine, emulator: EmulatorServer
) -> None:
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, "default").id
        ids = [
            add_source(
                session,
                clinic_id,
                provider,
                f"https://cal.example/{provider}",
                display_name="x",
                time_zone="UTC",
            ).id
            for provider in (Provider.CALDAV, Provider.ICS)
        ]
    assert [channels.ensure(source_id, NOW) for source_id in ids] == [False, False]
    assert "events.watch" not in emulator.stats()


def test_renewal_opens_a_new_channel_before_expiry_then_stops_the_old_one(
    channels: PushChannels,
    engine: Engine,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
) -> None:
    source = connect(engine, new_calendar())
    channels.ensure(source.id, NOW)
    [old] = stored_channels(engine, source.id)
    channels.ensure(source.id, old.expires_at - RENEW_BEFORE - timedelta(minutes=1))
    assert stored_channels(engine, source.id) == [old]
    renewal = old.expires_at - RENEW_BEFORE + timedelta(minutes=1)
    assert channels.ensure(source.id, renewal) is True
    [new] = stored_channels(engine, source.id)
    assert new.channel_id != old.channel_id
    assert new.expires_at == renewal + TTL
    assert emulator.stats()["events.watch"] == 2
    assert emulator.stats()["channels.stop"] == 1


def test_removing_or_disabling_a_calendar_stops_its_channel(
    channels: PushChannels,
    engine: Engine,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
) -> None:
    removed, disabled, kept = (connect(engine, new_calendar(name)) for name in ("A", "B", "C"))
    for source in (removed, disabled, kept):
        channels.ensure(source.id, NOW)
    with session_scope(engine) as session:
        remove_source(session, removed.id)
        set_source_enabled(session, disabled.id, False)
    with session_scope(engine) as session:
        assert clinics_to_sweep(session, NOW) == [_clinic(engine)]
    assert channels.sweep(_clinic(engine), NOW + timedelta(minutes=1)) == 2
    with session_scope(engine) as session:
        assert clinics_to_sweep(session, NOW) == []
    assert emulator.stats()["channels.stop"] == 2
    assert stored_channels(engine, disabled.id) == []
    assert len(stored_channels(engine, kept.id)) == 1
    assert channels.sweep(_clinic(engine), NOW + timedelta(minutes=2)) == 0


def test_an_expired_channel_is_forgotten_without_being_stopped(
    channels: PushChannels,
    engine: Engine,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
) -> None:
    source = connect(engine, new_calendar())
    channels.ensure(source.id, NOW)
    with session_scope(engine) as session:
        remove_source(session, source.id)
    assert channels.sweep(_clinic(engine), NOW + TTL) == 0
    assert "channels.stop" not in emulator.stats()
    assert channels.sweep(_clinic(engine), NOW + TTL) == 0


def test_a_refused_watch_leaves_the_calendar_polling_and_is_not_retried_for_an_hour(
    channels: PushChannels,
    engine: Engine,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
) -> None:
    source = connect(engine, new_calendar())
    emulator.inject_fault(
        status=400, reason="push.webhookUrlUnauthorized", method="events.watch", count=1
    )
    assert channels.ensure(source.id, NOW) is False
    assert channels.ensure(source.id, NOW + timedelta(minutes=59)) is False
    assert emulator.stats()["events.watch"] == 1
    assert channels.ensure(source.id, NOW + timedelta(hours=1, minutes=1)) is True


def test_a_channel_google_no_longer_knows_is_forgotten_when_stopped(
    channels: PushChannels,
    engine: Engine,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
) -> None:
    source = connect(engine, new_calendar())
    channels.ensure(source.id, NOW)
    emulator.account.notifier.reset()  # Google dropped it (as after an expiry we missed)
    with session_scope(engine) as session:
        set_source_enabled(session, source.id, False)
    assert channels.sweep(_clinic(engine), NOW) == 1
    assert stored_channels(engine, source.id) == []


def _clinic(engine: Engine) -> int:
    with session_scope(engine) as session:
        return get_or_create_clinic(session, "default").id
