"""Storage: SQLModel tables, repositories and Alembic migrations (SPEC §5, §8, §9).

Modules, one concept each: ``database`` (engines, the unit of work), ``migrate``
(schema upgrades and the drift check), ``tables`` (the SQLModel tables, private to this
package), ``columns`` (aware-UTC and JSON column types), ``errors`` (the error tree),
and one repository per concept: ``clinics``, ``sources``, ``events`` and ``bookings``,
``patients``, ``audit``. Repositories take a :class:`sqlmodel.Session` from
:func:`sync.store.database.session_scope` and return plain records, never table rows.
Importing this package creates no engine and opens no connection.
"""
