"""A token in, a rendered feed out: the feeds use case (SPEC §7).

:meth:`FeedService.from_memory` answers a known token from memory alone — the feed
served to it last, while the checks behind it are younger than
``CLINIC_SYNC_FEED_RECHECK_SECONDS`` — so a 304 or a repeated 200 reads no database
and renders nothing; a revocation or a change of data reaches it within that time.

:meth:`FeedService.answer` checks the token, reads the clinic's data version (a counter
the sync side bumps with every booking change, :mod:`sync.store.data_version`: one row
read by primary key, then trusted for ``CLINIC_SYNC_FEED_RECHECK_SECONDS``), the clinic's
date ("today" in the clinic's time zone, from an injected clock) and its settings
version, and serves the rendered feed kept for those. Each clinic's time zone, label
mode, horizon and policy come from its profile
(:class:`~sync.clinics.directory.ClinicDirectory`), so one service serves every clinic of
the database, each with its own. Only when one of them moved does it load the clinic's
bookings, run :func:`rules.assess.assess` once for the whole clinic (shared by every
feed of the clinic), pick the scope's patients, publish sequences and render. Patients
of a calendar are those with a booking on it within the scan window; the clinic feed
has every patient.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic, perf_counter

from sqlalchemy import Engine
from sqlmodel import Session

from rules.assess import Assessment, Scope, assess
from rules.model import Eligibility, MatchKind, Patient, PatientKey
from rules.patients import PatientGroup
from sync.clinics.directory import ClinicDirectory
from sync.clinics.profile import ClinicProfile
from sync.config import Settings
from sync.feeds.cache import FeedCache, RenderedFeed
from sync.feeds.events import feed_events, patient_stamps
from sync.feeds.labels import PatientLabel, feed_labels
from sync.feeds.merged import merged_events
from sync.feeds.patient_view import patient_view
from sync.feeds.render import FeedHeader, render_feed
from sync.feeds.scope import FeedScope, ScopeKind, parse_patient_key
from sync.feeds.sequences import publish_sequences
from sync.feeds.tokens import hash_token, live_token
from sync.store.bookings import list_bookings
from sync.store.data_version import DataVersion, clinic_data_version
from sync.store.database import session_scope
from sync.store.errors import ConstraintViolation, RecordNotFound
from sync.store.feeds import (
    FeedToken,
    booking_change_times,
    feed_label_key,
    source_booking_ids,
)
from sync.store.sources import get_source
from sync.usecases.pull import BookingReader

__all__ = ["Clock", "FeedAnswer", "FeedOptions", "FeedService", "utc_now"]

Clock = Callable[[], datetime]
_Key = tuple[DataVersion, date, int]
"""What a rendered feed depends on: the clinic's data version, its date, its settings."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TOKENS_REMEMBERED = 10_000


def utc_now() -> datetime:
    """The wall clock, in UTC (the default :data:`Clock`)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """The operator's settings feeds depend on (the clinic's own come from its profile)."""

    refresh: timedelta = timedelta(hours=1)
    recheck_seconds: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedOptions:
        return cls(
            refresh=settings.feed_refresh_interval,
            recheck_seconds=settings.feed_recheck_seconds,
        )


def _scope(clinic: ClinicProfile, today: date) -> Scope:
    scan = clinic.settings
    return Scope(today, scan.scan_days_back, scan.scan_days_ahead, scan.feed_horizon_days)


def _label(clinic: ClinicProfile) -> PatientLabel:
    return PatientLabel(clinic.settings.feed_patient_label)


@dataclass(frozen=True, slots=True)
class FeedAnswer:
    """What to serve: ``feed`` is ``None`` for a revoked or unknown token (404)."""

    token_id: int | None
    feed: RenderedFeed | None
    render_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class _ClinicView:
    """One clinic's assessment for one (data version, today, settings), shared by its feeds."""

    key: _Key
    assessment: Assessment
    stamps: dict[PatientKey, datetime]


@dataclass(frozen=True, slots=True)
class _Selection:
    title: str
    eligibility: list[Eligibility]
    patients: list[Patient]
    merged: bool
    """Many patients: one event per patient per stretch of days (:mod:`sync.feeds.merged`)."""


class FeedService:
    """Serves the feeds of every clinic in one database, rendering each only when needed."""

    def __init__(
        self,
        engine: Engine,
        clinics: ClinicDirectory,
        options: FeedOptions,
        *,
        clock: Clock = utc_now,
        cache: FeedCache | None = None,
    ) -> None:
        self.engine = engine
        self.clinics = clinics
        self.options = options
        self.clock = clock
        self.cache = cache or FeedCache()
        self._views: dict[int, _ClinicView] = {}
        self._versions: dict[int, tuple[float, DataVersion]] = {}
        self._tokens: dict[str, tuple[float, FeedToken, bool]] = {}
        self._served: dict[str, tuple[float, FeedAnswer]] = {}
        self._rechecking: set[str] = set()
        self._recheck_lock = threading.Lock()
        self._render_lock = threading.Lock()

    def today(self, clinic: ClinicProfile) -> date:
        """The clinic's date now."""
        return clinic.today(self.clock())

    def from_memory(self, secret: str) -> FeedAnswer | None:
        """The feed a secret opened last time, while its checks are younger than the recheck.

        No database, no render: what a 304 needs. ``None`` when the token, the clinic's
        data version or its date must be looked at again (then :meth:`answer`); while one
        request does that, the others get the last answer rather than all reading the
        store at once, so a token's answer is at most one recheck older than the setting.
        """
        digest = hash_token(secret)
        served = self._served.get(digest)
        if served is None:
            return None
        if monotonic() - served[0] < self.options.recheck_seconds:
            return served[1]
        with self._recheck_lock:  # one request rechecks; the others get the last answer
            if digest in self._rechecking:
                return served[1]
            self._rechecking.add(digest)
        return None

    def answer(self, secret: str) -> FeedAnswer:
        """The feed a secret opens, from the cache when the clinic's data has not moved."""
        digest = hash_token(secret)
        try:
            return self._checked_answer(secret, digest)
        finally:
            with self._recheck_lock:
                self._rechecking.discard(digest)

    def _checked_answer(self, secret: str, digest: str) -> FeedAnswer:
        token, live = self._token(secret)
        if token is None or not live:
            self._served.pop(digest, None)
            return FeedAnswer(token.id if token else None, None)
        try:
            clinic = self.clinics.profile(token.clinic_id)
        except RecordNotFound:  # the clinic was removed since the token was read
            return FeedAnswer(token.id, None)
        answer = self._answer(token, clinic)
        if answer.feed is not None:  # trusted no longer than the older of the two checks
            checked = min(self._tokens[digest][0], self._versions[token.clinic_id][0])
            self._remember(digest, checked, answer)
        return answer

    def _answer(self, token: FeedToken, clinic: ClinicProfile) -> FeedAnswer:
        key = (self._version(token.clinic_id), self.today(clinic), clinic.version)
        scope = (token.clinic_id, token.scope_kind, token.scope_value, token.label)
        cached = self.cache.get(scope, key)
        if cached is not None:
            return FeedAnswer(token.id, cached)
        with self._render_lock:  # one render per key, however many requests wait for it
            cached = self.cache.get(scope, key)
            if cached is not None:
                return FeedAnswer(token.id, cached)
            started = perf_counter()
            feed = self._render_retrying(clinic, token, key)
            if feed is not None:
                self.cache.put(scope, key, feed)
            return FeedAnswer(token.id, feed, perf_counter() - started)

    def _remember(self, digest: str, checked: float, answer: FeedAnswer) -> None:
        if len(self._served) >= _TOKENS_REMEMBERED:
            self._served.clear()
        self._served[digest] = (checked, FeedAnswer(answer.token_id, answer.feed))

    def _token(self, secret: str) -> tuple[FeedToken | None, bool]:
        """The token a secret opens, read again once ``recheck_seconds`` have passed.

        A revocation therefore takes effect within that time (a second by default); only
        tokens that exist are remembered, so guessing cannot fill the memory.
        """
        now, digest = monotonic(), hash_token(secret)
        known = self._tokens.get(digest)
        if known is not None and now - known[0] < self.options.recheck_seconds:
            return known[1], known[2]
        with session_scope(self.engine) as session:
            token, live = live_token(session, secret)
        if token is not None:
            if len(self._tokens) >= _TOKENS_REMEMBERED:
                self._tokens.clear()
            self._tokens[digest] = (now, token, live)
        return token, live

    def _version(self, clinic_id: int) -> DataVersion:
        """The clinic's data version, read again once ``recheck_seconds`` have passed."""
        now = monotonic()
        known = self._versions.get(clinic_id)
        if known is not None and now - known[0] < self.options.recheck_seconds:
            return known[1]
        with session_scope(self.engine) as session:
            version = clinic_data_version(session, clinic_id)
        self._versions[clinic_id] = (now, version)
        return version

    def _render_retrying(
        self, clinic: ClinicProfile, token: FeedToken, key: _Key
    ) -> RenderedFeed | None:
        try:
            return self._render(clinic, token, key)
        except ConstraintViolation:
            # Another process published the same new UIDs first: read theirs and go on.
            return self._render(clinic, token, key)

    def _render(self, clinic: ClinicProfile, token: FeedToken, key: _Key) -> RenderedFeed | None:
        version, today, _ = key
        floor = version.changed_at or _EPOCH
        with session_scope(self.engine) as session:
            if token.scope_kind == ScopeKind.PATIENT.value:
                view = self._patient_view(session, clinic, key, token.scope_value)
            else:
                view = self._view(session, clinic, key)
            selection = self._select(session, clinic, token, view)
            if selection is None:
                return None
            labels = self._labels(session, clinic, selection.patients)
            build = merged_events if selection.merged else feed_events
            events = build(
                selection.eligibility,
                clinic.policy,
                namespace=str(token.clinic_id),
                labels=labels,
                stamps=view.stamps,
                floor=floor,
            )
            sequences = publish_sequences(session, token.clinic_id, events, now=self.clock())
        about = _about(clinic)
        title = token.label or f"{_treatments(clinic)} eligibility: {selection.title}"
        header = FeedHeader(title, about, self.options.refresh)
        body = render_feed(header, events, sequences)
        midnight = _midnight(clinic, today)
        return RenderedFeed.of(body, max(floor, midnight).replace(microsecond=0))

    def _labels(
        self, session: Session, clinic: ClinicProfile, patients: list[Patient]
    ) -> dict[PatientKey, str]:
        mode = _label(clinic)
        key = feed_label_key(session, clinic.id) if mode is PatientLabel.INITIALS_TAG else None
        return feed_labels(patients, mode, key=key)

    def _patient_view(
        self, session: Session, clinic: ClinicProfile, key: _Key, value: str
    ) -> _ClinicView:
        """The patient's own reach, assessed alone (:mod:`sync.feeds.patient_view`)."""
        reader = BookingReader(self.clinics.matcher(clinic.id), clinic.identity)
        patient = parse_patient_key(value)
        scope = _scope(clinic, key[1])
        found = patient_view(
            session, clinic.id, patient, policy=clinic.policy, reader=reader, scope=scope
        )
        floor = key[0].changed_at or _EPOCH
        stamps = patient_stamps(found.assessment.patients, found.changed, floor)
        return _ClinicView(key, found.assessment, stamps)

    def _view(self, session: Session, clinic: ClinicProfile, key: _Key) -> _ClinicView:
        view = self._views.get(clinic.id)
        if view is not None and view.key == key:
            return view
        first, last = _window(clinic, key[1])
        bookings = list_bookings(session, clinic.id, first_day=first, last_day=last)
        matcher = self.clinics.matcher(clinic.id)
        assessment = assess(
            bookings,
            clinic.policy,
            _scope(clinic, key[1]),
            matcher=matcher,
            options=clinic.identity,
        )
        changed = booking_change_times(session, clinic.id, first, last)
        floor = key[0].changed_at or _EPOCH
        view = _ClinicView(key, assessment, patient_stamps(assessment.patients, changed, floor))
        self._views[clinic.id] = view
        return view

    def _select(
        self, session: Session, clinic: ClinicProfile, token: FeedToken, view: _ClinicView
    ) -> _Selection | None:
        scope = FeedScope(ScopeKind(token.scope_kind), token.scope_value)
        groups = view.assessment.patients
        if scope.kind is ScopeKind.CLINIC:
            return _selection(clinic.name, groups, view, merged=True)
        if scope.kind is ScopeKind.PATIENT:
            key = scope.patient_key
            mine = [group for group in groups if _is_patient(group, key)]
            patient = mine[0].patient if mine else Patient(key=key)
            name = self._labels(session, clinic, [patient])[patient.key]
            return _selection(name, mine, view, merged=False)
        try:
            source = get_source(session, scope.source_id)
        except RecordNotFound:
            return None
        if source.clinic_id != clinic.id:
            return None  # a calendar of another clinic: as if it did not exist
        ids = source_booking_ids(session, source.id, *_window(clinic, view.key[1]))
        booked = [g for g in groups if any(m.booking.id in ids for m in g.members)]
        return _selection(source.display_name, booked, view, merged=True)


def _selection(
    name: str, groups: list[PatientGroup], view: _ClinicView, *, merged: bool
) -> _Selection:
    keys = {group.patient.key for group in groups}
    chosen = [item for item in view.assessment.eligibility if item.patient.key in keys]
    return _Selection(name, chosen, [group.patient for group in groups], merged)


def _treatments(clinic: ClinicProfile) -> str:
    policy = clinic.policy
    later = sorted({rule.later for rule in policy.rules})
    return ", ".join(policy.category(name).label for name in later)


def _about(clinic: ClinicProfile) -> str:
    return f"Dates on which patients may have {_treatments(clinic)} (clinic-sync)."


def _window(clinic: ClinicProfile, today: date) -> tuple[date, date]:
    back, ahead = clinic.settings.scan_days_back, clinic.settings.scan_days_ahead
    return today - timedelta(days=back), today + timedelta(days=ahead)


def _midnight(clinic: ClinicProfile, today: date) -> datetime:
    return datetime.combine(today, time(), tzinfo=clinic.zone).astimezone(UTC)


def _is_patient(group: PatientGroup, key: PatientKey) -> bool:
    """Whether ``key`` names this patient: its key, any of its ids or e-mails, or a name."""
    patient = group.patient
    if key.kind is MatchKind.ID:
        return key.value in patient.ids
    if key.kind is MatchKind.EMAIL:
        return key.value in patient.emails
    return patient.key == key or any(m.identity.name_key == key.value for m in group.members)
