"""Who may see what: the caller's clinics, the clinic in view, and per-clinic roles (SPEC §8).

Every admin query is scoped to a :class:`Caller`'s clinics: those they are a member of.
A browser looks at one clinic at a time (the header's switcher keeps the choice on the
session row); its lists show that clinic, and an object of another of the user's
clinics still opens. The API covers all of the caller's clinics, narrowed with
``?clinic=slug``. A clinic the caller is not a member of does not exist for them: it
answers like a missing one (:class:`NoSuchClinic`). Roles are checked against the
clinic of the object acted on, never globally: an admin of one clinic who audits
another acts only in the first. An operator with no membership sees the operator view
(:mod:`sync.web.admin.operator`) and no patient data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.errors import InputError
from sync.store.memberships import Membership
from sync.store.users import User, WebSession

__all__ = ["Caller", "NoSuchClinic", "NotAllowed", "api_caller", "page_caller"]


class NoSuchClinic(InputError):
    """No clinic by that slug among the caller's (whether or not one exists elsewhere)."""


class NotAllowed(InputError):
    """The caller sees the clinic but their role there does not let them act."""


@dataclass(frozen=True, slots=True)
class Caller:
    """A signed-in user and the clinic they look at (``None``: all of theirs, or none)."""

    user: User
    current: Membership | None = None

    @property
    def visible(self) -> tuple[int, ...]:
        """The clinics whose objects the caller may open."""
        return self.user.clinic_ids

    @property
    def listed(self) -> tuple[int, ...]:
        """The clinics whose objects the caller's lists show."""
        return (self.current.clinic_id,) if self.current else self.visible

    def named(self, slug: str | None) -> tuple[int, ...]:
        """The clinics a ``?clinic=`` filter leaves: :class:`NoSuchClinic` for a foreign slug."""
        if slug is None:
            return self.listed
        held = next((m for m in self.user.memberships if m.slug == slug), None)
        if held is None:
            raise NoSuchClinic(f"no clinic {slug!r}")
        return (held.clinic_id,)

    def home(self, slug: str | None) -> Membership:
        """The one clinic an action without an object is for (a new feed token)."""
        if self.current is not None and slug is None:
            return self.current
        if slug is None and len(self.user.memberships) == 1:
            return self.user.memberships[0]
        if slug is None:
            raise InputError("say which clinic: you are a member of several")
        [clinic_id] = self.named(slug)
        membership = self.user.membership(clinic_id)
        assert membership is not None, "named() returns the caller's own clinics"
        return membership

    def require_admin(self, clinic_id: int) -> None:
        """:class:`NotAllowed` unless the caller is an admin of the clinic."""
        if not self.user.can_act_in(clinic_id):
            raise NotAllowed("auditors have read-only access")


def page_caller(web: WebSession) -> Caller:
    """A browser's caller: the session's clinic while the user is still its member."""
    user = web.user
    chosen = user.membership(web.clinic_id) if web.clinic_id is not None else None
    return Caller(user, chosen or (user.memberships[0] if user.memberships else None))


def api_caller(user: User) -> Caller:
    """A bearer token's caller: every clinic the user is a member of."""
    return Caller(user)
