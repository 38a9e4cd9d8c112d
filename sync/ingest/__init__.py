"""The ingest boundary: where events from any provider become bookings, or quarantined ones.

:mod:`sync.ingest.text` cleans and bounds what a provider wrote; :mod:`sync.ingest.admission`
reads and stores a pull's events so that one bad event costs only itself (SPEC §9).
"""

from sync.ingest.admission import (
    Admission,
    QuarantineCounts,
    Stored,
    admit_events,
    settle_quarantine,
    store_events,
)
from sync.ingest.text import Unadmissible, admit, clean_line, clean_text, fit_reading

__all__ = [
    "Admission",
    "QuarantineCounts",
    "Stored",
    "Unadmissible",
    "admit",
    "admit_events",
    "clean_line",
    "clean_text",
    "fit_reading",
    "settle_quarantine",
    "store_events",
]
