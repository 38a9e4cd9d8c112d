"""The clinic as a tenant: its settings checked, its policy read, its profile (SPEC §2, §3)."""
