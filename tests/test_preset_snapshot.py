"""A cycle runs by the preset it started with: editing (or breaking) the file changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update

from flows.sop.preset import PRESET_DIR, load_cycle_preset, load_preset, preset_snapshot
from storage.models import Cycle, Office
from tests.flowkit import Chat, FakeClock, seed_small_office

CAMAT, PLANNER, SEKCAM = "101", "102", "104"
MONDAY = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 09.00 WIB


def own_preset(tmp_path: Path) -> Path:
    """The office's own copy of the Kebasen preset."""
    text = (PRESET_DIR / "kebasen-pengumpulan.yaml").read_text(encoding="utf-8")
    path = tmp_path / "sop-kantor.yaml"
    path.write_text(text.replace("id: kebasen-pengumpulan", "id: sop-kantor"), encoding="utf-8")
    return path


async def test_editing_the_preset_mid_cycle_changes_nothing(db, tmp_path: Path) -> None:
    await seed_small_office(db)
    path = own_preset(tmp_path)
    async with db.transaction() as s:
        await s.execute(update(Office).values(preset=str(path)))
    chat = Chat(db, FakeClock(MONDAY))
    out = await chat.say(CAMAT, "/mulai TW III 2026")
    assert any(m.address == SEKCAM and m.labels() == ["Teruskan"] for m in out)
    async with db.transaction() as s:
        cycle = (await s.scalars(select(Cycle))).one()
    assert cycle.preset == str(path)
    assert cycle.preset_snapshot == preset_snapshot(load_preset(path))

    # The planner edits the file mid-cycle: the Sekcam's step is gone, then the file breaks.
    edited = path.read_text(encoding="utf-8").replace("disposisi_sekcam", "lain_sekcam")
    path.write_text(edited, encoding="utf-8")
    assert load_preset(path).first_of("disposisi").id == "lain_sekcam"
    path.write_text('id: "rusak\n', encoding="utf-8")

    _, out = await chat.tap(SEKCAM, "Teruskan")
    assert any(m.address == PLANNER and m.labels() == ["Bagikan"] for m in out)
    async with db.transaction() as s:
        cycle = (await s.scalars(select(Cycle))).one()
    assert cycle.step != "disposisi_sekcam" and cycle.status == "running"


def test_a_cycle_without_snapshot_loads_its_preset_by_id() -> None:
    snap = preset_snapshot(load_preset("kertosono"))
    assert load_cycle_preset("kebasen-pengumpulan", None) is load_preset("kebasen-pengumpulan")
    assert load_cycle_preset("kebasen-pengumpulan", snap).id == "kertosono"
