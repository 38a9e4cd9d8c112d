"""The calendar-source port and its providers: Google, CalDAV and subscribed .ics URLs (SPEC §9)."""
