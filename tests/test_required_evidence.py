"""Required evidence: an indicator may require bukti dukung; Kirim is refused without it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

from flows.domain.states import SheetState
from flows.setup.office_file import OfficeFileError, parse_office
from flows.setup.office_import import import_office
from storage.db import Database
from storage.models import Entry, Event, Indicator, StoredFile, Worksheet
from tests.conftest import SAMPLE_OFFICE
from tests.flowkit import SMALL_PEM, Chat, open_quarter, play, seed_small_office

KASI = "103"
NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def joined(sent) -> str:  # noqa: ANN001
    return "\n---\n".join(m.text for m in sent)


async def require(db: Database, *kode: str) -> None:
    async with db.transaction() as s:
        await s.execute(
            update(Indicator).where(Indicator.kode.in_(kode)).values(requires_evidence=True)
        )


async def state(db: Database) -> tuple[Any, ...]:
    async with db.transaction() as s:
        ws = await s.scalar(select(Worksheet).where(Worksheet.person_id == 3))
        assert ws is not None
        kirim = await s.scalar(select(Event.id).where(Event.action == "lembar.kirim"))
        locked = [e.editable for e in await s.scalars(select(Entry).order_by(Entry.id))]
        return ws.status, ws.version, kirim, locked


async def test_kirim_is_refused_naming_the_indicators_without_evidence(db: Database):
    ids = await seed_small_office(db)
    assert ids["kasi"] == 3
    # PEM-3 is not measured in TW III: its requirement does not block this quarter.
    await require(db, "PEM-2", "PEM-4", "PEM-3")
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    out = await play(chat, KASI, SMALL_PEM[:5])  # PEM-1 answered, on to PEM-2's card
    assert "Bukti dukung wajib dilampirkan untuk indikator ini" in joined(out)
    assert "PEM-2" in out[-2].text
    out = await play(chat, KASI, SMALL_PEM[5:7])  # PEM-2's value, kendala skipped
    assert "wajib dilampirkan sebelum Kirim" in out[-1].text and out[-1].labels() == ["Lewati"]
    await play(chat, KASI, SMALL_PEM[7:-1])
    before = await state(db)

    _, out = await chat.tap(KASI, "Kirim")
    text = joined(out)
    assert "wajib dilengkapi bukti dukung" in text
    assert "PEM-2 · Jumlah desa difasilitasi" in text and "PEM-4 · Rata-rata waktu layanan" in text
    assert "PEM-1" not in text and "PEM-3" not in text
    assert "Kirim foto atau dokumen buktinya" in out[-1].text and "PEM-2" in out[-1].text
    assert await state(db) == before  # nothing changed, nothing sent

    out = await chat.say(KASI, "belum ada")  # text where a file is asked: asked again
    assert await state(db) == before

    out = await chat.send_file(KASI, b"\xff\xd8desa", "fasilitasi_desa.jpg")
    assert "Bukti diterima" in out[0].text and "Ringkasan" in out[-1].text
    _, out = await chat.tap(KASI, "Kirim")  # PEM-4 still has none
    assert "PEM-4" in joined(out) and "PEM-2 ·" not in joined(out)
    await chat.send_file(KASI, b"%PDF-waktu", "rekap_waktu.jpg")
    _, out = await chat.tap(KASI, "Kirim")
    assert any("sudah dikirim" in m.text for m in out if m.address == KASI)
    async with db.transaction() as s:
        ws = await s.scalar(select(Worksheet).where(Worksheet.person_id == ids["kasi"]))
        files = len(list(await s.scalars(select(StoredFile))))
    assert ws is not None and ws.status == SheetState.SUBMITTED and files == 2


def sample() -> dict[str, Any]:
    return yaml.safe_load(SAMPLE_OFFICE.read_text(encoding="utf-8"))


async def test_office_file_key_wajib_bukti(db: Database):
    data = sample()
    data["indikator"][0]["wajib_bukti"] = "ya"
    data["indikator"][1]["wajib_bukti"] = True
    async with db.transaction() as s:
        await import_office(s, parse_office(data), now=NOW)
        flags = {
            i.kode: i.requires_evidence
            for i in await s.scalars(select(Indicator).order_by(Indicator.position))
        }
    first, second, third = (data["indikator"][n]["kode"] for n in range(3))
    assert flags[first] and flags[second] and not flags[third]

    data["indikator"][2]["wajib_bukti"] = "kadang"
    with pytest.raises(OfficeFileError) as info:
        parse_office(data)
    assert any("wajib_bukti" in e and "kadang" in e for e in info.value.errors)
