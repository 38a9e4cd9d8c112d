"""The errors clinic-sync raises, split by who must act on them.

::

    ClinicSyncError              anything clinic-sync itself reports
    ├── InputError               the user's input is wrong: fix the file or the command
    │   └── ExportError          a calendar export that cannot be read
    ├── SetupError               the clinic's set-up is wrong: fix configuration
    │   ├── ConfigError          a setting that does not validate
    │   └── PolicyFileError      a policy file that cannot be used (wraps rules.policy.PolicyError)
    └── ProviderError            a calendar provider or database is failing: retry later

Third-party errors are translated into these at the boundary (``raise … from err``);
each entry point turns them into one clear message (see :mod:`sync.cli`).
"""

from __future__ import annotations

__all__ = [
    "ClinicSyncError",
    "ConfigError",
    "ExportError",
    "InputError",
    "PolicyFileError",
    "ProviderError",
    "SetupError",
]


class ClinicSyncError(Exception):
    """Root of every error clinic-sync reports on purpose."""


class InputError(ClinicSyncError):
    """The user's input is wrong."""


class ExportError(InputError):
    """A calendar export is not iCalendar or cannot be read."""


class SetupError(ClinicSyncError):
    """The clinic's configuration is wrong."""


class ConfigError(SetupError):
    """A setting does not validate."""


class PolicyFileError(SetupError):
    """A policy file cannot be used; the service refuses to start on it (SPEC §3)."""


class ProviderError(ClinicSyncError):
    """A calendar provider or the database is failing; the operation may be retried."""
