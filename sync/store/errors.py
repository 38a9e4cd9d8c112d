"""Errors raised by the storage layer, with the database they concern.

SQLAlchemy and driver exceptions never leave ``sync.store``: they are translated at
the boundary (``raise ... from err``) into this tree, split by who must act::

    StoreError                   anything the store could not do; ``database`` names it
    ├── DatabaseUnavailable      cannot connect or talk to the server: operator (retry later)
    ├── MigrationError           the schema cannot be brought up to date: operator
    │   └── SchemaDrift          tables differ from the code's model: a developer
    ├── ConstraintViolation      a unique, foreign-key or check constraint refused a write:
    │                            the caller's input (a natural key already taken, say)
    └── RecordNotFound           no row with that id or key: the caller's input

``database`` is the URL rendered without its password, so messages can be logged.
"""

from __future__ import annotations

__all__ = [
    "ConstraintViolation",
    "DatabaseUnavailable",
    "MigrationError",
    "RecordNotFound",
    "SchemaDrift",
    "StoreError",
]


class StoreError(Exception):
    """The root of the store's errors; ``database`` is the URL without its password."""

    def __init__(self, message: str, *, database: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.database = database

    def __str__(self) -> str:
        if not self.database:
            return self.message
        return f"{self.message} (database: {self.database})"


class DatabaseUnavailable(StoreError):
    """The database could not be reached or refused the connection; worth retrying."""


class MigrationError(StoreError):
    """Alembic could not bring the schema to the head revision."""


class SchemaDrift(MigrationError):
    """The tables in the database differ from the SQLModel tables of this version."""

    def __init__(self, differences: list[str], *, database: str = "") -> None:
        listed = "; ".join(differences)
        super().__init__(f"schema differs from the models: {listed}", database=database)
        self.differences = differences


class ConstraintViolation(StoreError):
    """A write broke a constraint: a natural key taken, a missing parent row, a bad value."""


class RecordNotFound(StoreError):
    """No row matches the id or key asked for."""
