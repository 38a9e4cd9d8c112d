"""A token in, a rendered feed out: the feeds use case (SPEC §7).

:meth:`FeedService.answer` checks the token, reads the clinic's data version (one
aggregate query, then trusted for ``CLINIC_SYNC_FEED_RECHECK_SECONDS``) and the clinic's
date ("today" in ``CLINIC_SYNC_CLINIC_TIME_ZONE``, from an injected clock), and serves
the rendered feed kept for that pair. Only when either moved does it load the clinic's
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
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from rules.assess import Assessment, Scope, assess
from rules.model import Eligibility, MatchKind, Patient, PatientKey, Policy
from rules.patients import IdentityOptions, PatientGroup
from rules.vocabulary import Matcher
from sync.config import Settings
from sync.feeds.cache import FeedCache, RenderedFeed
from sync.feeds.events import feed_events, patient_stamps
from sync.feeds.labels import PatientLabel, patient_label
from sync.feeds.render import FeedHeader, render_feed
from sync.feeds.scope import FeedScope, ScopeKind
from sync.feeds.sequences import publish_sequences
from sync.feeds.tokens import hash_token, live_token
from sync.store.bookings import list_bookings
from sync.store.clinics import list_clinics
from sync.store.database import session_scope
from sync.store.errors import ConstraintViolation, RecordNotFound
from sync.store.feeds import (
    DataVersion,
    FeedToken,
    booking_change_times,
    booking_data_version,
    source_booking_ids,
)
from sync.store.sources import get_source

__all__ = ["Clock", "FeedAnswer", "FeedOptions", "FeedService", "utc_now"]

Clock = Callable[[], datetime]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TOKENS_REMEMBERED = 10_000


def utc_now() -> datetime:
    """The wall clock, in UTC (the default :data:`Clock`)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """The settings a feed depends on."""

    zone: ZoneInfo
    label: PatientLabel = PatientLabel.INITIALS
    refresh: timedelta = timedelta(hours=1)
    days_back: int = 180
    days_ahead: int = 365
    horizon_days: int = 120
    staff_domains: frozenset[str] = frozenset()
    recheck_seconds: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedOptions:
        return cls(
            zone=ZoneInfo(settings.clinic_time_zone),
            label=PatientLabel(settings.feed_patient_label),
            refresh=settings.feed_refresh_interval,
            days_back=settings.scan_days_back,
            days_ahead=settings.scan_days_ahead,
            horizon_days=settings.feed_horizon_days,
            staff_domains=settings.staff_domains,
            recheck_seconds=settings.feed_recheck_seconds,
        )

    def scope(self, today: date) -> Scope:
        return Scope(today, self.days_back, self.days_ahead, self.horizon_days)


@dataclass(frozen=True, slots=True)
class FeedAnswer:
    """What to serve: ``feed`` is ``None`` for a revoked or unknown token (404)."""

    token_id: int | None
    feed: RenderedFeed | None
    render_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class _ClinicView:
    """One clinic's assessment for one (data version, today), shared by its feeds."""

    key: tuple[DataVersion, date]
    assessment: Assessment
    stamps: dict[PatientKey, datetime]


@dataclass(frozen=True, slots=True)
class _Selection:
    title: str
    eligibility: list[Eligibility]


class FeedService:
    """Serves the feeds of every clinic in one database, rendering each only when needed."""

    def __init__(
        self,
        engine: Engine,
        policy: Policy,
        options: FeedOptions,
        *,
        clock: Clock = utc_now,
        cache: FeedCache | None = None,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.options = options
        self.clock = clock
        self.cache = cache or FeedCache()
        self._matcher = Matcher(policy)
        self._identity = IdentityOptions(staff_domains=options.staff_domains)
        self._views: dict[int, _ClinicView] = {}
        self._versions: dict[int, tuple[float, DataVersion]] = {}
        self._tokens: dict[str, tuple[float, FeedToken, bool]] = {}
        self._render_lock = threading.Lock()

    def today(self) -> date:
        """The clinic's date now."""
        return self.clock().astimezone(self.options.zone).date()

    def answer(self, secret: str) -> FeedAnswer:
        """The feed a secret opens, from the cache when the clinic's data has not moved."""
        token, live = self._token(secret)
        if token is None or not live:
            return FeedAnswer(token.id if token else None, None)
        key = (self._version(token.clinic_id), self.today())
        scope = (token.clinic_id, token.scope_kind, token.scope_value, token.label)
        cached = self.cache.get(scope, key)
        if cached is not None:
            return FeedAnswer(token.id, cached)
        with self._render_lock:  # one render per key, however many requests wait for it
            cached = self.cache.get(scope, key)
            if cached is not None:
                return FeedAnswer(token.id, cached)
            started = perf_counter()
            feed = self._render_retrying(token, key)
            if feed is not None:
                self.cache.put(scope, key, feed)
            return FeedAnswer(token.id, feed, perf_counter() - started)

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
            version = booking_data_version(session, clinic_id)
        self._versions[clinic_id] = (now, version)
        return version

    def _render_retrying(
        self, token: FeedToken, key: tuple[DataVersion, date]
    ) -> RenderedFeed | None:
        try:
            return self._render(token, key)
        except ConstraintViolation:
            # Another process published the same new UIDs first: read theirs and go on.
            return self._render(token, key)

    def _render(self, token: FeedToken, key: tuple[DataVersion, date]) -> RenderedFeed | None:
        version, today = key
        floor = version.changed_at or _EPOCH
        with session_scope(self.engine) as session:
            view = self._view(session, token.clinic_id, key)
            selection = self._select(session, token, view)
            if selection is None:
                return None
            events = feed_events(
                selection.eligibility,
                self.policy,
                namespace=str(token.clinic_id),
                label=self.options.label,
                stamps=view.stamps,
                floor=floor,
            )
            sequences = publish_sequences(session, token.clinic_id, events, now=self.clock())
        header = FeedHeader(token.label or selection.title, self._about(), self.options.refresh)
        body = render_feed(header, events, sequences)
        return RenderedFeed.of(body, max(floor, self._midnight(today)).replace(microsecond=0))

    def _view(self, session: Session, clinic_id: int, key: tuple[DataVersion, date]) -> _ClinicView:
        view = self._views.get(clinic_id)
        if view is not None and view.key == key:
            return view
        scope = self.options.scope(key[1])
        first, last = self._window(key[1])
        bookings = list_bookings(session, clinic_id, first_day=first, last_day=last)
        assessment = assess(
            bookings, self.policy, scope, matcher=self._matcher, options=self._identity
        )
        changed = booking_change_times(session, clinic_id, first, last)
        floor = key[0].changed_at or _EPOCH
        view = _ClinicView(key, assessment, patient_stamps(assessment.patients, changed, floor))
        self._views[clinic_id] = view
        return view

    def _select(self, session: Session, token: FeedToken, view: _ClinicView) -> _Selection | None:
        scope = FeedScope(ScopeKind(token.scope_kind), token.scope_value)
        groups = view.assessment.patients
        if scope.kind is ScopeKind.CLINIC:
            title = next((c.name for c in list_clinics(session) if c.id == token.clinic_id), "")
            return self._selection(title, groups, view)
        if scope.kind is ScopeKind.PATIENT:
            key = scope.patient_key
            mine = [group for group in groups if _is_patient(group, key)]
            patient = mine[0].patient if mine else Patient(key=key)
            return self._selection(patient_label(patient, self.options.label), mine, view)
        try:
            source = get_source(session, scope.source_id)
        except RecordNotFound:
            return None
        ids = source_booking_ids(session, source.id, *self._window(view.key[1]))
        booked = [g for g in groups if any(m.booking.id in ids for m in g.members)]
        return self._selection(source.display_name, booked, view)

    def _selection(self, name: str, groups: list[PatientGroup], view: _ClinicView) -> _Selection:
        keys = {group.patient.key for group in groups}
        chosen = [item for item in view.assessment.eligibility if item.patient.key in keys]
        return _Selection(f"{self._treatments()} eligibility: {name}", chosen)

    def _treatments(self) -> str:
        later = sorted({rule.later for rule in self.policy.rules})
        return ", ".join(self.policy.category(name).label for name in later)

    def _about(self) -> str:
        return f"Dates on which patients may have {self._treatments()} (clinic-sync)."

    def _window(self, today: date) -> tuple[date, date]:
        back, ahead = self.options.days_back, self.options.days_ahead
        return today - timedelta(days=back), today + timedelta(days=ahead)

    def _midnight(self, today: date) -> datetime:
        return datetime.combine(today, time(), tzinfo=self.options.zone).astimezone(UTC)


def _is_patient(group: PatientGroup, key: PatientKey) -> bool:
    """Whether ``key`` names this patient: its key, any of its ids or e-mails, or a name."""
    patient = group.patient
    if key.kind is MatchKind.ID:
        return key.value in patient.ids
    if key.kind is MatchKind.EMAIL:
        return key.value in patient.emails
    return patient.key == key or any(m.identity.name_key == key.value for m in group.members)
