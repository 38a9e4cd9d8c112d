"""OAuth scopes of the Calendar API: what each means and which of them each method accepts.

Both come from Google's own discovery document of Calendar v3 (the copy
google-api-python-client ships, ``discovery_cache/documents/calendar.v3.json``): its
``auth.oauth2.scopes`` hold the text Google's consent screen shows for each scope, and
every method lists the scopes any one of which authorises it
(https://developers.google.com/calendar/api/auth). The sign-in scopes ``openid``,
``email`` and ``profile`` are described as the OpenID Connect guide does
(https://developers.google.com/identity/openid-connect/openid-connect#scope-param).
The document is read on first use, never at import.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources

__all__ = ["SIGN_IN_SCOPES", "accepted_scopes", "describe", "known_scope", "method_allows"]

SIGN_IN_SCOPES = {
    "openid": "Associate you with your personal info on Google",
    "email": "See your primary Google Account email address",
    "profile": "See your personal info, including any personal info you've made publicly available",
}
_USERINFO = "https://www.googleapis.com/auth/userinfo."
_DOCUMENT = ("googleapiclient", "discovery_cache/documents/calendar.v3.json")


def describe(scope: str) -> str:
    """What granting ``scope`` lets the app do, in the consent screen's words."""
    return _descriptions().get(_plain(scope), scope)


def known_scope(scope: str) -> bool:
    """Whether the emulated Google knows ``scope`` (a Calendar or sign-in scope)."""
    return _plain(scope) in _descriptions()


def accepted_scopes(method: str) -> frozenset[str]:
    """The scopes any one of which authorises ``method`` (``events.list``...); empty if unknown."""
    return _method_scopes().get(method, frozenset())


def method_allows(method: str, granted: Iterable[str]) -> bool:
    """Whether a token holding ``granted`` may call ``method``."""
    return not accepted_scopes(method).isdisjoint(granted)


def _plain(scope: str) -> str:
    """``userinfo.email`` and ``email`` are one scope, as Google treats them."""
    return scope.removeprefix(_USERINFO)


@cache
def _discovery() -> Mapping[str, object]:
    package, name = _DOCUMENT
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    document: Mapping[str, object] = json.loads(text)
    return document


@cache
def _descriptions() -> Mapping[str, str]:
    auth = _discovery().get("auth")
    scopes = auth.get("oauth2", {}).get("scopes", {}) if isinstance(auth, dict) else {}
    found = {str(k): str(v.get("description", k)) for k, v in scopes.items()}
    return {**found, **SIGN_IN_SCOPES}


@cache
def _method_scopes() -> Mapping[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    _collect(_discovery(), table)
    return table


def _collect(node: Mapping[str, object], table: dict[str, frozenset[str]]) -> None:
    children = node.get("resources")
    for resource in children.values() if isinstance(children, dict) else ():
        for method in resource.get("methods", {}).values():
            # "calendar.events.list" is the emulator's "events.list".
            name = str(method["id"]).removeprefix("calendar.")
            table[name] = frozenset(str(s) for s in method.get("scopes", ()))
        _collect(resource, table)
