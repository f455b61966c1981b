"""Hand-off to e-SAKIP (issue 17): "input ke aplikasi" sends the upload-ready xlsx."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from bot.workers.documents import DocumentWorker
from reports.esakip import headers
from storage.models import Cycle, DocumentJob, Event, StoredFile
from tests.flowkit import SMALL_PEM, SMALL_PK, Chat, open_quarter, play, seed_small_office

CAMAT, PLANNER, KASI, SEKCAM = "101", "102", "103", "104"


async def test_input_step_sends_the_esakip_file_and_logs_the_confirmation(db):
    ids = await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    await play(chat, KASI, SMALL_PEM)
    await play(chat, PLANNER, SMALL_PK)
    await chat.tap(PLANNER, "Teruskan")
    await chat.tap(SEKCAM, "Setujui")
    _, out = await chat.tap(CAMAT, "Setujui")
    card = [m for m in out if m.address == PLANNER and "Sudah diinput" in m.labels()]
    assert card and "Berkas input e-SAKIP Triwulan III 2026" in card[0].text
    async with db.transaction() as s:
        [job] = list(await s.scalars(select(DocumentJob).where(DocumentJob.kind == "esakip")))
    assert job.recipients == [ids["perencana"]] and job.period_key == "2026-TW3"

    with ThreadPoolExecutor(1) as pool:
        worker = DocumentWorker(db, chat.clock, pool)
        while await worker.drain():
            pass
    async with db.transaction() as s:
        job = await s.get(DocumentJob, job.id)
        assert job is not None and job.status == "done", job.error if job else None
        stored = await s.get(StoredFile, job.file_id)
    assert stored is not None
    assert stored.file_name == "Input_eSAKIP_TW_III_2026_Kecamatan_Uji.xlsx"
    sent = [m for m in await chat.new_messages() if m.address == PLANNER]
    assert any("Berkas input e-SAKIP Triwulan III 2026 – Kecamatan Uji" in m.text for m in sent)

    ws = load_workbook(io.BytesIO(stored.content)).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0] == headers()
    assert rows[0][:8] == [
        "No", "Kode", "Indikator", "Satuan", "Target Tahunan",
        "Target TW I", "Realisasi TW I", "Capaian TW I (%)",
    ]  # fmt: skip
    by_kode = {r[1]: r for r in rows[1:]}
    # in the laporan's printed order: grouped by sasaran (PEM-2 is the one "Desa" indicator)
    assert [r[1] for r in rows[1:]] == ["PEM-1", "PEM-3", "PEM-4", "PEM-2", "PK-1"]
    tw3 = slice(11, 14)  # Target / Realisasi / Capaian TW III
    pem1 = by_kode["PEM-1"]
    assert pem1[:5] == [1, "PEM-1", "Persentase layanan sesuai SOP", "%", 95]
    assert pem1[5:11] == [None] * 6  # TW I and II: no cycle, nothing approved
    assert pem1[tw3] == [95, 96, 101.05]
    assert by_kode["PEM-2"][tw3] == [9, 7, 77.78]
    assert by_kode["PK-1"][tw3] == [3, 3, 100]
    assert by_kode["PEM-3"][11:13] == [None, None]  # not measured in TW III
    assert by_kode["PEM-4"][tw3][:2] == [3, 2.5] and by_kode["PEM-4"][13] > 100
    assert all(r[14:] == [None, None, None] for r in rows[1:])  # TW IV not yet
    assert isinstance(ws["C2"].value, str) and ws["C2"].data_type == "s"

    toast, out = await chat.tap(PLANNER, "Sudah diinput")
    async with db.transaction() as s:
        cycle = await s.scalar(select(Cycle))
        marked = list(await s.scalars(select(Event).where(Event.action == "esakip.diinput")))
    assert cycle is not None and cycle.status == "selesai"
    assert len(marked) == 1 and marked[0].actor_id == ids["perencana"]
    assert marked[0].subject == "input_arsip" and marked[0].channel == "telegram"
    assert Decimal(str(pem1[13])) == Decimal("101.05")
