"""clinic-sync service."""
