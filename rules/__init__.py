"""clinic-sync rules engine."""
