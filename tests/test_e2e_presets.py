"""Every preset end to end: one real bot process, six offices, every actor played over HTTP.

Each office runs a different seed SOP. An autopilot reads the cycle's current step from the
database and plays whoever must act, through the local Bot API emulator only — with one return
at every level that can return (verifikasi or rekap, telaah, sahkan). The chains run at once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select

from bot.offline.emulator import BotApiEmulator
from flows.domain.office_settings import calendar_for
from flows.sop.preset import load_preset, preset_ids
from storage.db import Database
from storage.models import Cycle, DocumentJob, Event, InboundSeen, Office, Outbox, Worksheet
from tests.botproc import BotProcess, User

pytestmark = pytest.mark.e2e  # starts the bot process


ROLES = ("camat", "sekcam", "perencana", "kasi", "kasi2", "staf")


def office_file(index: int, preset: str) -> str:
    """A small office on ``preset``: the chain's roles, three sections, one indicator each."""
    base = 7000 + index * 10
    people = [
        ("camat", "Camat", "camat", None),
        ("sekcam", "Sekretaris", "sekcam", None),
        ("perencana", "Kasubag Perencanaan", "perencana", "PK"),
        ("kasi", "Kasi Pemerintahan", "kasi", "PEM"),
        ("kasi2", "Kasubag Umum dan Kepegawaian", "kasi", "UMP"),
        ("staf", "Pelaksana", "staf", "PEM"),
    ]
    pegawai = []
    for i, (key, jabatan, peran, seksi) in enumerate(people):
        person = {
            "nip": f"198001{i + 1:02d}2005011{i + 1:03d}",
            "nama": f"{key.title()} {index}",
            "jabatan": jabatan,
            "pangkat": "Penata (III/c)",
            "peran": peran,
            "telegram_id": base + i + 1,
        }
        if seksi:
            person["seksi"] = seksi
        pegawai.append(person)
    sections = {"PEM": "Seksi Pemerintahan", "UMP": "Subbagian Umum", "PK": "Subbagian Perencanaan"}
    doc = {
        "kantor": {
            "nama": f"Kecamatan Uji {index}",
            "kode": f"uji-{index}",
            "kabupaten": "Kabupaten Contoh",
            "alamat": f"Jl. Uji {index}",
            "kota_ttd": "Uji",
            "zona_waktu": "Asia/Jakarta",
            "sop": preset,
            "tahun": 2026,
        },
        "pegawai": pegawai,
        "seksi": [{"kode": k, "nama": v} for k, v in sections.items()],
        "indikator": [
            {
                "kode": f"{k}-1",
                "seksi": k,
                "sasaran": "Layanan",
                "nama": f"Jumlah keluaran {v}",
                "satuan": "Dokumen",
                "polaritas": "positif",
                "agregasi": "kumulatif",
                "target_tahunan": 4,
                "target_tw": [1, 2, 3, 4],
            }
            for k, v in sections.items()
        ],
    }
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


class Autopilot:
    """Plays every actor of one office, step by step, as the database says."""

    def __init__(
        self, emu: BotApiEmulator, db: Database, index: int, preset: str, patience: float = 120
    ) -> None:
        self.emu, self.db, self.index = emu, db, index
        #: How long one message may take to arrive (through faults, the bot's backoff).
        self.patience = patience
        self.preset = load_preset(preset)
        base = 7000 + index * 10
        self.users = {
            r: User(emu, base + i + 1, f"{r.title()} {index}") for i, r in enumerate(ROLES)
        }
        self.returned: set[str] = set()
        self.office_id = 0

    def user_for(self, role: str, jabatan: str | None = None) -> User:
        if role == "kasi" and jabatan:
            return self.users["kasi2"]
        return self.users[role]

    async def settle(self) -> None:
        """Wait until every promised message has reached the emulator."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience
        while loop.time() < deadline:
            async with self.db.transaction() as s:
                pending = await s.scalar(
                    select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
                )
            if not pending:
                return
            await asyncio.sleep(0.05)  # polling a condition, not waiting for time
        raise AssertionError("outbox did not drain")

    async def act(self, user: User, *, tap: str | None = None, say: str | None = None) -> None:
        """Act, then wait until the bot has handled that very update (committed) and sent all."""
        await self.settle()
        if tap is not None:
            await self.emu.wait_for(
                lambda: self.emu.find_button(user.id, tap) is not None,
                timeout=30,
                description=f"button {tap!r} for {user.name}",
            )
            update_id = self.emu.user_taps_button(user.id, tap)
        else:
            assert say is not None
            update_id = self.emu.user_sends_text(user.id, say, first_name=user.name)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience
        while loop.time() < deadline:
            async with self.db.transaction() as s:
                if await s.get(InboundSeen, ("telegram", str(update_id))) is not None:
                    break
            await asyncio.sleep(0.05)  # polling a condition, not waiting for time
        else:
            raise AssertionError(f"update {update_id} of {user.name} was not handled")
        await self.settle()

    async def state(self) -> tuple[Cycle, list[Worksheet]]:
        async with self.db.transaction() as s:
            office = await s.scalar(select(Office).where(Office.code == f"uji-{self.index}"))
            assert office is not None
            self.office_id = office.id
            cycle = await s.scalar(select(Cycle).where(Cycle.office_id == office.id))
            assert cycle is not None
            sheets = list(await s.scalars(select(Worksheet).where(Worksheet.cycle_id == cycle.id)))
            return cycle, sheets

    def owner(self, ws: Worksheet) -> User:
        return {u.id: u for u in self.users.values()}[self._person_tg[ws.person_id]]

    async def run(self) -> Cycle:
        first = self.preset.first
        await self.act(self.user_for(first.pelaku, first.jabatan), say="/mulai TW II 2026 segera")
        async with self.db.transaction() as s:
            from storage.models import Identity

            self._person_tg = {
                i.person_id: int(i.external_id) for i in await s.scalars(select(Identity))
            }
        for _ in range(80):
            await self.settle()
            cycle, sheets = await self.state()
            if cycle.status == "selesai":
                return cycle
            await self.step(self.preset.step(cycle.step), sheets)
        raise AssertionError(f"{self.preset.id}: the chain did not finish")

    async def step(self, step, sheets: list[Worksheet]) -> None:  # noqa: ANN001
        actor = self.user_for(step.pelaku, step.jabatan)
        kind = step.jenis
        if kind == "isi":
            for ws in sheets:
                if ws.status in ("open", "returned"):
                    user = self.owner(ws)
                    for line in ("/isi", "2", "tap:Lewati", "tap:Lewati", "tap:Kirim"):
                        if line.startswith("tap:"):
                            await self.act(user, tap=line[4:])
                        else:
                            await self.act(user, say=line)
        elif kind == "verifikasi":
            ws = next(w for w in sheets if w.status == "submitted")
            owner = self.owner(ws)
            verifier = self.users["sekcam" if owner is self.users["perencana"] else "perencana"]
            if "verifikasi" not in self.returned and owner is not self.users["perencana"]:
                self.returned.add("verifikasi")
                await self.act(verifier, tap="Kembalikan")
                await self.act(verifier, say="Mohon periksa kembali datanya")
            else:
                await self.act(verifier, tap="Terima")
        elif kind == "rekap":
            verif = any(s.jenis == "verifikasi" for s in self.preset.langkah)
            if not verif and "rekap" not in self.returned:
                self.returned.add("rekap")
                await self.act(actor, tap="Kembalikan lembar")
                await self.act(actor, tap="PEM")
                await self.act(actor, say="PEM-1: angka belum sesuai register")
            else:
                await self.act(actor, tap="Teruskan")
        elif kind in ("telaah", "sahkan"):
            if step.id not in self.returned:
                self.returned.add(step.id)
                await self.act(actor, tap="Kembalikan")
                await self.act(actor, say="Mohon diperbaiki ringkasannya")
            else:
                await self.act(actor, tap="Setujui")
        elif kind in ("siapkan", "bagikan"):
            label = "Bagikan" if self.emu.find_button(actor.id, "Bagikan") else "Selesai"
            await self.act(actor, tap=label)
        elif kind in ("rapat", "arahan"):
            cal = calendar_for("Asia/Jakarta", {})
            today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Jakarta")).date()
            day = cal.next_working_day(today)
            await self.act(actor, tap="Atur rapat")
            await self.act(actor, say=day.strftime("%d-%m-%Y"))
            await self.act(actor, say="09.00")
            await self.act(actor, say="Aula Kecamatan")
        elif kind in ("metode", "analisis"):
            await self.act(actor, tap="Tulis")
            await self.act(actor, say=f"Catatan {kind} untuk triwulan ini")
        elif kind == "laporkan":
            await self.act(actor, tap="Laporkan")
        elif kind == "arsip":
            label = "Sudah diinput" if "aplikasi" in step.nama else "Selesai"
            await self.act(actor, tap=label)
        else:  # disposisi, gabung
            await self.act(actor, tap="Teruskan")


async def test_every_preset_runs_end_to_end_through_the_real_bot(
    emu: BotApiEmulator, db: Database, db_url: str, tmp_path: Path
):
    bot = BotProcess(emu, db_url, tmp_path / "bot.log")
    presets = preset_ids()
    assert len(presets) == 6
    for i, preset in enumerate(presets, start=1):
        path = tmp_path / f"kantor-{i}.yaml"
        path.write_text(office_file(i, preset), encoding="utf-8")
        await bot.cli("impor-kantor", str(path))
    await bot.start()
    try:
        pilots = [Autopilot(emu, db, i, p) for i, p in enumerate(presets, start=1)]
        cycles = await asyncio.wait_for(asyncio.gather(*(p.run() for p in pilots)), timeout=400)
        for _ in range(1200):  # the documents render in a worker process; wait until all are sent
            async with db.transaction() as s:
                busy = await s.scalar(
                    select(func.count())
                    .select_from(DocumentJob)
                    .where(DocumentJob.status == "pending")
                )
                busy += await s.scalar(
                    select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
                )
            if not busy:
                break
            await asyncio.sleep(0.1)  # polling a condition, not waiting for time
        else:
            raise AssertionError("documents were not delivered")
    finally:
        await bot.stop()

    for pilot, cycle in zip(pilots, cycles, strict=True):
        preset = pilot.preset
        async with db.transaction() as s:
            events = list(
                await s.scalars(select(Event).where(Event.cycle_id == cycle.id).order_by(Event.id))
            )
            finals = list(
                await s.scalars(
                    select(DocumentJob).where(
                        DocumentJob.cycle_id == cycle.id, DocumentJob.final.is_(True)
                    )
                )
            )
            sheets = list(await s.scalars(select(Worksheet).where(Worksheet.cycle_id == cycle.id)))
        acts = [e.action for e in events]
        assert cycle.status == "selesai" and cycle.data.get("final"), preset.id
        assert acts[:2] == ["siklus.buka", "siklus.mulai"], preset.id
        assert "siklus.selesai" in acts, preset.id
        assert not [a for a in acts[acts.index("siklus.selesai") :] if a.startswith("langkah.")]
        archived = [e for e in events if e.action == "arsip.simpan"]
        assert {e.data["kind"] for e in archived} == {"laporan", "rekap"}, preset.id
        assert all(len(e.data["sha256"]) == 64 for e in archived), preset.id
        assert "lembar.kembalikan" in acts, preset.id  # a return at the sheet level
        approvals = [s for s in preset.langkah if s.jenis in ("telaah", "sahkan")]
        for step in approvals:  # one return and (at the end) an approval at every level
            done = [e.action for e in events if e.subject == step.id]
            assert done.count("langkah.kembalikan") == 1 and done[-1] == "langkah.setujui", step.id
        assert acts.count("langkah.kembalikan") == len(approvals), preset.id
        assert sorted(j.kind for j in finals) == ["laporan", "rekap"], preset.id
        assert all(
            e.channel == "telegram"
            for e in events
            if e.actor_id and e.action.startswith(("langkah", "lembar"))
        ), preset.id
        if any(s.jenis == "verifikasi" for s in preset.langkah):
            assert all(w.status == "accepted" for w in sheets), preset.id
        assert {e.data.get("step") for e in events if e.action.startswith("langkah.")} <= {
            s.id for s in preset.langkah
        }
    # The final laporan and rekap reached each head as files through the real bot.
    for pilot in pilots:
        head = pilot.users["camat"]
        files = [m.file_name or "" for m in emu.chat_messages(head.id) if m.kind == "document"]
        assert any(
            f.startswith("Laporan_Kinerja_TW_II_2026_Kecamatan_Uji") and f.endswith(".pdf")
            for f in files
        ), (pilot.preset.id, files)
        assert any(
            f.startswith("Rekap_Kinerja_TW_II_2026") and f.endswith(".xlsx") for f in files
        ), (pilot.preset.id, files)
        pdf = next(
            m for m in emu.chat_messages(head.id) if (m.file_name or "").startswith("Laporan")
        )
        assert pdf.file_bytes and pdf.file_bytes.startswith(b"%PDF")
    by_id = {p.preset.id: (p, c) for p, c in zip(pilots, cycles, strict=True)}
    # Seed 003 (Kebasen): "input ke aplikasi" sent the planner the e-SAKIP file, and the tap
    # that confirmed it is in the audit log.
    for preset_id in ("kebasen-pengumpulan", "kebasen-pengukuran"):
        pilot, cycle = by_id[preset_id]
        planner = pilot.users["perencana"]
        files = [m for m in emu.chat_messages(planner.id) if m.kind == "document"]
        esakip = [m for m in files if (m.file_name or "").startswith("Input_eSAKIP_TW_II_2026")]
        assert esakip and esakip[0].file_bytes, (preset_id, [m.file_name for m in files])
        async with db.transaction() as s:
            marked = await s.scalar(
                select(Event).where(Event.cycle_id == cycle.id, Event.action == "esakip.diinput")
            )
        assert marked is not None and marked.channel == "telegram", preset_id
    # Seed 004: the semester roll-up ran at TW II; seed 000: the meeting invitation went out.
    pilot, cycle = by_id["batang-kapas"]
    async with db.transaction() as s:
        semester = list(
            await s.scalars(
                select(DocumentJob).where(
                    DocumentJob.cycle_id == cycle.id, DocumentJob.period_key == "2026-S1"
                )
            )
        )
    assert {j.kind for j in semester} == {"rekap", "laporan"}
    pilot, cycle = by_id["kertosono"]
    assert cycle.data["rapat"]["tempat"] == "Aula Kecamatan"
    assert "Undangan rapat koordinasi" in emu.transcript(pilot.users["kasi"].id)
    pilot, cycle = by_id["dawarblandong"]
    assert "Seluruh ASN ikut mengukur" in emu.transcript(pilot.users["staf"].id)
    assert cycle.data["metode"].startswith("Catatan metode")
