"""The worker process: its claim loop, row leases and request budget (SPEC §9)."""
