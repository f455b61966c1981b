"""Migration 0107 turns stored kumulatif totals (s.d. TW) into quarter amounts, and back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage.db import create_engine
from storage.migrate import downgrade, upgrade

ROWS = [  # (quarter, stored total s.d. TW): 3, 5, (TW III not reported), 9
    (1, "3"),
    (2, "5"),
    (4, "9"),
]


async def test_kumulatif_totals_become_quarter_amounts(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    try:
        await upgrade(engine, "0002")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO office (id, code, nama, kabupaten, alamat, kota_ttd, tz, preset,"
                    " tahun, settings) VALUES (1, 'x', 'X', '', '', '', 'Asia/Jakarta', 'p', 2026,"
                    " '{}')"
                )
            )
            await conn.execute(text("INSERT INTO section VALUES (1, 1, 'S', 'Seksi')"))
            await conn.execute(
                text(
                    "INSERT INTO person (id, office_id, nip, nama, jabatan, pangkat, role, active)"
                    " VALUES (1, 1, '1', 'A', '', '', 'kasi', 1)"
                )
            )
            for ind, agg in ((1, "kumulatif"), (2, "terakhir")):
                await conn.execute(
                    text(
                        "INSERT INTO indicator (id, office_id, section_id, kode, sasaran, nama,"
                        " satuan, polarity, aggregation, inverse, sub_kegiatan, label_pembilang,"
                        " label_penyebut, position, active) VALUES (:i, 1, 1, :k, 's', 'n', 'u',"
                        " 'positif', :a, 0, '', '', '', :i, 1)"
                    ),
                    {"i": ind, "k": f"K-{ind}", "a": agg},
                )
            for q, total in ROWS:
                await conn.execute(
                    text(
                        "INSERT INTO cycle (id, office_id, period_key, preset, step, status, note,"
                        " data, created_at, version) VALUES (:q, 1, :key, 'p', 's', 'selesai', '',"
                        " '{}', '2026-01-01 00:00:00', 0)"
                    ),
                    {"q": q, "key": f"2026-TW{q}"},
                )
                await conn.execute(
                    text(
                        "INSERT INTO worksheet (id, cycle_id, person_id, section_id, status,"
                        " return_reason, version) VALUES (:q, :q, 1, 1, 'accepted', '', 0)"
                    ),
                    {"q": q},
                )
                for ind in (1, 2):
                    await conn.execute(
                        text(
                            "INSERT INTO entry (worksheet_id, indicator_id, realisasi, keterangan,"
                            " upaya, filled, editable) VALUES (:q, :i, :r, '', '', 1, 0)"
                        ),
                        {"q": q, "i": ind, "r": total},
                    )

        async def values(ind: int) -> list[str]:
            async with engine.begin() as conn:
                rows = await conn.execute(
                    text(
                        "SELECT realisasi FROM entry WHERE indicator_id = :i ORDER BY worksheet_id"
                    ),
                    {"i": ind},
                )
                return [r[0] for r in rows]

        await upgrade(engine, "0107")
        assert await values(1) == ["3", "2", "4"]  # the new amount in each quarter
        assert await values(2) == ["3", "5", "9"]  # levels are left alone
        await downgrade(engine, "0002")
        assert await values(1) == ["3", "5", "9"]
    finally:
        await engine.dispose()
