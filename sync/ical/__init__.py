"""iCalendar sources' shared reading: VEVENTs to stored records, and pull snapshots (SPEC §9).

Used by :mod:`sync.sources.caldav` and :mod:`sync.sources.icsurl`; ``mapping`` follows RFC 5545 and
RFC 7986, ``snapshot`` keeps what a source saw last in its cursor.
"""
