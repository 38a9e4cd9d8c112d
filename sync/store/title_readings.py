"""What a clinic's titles say, kept between processes: a reading made once per version (SPEC §4).

Reading a title — its categories and its patient's name (:class:`rules.titles.TitleReader`)
— is a function of the title, the policy and the reader's code, nothing else: no clock,
no other booking, no setting of the clinic. A full re-check in a new process (a restart,
a new day, a 410) reads every distinct title of the clinic: 28,912 at 100k bookings, about
a sixth of the re-check. So the re-check keeps each reading in ``title_readings`` under
the digest of its title and the *reading version* (:func:`reading_version`: the policy as
TOML and the source of the ``rules`` package), and the next one takes what it finds under
its own version instead of reading again. Any change to the policy or to the reader's
code is a new version, under which nothing is found; what a new version or a title no
live booking carries leaves behind is deleted by the next full re-check
(:func:`keep_readings`), so what the table holds is bounded by the clinic's live titles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from functools import cache
from importlib import resources

from sqlalchemy import delete
from sqlalchemy import select as sql_select
from sqlmodel import Session

from rules.model import Policy
from rules.titles import TitleReading
from sync.policy_file import render_policy
from sync.store.bulk import BulkStatement, insert_if_absent
from sync.store.identity_keys import chunked
from sync.store.tables import TitleReadingRow

__all__ = ["keep_readings", "load_readings", "reading_version", "title_digest"]

_TABLE = TitleReadingRow.__table__  # type: ignore[attr-defined]


def title_digest(title: str) -> str:
    """The key a title's reading is kept under (a title may be longer than an index entry)."""
    return hashlib.sha256(title.encode("utf-8", "surrogatepass")).hexdigest()


def reading_version(policy: Policy) -> str:
    """What a title's reading depends on besides the title: the policy and the reader's code."""
    return hashlib.sha256(f"{_code_digest()}\n{render_policy(policy)}".encode()).hexdigest()


@cache
def _code_digest() -> str:
    """The source of the ``rules`` package, every file of it in name order."""
    digest = hashlib.sha256()
    package = resources.files("rules")
    for entry in sorted(package.iterdir(), key=lambda entry: entry.name):
        if entry.is_file() and entry.name.endswith((".py", ".toml")):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return digest.hexdigest()


def load_readings(session: Session, clinic_id: int, version: str) -> dict[str, TitleReading]:
    """The clinic's kept readings made under ``version``, by title digest."""
    columns = (_TABLE.c.title_digest, _TABLE.c.categories, _TABLE.c.name, _TABLE.c.name_key)
    query = sql_select(*columns).where(_TABLE.c.clinic_id == clinic_id, _TABLE.c.reader == version)
    sets: dict[tuple[str, ...], frozenset[str]] = {}  # a clinic's titles share a few sets
    found: dict[str, TitleReading] = {}
    for digest, categories, name, name_key in session.connection().execute(query):
        named = tuple(categories)
        held = sets.get(named)
        if held is None:
            held = sets[named] = frozenset(named)
        found[digest] = TitleReading(held, name, name_key)
    return found


def keep_readings(
    session: Session,
    clinic_id: int,
    version: str,
    *,
    fresh: Mapping[str, TitleReading],
    kept: Collection[str],
    live: Collection[str],
) -> None:
    """After a full re-check: add the readings it made (``fresh``, by title digest), and
    delete those of other versions and of titles no live booking carries now.

    ``kept``: the digests found under ``version`` before the re-check; ``live``: the digests
    of every title the re-check read. Another worker may add the same readings meanwhile:
    a reading already there is left as it is (the same version reads a title one way).
    """
    stale = [digest for digest in kept if digest not in live]
    for chunk in chunked(stale):
        session.execute(
            delete(_TABLE).where(
                _TABLE.c.clinic_id == clinic_id,
                _TABLE.c.reader == version,
                _TABLE.c.title_digest.in_(chunk),
            )
        )
    session.execute(
        delete(_TABLE).where(_TABLE.c.clinic_id == clinic_id, _TABLE.c.reader != version)
    )
    rows = [
        (digest, sorted(reading.categories), reading.name, reading.name_key)
        for digest, reading in fresh.items()
        if digest not in kept
    ]
    _INSERT.execute(session, rows, {"clinic_id": clinic_id, "reader": version})


_INSERT = BulkStatement(
    lambda dialect: insert_if_absent(dialect, _TABLE),
    ("title_digest", "categories", "name", "name_key"),
    ("clinic_id", "reader"),
)
