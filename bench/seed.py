"""Seed large offices with bulk INSERTs (fast), not through the chat."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import (
    Cycle,
    Entry,
    Identity,
    Indicator,
    Office,
    Person,
    Section,
    StepDeadline,
    Worksheet,
)

PRESET = "kebasen-pengumpulan"
ISI_STEP = "sampaikan_data"
CHAIN = ("camat", "sekcam", "perencana")
#: Telegram chat id of the person at position ``i`` of an office seeded here.
CHAT_BASE = 1_000_000


async def _ids(s: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk INSERT with ids chosen here (one executemany; RETURNING would go row by row)."""
    if not rows:
        return []
    start = int(await s.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1
    ids = list(range(start, start + len(rows)))
    await s.execute(insert(model), [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    if s.bind.dialect.name == "postgresql":  # keep the sequence ahead of the ids used here
        table = model.__tablename__
        await s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {ids[-1]})"))
    return ids


def _office(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "nama": f"Kecamatan {code.title()}",
        "kabupaten": "Kabupaten Bench",
        "alamat": "Jl. Bench 1",
        "kota_ttd": "Bench",
        "tz": "Asia/Jakarta",
        "preset": PRESET,
        "tahun": 2026,
        "settings": {},
    }


def _indicator(office_id: int, section_id: int, kode: str, position: int) -> dict[str, Any]:
    nine = Decimal(9)
    return {
        "office_id": office_id,
        "section_id": section_id,
        "kode": kode,
        "sasaran": "Meningkatnya kualitas layanan",
        "nama": f"Jumlah kegiatan {kode}",
        "satuan": "Kegiatan",
        "polarity": "positif",
        "aggregation": "kumulatif",
        "inverse": False,
        "target_tahunan": Decimal(12),
        "target_tw1": Decimal(3),
        "target_tw2": Decimal(6),
        "target_tw3": nine,
        "target_tw4": Decimal(12),
        "sub_kegiatan": "",
        "label_pembilang": "",
        "label_penyebut": "",
        "position": position,
        "active": True,
    }


def _person(office_id: int, n: int, role: str, section_id: int | None) -> dict[str, Any]:
    return {
        "office_id": office_id,
        "nip": f"19800101{n:010d}",
        "nama": f"{role.title()} {n}",
        "jabatan": role.title(),
        "pangkat": "",
        "role": role,
        "section_id": section_id,
        "telepon": None,
        "active": True,
    }


async def office_with_kasi(db: Database, kasi: int, indicators: int) -> list[int]:
    """One office: the chain, ``kasi`` Kasi each heading a section of ``indicators`` kumulatif
    indicators (target s.d. TW III = 9). Returns the Telegram chat ids of the Kasi."""
    async with db.transaction() as s:
        (office_id,) = await _ids(s, Office, [_office("bench")])
        section_ids = await _ids(
            s,
            Section,
            [
                {"office_id": office_id, "kode": f"S{i:03d}", "nama": f"Seksi {i}"}
                for i in range(kasi)
            ],
        )
        chain = [_person(office_id, i, role, None) for i, role in enumerate(CHAIN)]
        chain[2]["section_id"] = section_ids[0] if section_ids else None
        staff = [_person(office_id, 10 + i, "kasi", sid) for i, sid in enumerate(section_ids)]
        person_ids = await _ids(s, Person, chain + staff)
        await s.execute(
            insert(Identity),
            [
                {"person_id": pid, "channel": "telegram", "external_id": str(CHAT_BASE + pid)}
                for pid in person_ids
            ],
        )
        await s.execute(
            insert(Indicator),
            [
                _indicator(office_id, sid, f"S{i:03d}-{k + 1}", i * indicators + k)
                for i, sid in enumerate(section_ids)
                for k in range(indicators)
            ],
        )
    return [CHAT_BASE + pid for pid in person_ids[len(CHAIN) :]]


async def open_sheets(
    db: Database, sheets: int, started: datetime, due: datetime, per_office: int = 1000
) -> list[int]:
    """``sheets`` open worksheets in offices of ``per_office`` Kasi, each office's TW III cycle
    running at its isi step with one indicator per sheet. Returns the chat ids of the first
    office's Kasi."""
    chats: list[int] = []
    offices = max(1, -(-sheets // per_office))
    for o in range(offices):
        n = min(per_office, sheets - o * per_office)
        async with db.transaction() as s:
            (office_id,) = await _ids(s, Office, [_office(f"bench{o:04d}")])
            (section_id,) = await _ids(
                s, Section, [{"office_id": office_id, "kode": "PEM", "nama": "Seksi Pemerintahan"}]
            )
            (indicator_id,) = await _ids(
                s, Indicator, [_indicator(office_id, section_id, "PEM-1", 1)]
            )
            chain = [_person(office_id, i, role, None) for i, role in enumerate(CHAIN)]
            staff = [_person(office_id, 10 + i, "kasi", section_id) for i in range(n)]
            person_ids = await _ids(s, Person, chain + staff)
            await s.execute(
                insert(Identity),
                [
                    {"person_id": pid, "channel": "telegram", "external_id": str(CHAT_BASE + pid)}
                    for pid in person_ids
                ],
            )
            (cycle_id,) = await _ids(
                s,
                Cycle,
                [
                    {
                        "office_id": office_id,
                        "period_key": "2026-TW3",
                        "preset": PRESET,
                        "step": ISI_STEP,
                        "status": "running",
                        "note": "",
                        "data": {},
                        "created_at": started,
                        "version": 1,
                    }
                ],
            )
            await s.execute(
                insert(StepDeadline),
                [
                    {
                        "cycle_id": cycle_id,
                        "step": ISI_STEP,
                        "started_at": started,
                        "due_at": due,
                        "visit": 1,
                        "extended_reason": "",
                    }
                ],
            )
            sheet_ids = await _ids(
                s,
                Worksheet,
                [
                    {
                        "cycle_id": cycle_id,
                        "person_id": pid,
                        "section_id": section_id,
                        "status": "open",
                        "return_reason": "",
                        "version": 0,
                    }
                    for pid in person_ids[len(CHAIN) :]
                ],
            )
            await s.execute(
                insert(Entry),
                [
                    {
                        "worksheet_id": wid,
                        "indicator_id": indicator_id,
                        "keterangan": "",
                        "upaya": "",
                        "filled": False,
                        "editable": True,
                    }
                    for wid in sheet_ids
                ],
            )
        if o == 0:
            chats = [CHAT_BASE + pid for pid in person_ids[len(CHAIN) :]]
    return chats
