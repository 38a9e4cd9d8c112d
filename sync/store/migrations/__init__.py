"""The Alembic environment of the store, shipped inside the package (see ``sync.store.migrate``)."""
