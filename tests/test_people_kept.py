"""Role lookups are read once per unit of work, and follow every change of people made in it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flows.core.people import acting_for, holders
from storage.db import Database
from storage.models import Acting, Person
from tests.flowkit import Counter, seed_small_office

TODAY = date(2026, 10, 5)


async def test_a_role_asked_twice_is_read_once(db: Database) -> None:
    ids = await seed_small_office(db)
    counter = Counter(db)
    counter.active = True
    async with db.transaction() as s:
        first = await holders(s, ids["office"], "kasi")
        before = len(counter.statements)
        again = await holders(s, ids["office"], "kasi")
        assert len(counter.statements) == before
        assert [p.id for p in again] == [p.id for p in first] == [ids["kasi"]]
        assert await acting_for(s, ids["office"], "camat", TODAY) == []
        before = len(counter.statements)
        assert await acting_for(s, ids["office"], "camat", TODAY) == []
        assert len(counter.statements) == before
    async with db.transaction() as s:  # a new unit of work reads again
        before = len(counter.statements)
        await holders(s, ids["office"], "kasi")
        assert len(counter.statements) > before


async def test_people_changed_in_the_same_unit_of_work_are_seen(db: Database) -> None:
    ids = await seed_small_office(db)
    async with db.transaction() as s:
        assert [p.id for p in await holders(s, ids["office"], "kasi")] == [ids["kasi"]]
        budi = await s.get(Person, ids["kasi"])
        assert budi is not None
        budi.active = False  # not yet written
        assert await holders(s, ids["office"], "kasi") == []
        await s.flush()
        assert await holders(s, ids["office"], "kasi") == []
        new = Person(office_id=ids["office"], nip="1", nama="Ani", jabatan="Kasi", role="kasi")
        s.add(new)
        await s.flush()  # written by a flush of its own, before the next lookup
        assert [p.id for p in await holders(s, ids["office"], "kasi")] == [new.id]

        assert await acting_for(s, ids["office"], "camat", TODAY) == []
        s.add(
            Acting(
                office_id=ids["office"],
                person_id=ids["sekcam"],
                role="camat",
                kind="Plt",
                starts=TODAY,
                ends=TODAY,
                created_at=datetime(2026, 10, 5, tzinfo=UTC),
            )
        )
        await s.flush()
        found = await acting_for(s, ids["office"], "camat", TODAY)
        assert [(p.id, a.kind) for p, a in found] == [(ids["sekcam"], "Plt")]
