"""Admin commands behind the CLI; each prints Indonesian text from templates/."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet as XlsxSheet
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.failures import input_file, output_file
from bot.settings import Settings
from flows.core import texts
from flows.core.context import Ctx, SystemClock
from flows.core.router import Core
from flows.domain.fmt import fmt_nip, normalize_nip, tz_abbrev
from flows.domain.periods import Period, parse_period, quarter_just_ended
from flows.domain.roles import ACTING, ROLES
from flows.domain.states import CycleState
from flows.setup import staffing
from flows.setup.office_file import OfficeFileError, load_office_file
from flows.setup.office_import import import_office, invite_message
from flows.setup.office_import import reissue_invite as reissue_invite_flow
from flows.setup.pk_workbook import import_pk, read_pk, write_template
from flows.sop import engine
from flows.sop.cycle_admin import CycleError
from flows.sop.preset import PresetError, load_preset, preset_ids
from storage import inbox
from storage.db import Database, is_sqlite
from storage.migrate import upgrade
from storage.models import (
    Acting,
    Cycle,
    Event,
    Identity,
    Office,
    Outbox,
    Person,
    Section,
    StepDeadline,
    Worksheet,
)

XLSX = (".xlsx",)
EXCEL = "Excel (.xlsx)"


class AdminError(Exception):
    """An admin command cannot be done; the text is for the admin, in Indonesian."""

    def message(self) -> str:
        return str(self)


async def _database(settings: Settings) -> Database:
    db = Database(settings.database_url)
    await upgrade(db.engine)
    return db


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the bot on the configured channels; without any say plainly what is missing."""
    from bot.bootstrap import ROLES, StartupError, run_telegram, telegram_enabled, whatsapp_enabled

    role = getattr(args, "peran", None) or "semua"
    if role not in ROLES:
        print(texts.render("admin/peran_proses_salah", peran=role, pilihan=sorted(ROLES)))
        return 2
    if not telegram_enabled(settings) and not whatsapp_enabled(settings):
        print(texts.render("admin/tanpa_token"))
        return 0

    try:
        await run_telegram(settings, role=role)
    except StartupError as exc:
        print(str(exc))
        return 2
    return 0


async def open_cycle(args: argparse.Namespace, settings: Settings) -> int:
    """Open a collection cycle for an office and period, and hand out the worksheets."""
    from bot.bootstrap import build_router

    db = await _database(settings)
    core = Core(db, build_router(), SystemClock())
    result: list[str] = []

    async def work(ctx: Ctx) -> None:
        office = await ctx.session.scalar(select(Office).where(Office.code == args.kantor))
        if office is None:
            raise CycleError(texts.render("admin/kantor_tidak_ada", kode=args.kantor))
        period = (
            parse_period(args.periode, office.tahun)
            if args.periode
            else quarter_just_ended(date.today())
        )
        if period is None or period.kind != "TW":
            raise CycleError(texts.render("admin/periode_salah", teks=args.periode))
        run = await engine.start_at_fill(ctx, office, period, args.catatan)
        handouts = await engine.handouts(ctx, run)
        result.append(
            texts.render("admin/siklus_dibuka", periode=period, kantor=office, lembar=handouts)
        )

    try:
        await core.run(work)
    except CycleError as exc:
        print(str(exc))
        return 1
    finally:
        await db.dispose()
    print(result[0])
    return 0


async def _in_transaction(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[str]]
) -> int:
    """Run one admin change in one transaction; an import error prints and changes nothing."""
    db = await _database(settings)
    try:
        async with db.transaction() as session:
            message = await work(session)
    except (OfficeFileError, AdminError) as exc:
        print(exc.message())
        return 1
    finally:
        await db.dispose()
    print(message)
    return 0


async def import_office_file(args: argparse.Namespace, settings: Settings) -> int:
    """Import (or update) an office from its YAML file; print the report and invites."""
    try:
        spec = load_office_file(
            args.berkas, known_presets=preset_ids(), default_tz=settings.default_tz
        )
    except OfficeFileError as exc:
        print(exc.message())
        return 1

    async def work(session: AsyncSession) -> str:
        report = await import_office(session, spec, now=SystemClock().now())
        return report.summary(
            settings.telegram_bot_username or None, settings.whatsapp_number or None
        )

    return await _in_transaction(settings, work)


async def import_pk_file(args: argparse.Namespace, settings: Settings) -> int:
    """Import the PK indicators of an office from an xlsx workbook."""
    input_file(args.berkas, (*XLSX, ".xlsm"), EXCEL, "pk.xlsx")
    try:
        rows = read_pk(args.berkas, per_quarter=args.per_triwulan)
    except OfficeFileError as exc:
        print(exc.message())
        return 1

    async def work(session: AsyncSession) -> str:
        report = await import_pk(session, args.kantor, rows, now=SystemClock().now())
        return report.summary(
            settings.telegram_bot_username or None, settings.whatsapp_number or None
        )

    return await _in_transaction(settings, work)


async def write_pk_template(args: argparse.Namespace, settings: Settings) -> int:
    """Write a blank PK workbook a planner can fill in Excel."""
    output_file(args.berkas, "pk.xlsx", XLSX, EXCEL)
    write_template(args.berkas)
    print(texts.render("admin/templat_ditulis", berkas=args.berkas))
    return 0


async def reissue_invite(args: argparse.Namespace, settings: Settings) -> int:
    """A new single-use invite code for one person (the old unused ones die)."""

    async def work(session: AsyncSession) -> str:
        office = await _office(session, args.kantor)
        problems: list[str] = []
        await _acting_person(session, office, args.nip, problems)
        if problems:  # said here: no file is involved, so not the import's words
            raise AdminError("\n".join(problems))
        now = SystemClock().now()
        code = await reissue_invite_flow(session, args.kantor, args.nip, now=now)
        return await invite_message(
            session, code, bot_username=settings.telegram_bot_username or None
        )

    return await _in_transaction(settings, work)


# --- operational commands: look at offices, people and cycles --------------------------------

ACTING_ROLES = ACTING
ACTING_KINDS = {"plt": "Plt", "plh": "Plh"}
DATE_FORMATS = ("%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y")


def _word(code: str) -> str:
    """The Indonesian word for a stored status or channel code."""
    return texts.render("admin/kata", kode=code)


def _today(office: Office) -> date:
    """Today's date in the office's own time zone."""
    return SystemClock().now().astimezone(ZoneInfo(office.tz)).date()


async def _office(session: AsyncSession, code: str) -> Office:
    office = await session.scalar(select(Office).where(Office.code == code.strip()))
    if office is None:
        raise AdminError(texts.render("admin/kantor_tidak_ada", kode=code))
    return office


@dataclass(frozen=True)
class OfficeRow:
    office: Office
    active_people: int
    running: Period | None


async def _office_row(session: AsyncSession, office: Office) -> OfficeRow:
    people = await session.scalar(
        select(func.count())
        .select_from(Person)
        .where(Person.office_id == office.id, Person.active.is_(True))
    )
    running = await session.scalar(
        select(Cycle)
        .where(Cycle.office_id == office.id, Cycle.status == CycleState.RUNNING)
        .order_by(Cycle.period_key.desc(), Cycle.id.desc())
        .limit(1)
    )
    period = Period.from_key(running.period_key) if running else None
    return OfficeRow(office, people or 0, period)


async def list_offices(args: argparse.Namespace, settings: Settings) -> int:
    """Every office: code, name, SOP, year, active people and the running cycle."""

    async def work(session: AsyncSession) -> str:
        offices = list(await session.scalars(select(Office).order_by(Office.code)))
        rows = [await _office_row(session, office) for office in offices]
        return texts.render("admin/daftar_kantor", kantor=rows)

    return await _in_transaction(settings, work)


@dataclass(frozen=True)
class PersonRow:
    person: Person
    section: str
    channels: list[str]
    actings: list[Acting]


async def _person_row(session: AsyncSession, person: Person, today: date) -> PersonRow:
    section = await session.get(Section, person.section_id) if person.section_id else None
    channels = await session.scalars(
        select(Identity.channel).where(Identity.person_id == person.id).distinct()
    )
    actings = await session.scalars(
        select(Acting)
        .where(Acting.person_id == person.id, Acting.ends >= today)
        .order_by(Acting.starts, Acting.id)
    )
    return PersonRow(
        person,
        section.nama if section else "",
        sorted(_word(c) for c in channels),
        list(actings),
    )


async def list_people(args: argparse.Namespace, settings: Settings) -> int:
    """The people of one office, their registration and their current or coming Plt/Plh."""

    async def work(session: AsyncSession) -> str:
        office = await _office(session, args.kantor)
        people = list(await session.scalars(select(Person).where(Person.office_id == office.id)))
        people.sort(key=lambda p: (ROLES.index(p.role) if p.role in ROLES else 99, p.nama))
        today = _today(office)
        rows = [await _person_row(session, p, today) for p in people]
        return texts.render("admin/daftar_orang", kantor=office, orang=rows, hari_ini=today)

    return await _in_transaction(settings, work)


async def _cycle(session: AsyncSession, office: Office, text: str) -> Cycle:
    """The cycle of ``text`` ("TW III 2026"), or the office's latest period when it is empty."""
    query = select(Cycle).where(Cycle.office_id == office.id)
    if text.strip():
        period = parse_period(text, office.tahun)
        if period is None:
            raise AdminError(texts.render("admin/periode_salah", teks=text))
        query = query.where(Cycle.period_key == period.key)
    cycle = await session.scalar(query.order_by(Cycle.period_key.desc(), Cycle.id.desc()))
    if cycle is None:
        raise AdminError(
            texts.render("admin/siklus_tidak_ada", kantor=office, periode=text.strip())
        )
    return cycle


def _step_name(preset: str, step: str) -> str:
    """The step's name as the SOP writes it; empty when the preset does not know the step."""
    try:
        return load_preset(preset).step(step).nama
    except (KeyError, PresetError):
        return ""


@dataclass(frozen=True)
class SheetRow:
    person: str
    section: str
    status: str
    submitted_at: datetime | None


async def _sheets(session: AsyncSession, cycle: Cycle) -> list[SheetRow]:
    rows = await session.execute(
        select(Worksheet, Person.nama, Section.nama)
        .join(Person, Person.id == Worksheet.person_id)
        .join(Section, Section.id == Worksheet.section_id)
        .where(Worksheet.cycle_id == cycle.id)
        .order_by(Section.id)
    )
    return [
        SheetRow(name, section, _word(ws.status), ws.submitted_at) for ws, name, section in rows
    ]


@dataclass(frozen=True)
class DeadlineRow:
    step: str
    name: str
    row: StepDeadline


async def _deadlines(session: AsyncSession, cycle: Cycle) -> list[DeadlineRow]:
    rows = await session.scalars(
        select(StepDeadline)
        .where(StepDeadline.cycle_id == cycle.id)
        .order_by(StepDeadline.started_at, StepDeadline.id)
    )
    return [DeadlineRow(r.step, _step_name(cycle.preset, r.step), r) for r in rows]


@dataclass(frozen=True)
class EventRow:
    at: datetime
    actor: str
    nip: str
    acting_as: str
    channel: str
    action: str
    subject: str
    reason: str
    data: dict[str, Any]


async def _events(session: AsyncSession, cycle: Cycle) -> list[EventRow]:
    """The cycle's event log, oldest first, with each actor's name and NIP."""
    rows = await session.execute(
        select(Event, Person.nama, Person.nip)
        .outerjoin(Person, Person.id == Event.actor_id)
        .where(Event.cycle_id == cycle.id)
        .order_by(Event.at, Event.id)
    )
    return [
        EventRow(
            e.at,
            name or _word("sistem"),
            fmt_nip(nip) if nip else "",
            e.acting_as,
            _word(e.channel) if e.channel else "",
            e.action,
            e.subject,
            e.reason,
            dict(e.data or {}),
        )
        for e, name, nip in rows
    ]


async def show_cycle(args: argparse.Namespace, settings: Settings) -> int:
    """A cycle's step, status, worksheets, deadlines and event log."""

    async def work(session: AsyncSession) -> str:
        office = await _office(session, args.kantor)
        cycle = await _cycle(session, office, args.periode)
        return texts.render(
            "admin/siklus",
            kantor=office,
            siklus=cycle,
            periode=Period.from_key(cycle.period_key),
            langkah=_step_name(cycle.preset, cycle.step),
            status=_word(cycle.status),
            lembar=await _sheets(session, cycle),
            tenggat=await _deadlines(session, cycle),
            kejadian=await _events(session, cycle),
            gagal=await _failed_messages(session, cycle),
            tz=office.tz,
        )

    return await _in_transaction(settings, work)


async def _failed_messages(session: AsyncSession, cycle: Cycle) -> list[tuple[Any, ...]]:
    """Messages to this office's people the channel refused for good since the cycle began."""
    rows = await session.execute(
        select(Outbox.created_at, Person.nama, Outbox.channel, Outbox.last_error)
        .join(Person, Person.id == Outbox.person_id)
        .where(
            Person.office_id == cycle.office_id,
            Outbox.status == "failed",
            Outbox.created_at >= cycle.created_at,
        )
        .order_by(Outbox.id)
    )
    return [tuple(r) for r in rows.all()]


# --- the event log for an auditor ------------------------------------------------------------


def _text_cell(ws: XlsxSheet, row: int, column: int, value: str) -> None:
    """Write user text that Excel can never read as a formula (string type, quote prefix)."""
    cell = ws.cell(row=row, column=column)
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell.data_type = "s"
    cell.quotePrefix = True


def _write_log(path: Path, office: Office, period: Period, events: list[EventRow]) -> None:
    """The workbook: a heading, a frozen header row, one row per event."""
    wb = Workbook()
    ws = wb.active
    ws.title = texts.render("admin/ekspor_log_lembar")
    heading = texts.render("admin/ekspor_log_kop", kantor=office, periode=period).splitlines()
    for i, line in enumerate(heading, start=1):
        _text_cell(ws, i, 1, line)
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    header_row = len(heading) + 2
    columns = texts.render("admin/ekspor_log_kolom", zona=tz_abbrev(office.tz)).splitlines()
    for col, name in enumerate(columns, start=1):
        _text_cell(ws, header_row, col, name)
        ws.cell(row=header_row, column=col).font = Font(bold=True)
    tz = ZoneInfo(office.tz)
    for r, ev in enumerate(events, start=header_row + 1):
        when = ws.cell(
            row=r, column=1, value=ev.at.astimezone(tz).replace(tzinfo=None, microsecond=0)
        )
        when.number_format = "dd-mm-yyyy hh:mm:ss"
        data = json.dumps(ev.data, ensure_ascii=False, sort_keys=True) if ev.data else ""
        values = (ev.actor, ev.nip, ev.acting_as, ev.channel, ev.action, ev.subject, ev.reason)
        for col, value in enumerate((*values, data), start=2):
            _text_cell(ws, r, col, value)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    for col, width in enumerate((20, 28, 22, 18, 14, 18, 18, 40, 40), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


async def export_log(args: argparse.Namespace, settings: Settings) -> int:
    """Export one cycle's event log to an xlsx workbook."""
    target = output_file(Path(args.berkas), "log-tw3.xlsx", XLSX, EXCEL)

    async def work(session: AsyncSession) -> str:
        office = await _office(session, args.kantor)
        if not args.periode.strip():
            raise AdminError(texts.render("admin/periode_salah", teks=args.periode))
        cycle = await _cycle(session, office, args.periode)
        period = Period.from_key(cycle.period_key)
        events = await _events(session, cycle)
        try:
            _write_log(target, office, period, events)
        except OSError as exc:
            raise AdminError(
                texts.render("admin/berkas_gagal", berkas=target, galat=exc.strerror or exc)
            ) from exc
        return texts.render(
            "admin/ekspor_log_ditulis", berkas=target, jumlah=len(events), periode=period
        )

    return await _in_transaction(settings, work)


# --- backup ----------------------------------------------------------------------------------


def backup_sqlite(source: Path, target: Path) -> str:
    """Copy a live SQLite database with the online backup API; returns the integrity check.

    The copy is written next to ``target`` first and moved into place only when it is whole,
    so a failed backup never leaves a half-written file under the final name.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".sebagian")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        return check
    os.replace(partial, target)
    return check


def _pg_dump_hint(url: str, target: str) -> str:
    parts = make_url(url)
    return texts.render(
        "admin/cadangan_postgres",
        host=parts.host or "localhost",
        port=parts.port or 5432,
        pengguna=parts.username or "postgres",
        basis_data=parts.database or "",
        berkas=target,
    )


async def backup(args: argparse.Namespace, settings: Settings) -> int:
    """Back up the SQLite database while the bot runs; PostgreSQL gets a pg_dump hint."""
    url = settings.database_url
    if not is_sqlite(url):
        print(_pg_dump_hint(url, str(args.berkas)))
        return 2
    database = make_url(url).database or ""
    source = Path(database)
    target = output_file(Path(args.berkas), "cadangan/kinerja.db")
    if database in ("", ":memory:") or not source.is_file():
        print(texts.render("admin/cadangan_sumber_tidak_ada", sumber=database))
        return 1
    if target.resolve() == source.resolve():
        print(texts.render("admin/cadangan_sama", berkas=target))
        return 1
    try:
        check = await asyncio.to_thread(backup_sqlite, source, target)
    except (sqlite3.Error, OSError) as exc:
        print(texts.render("admin/cadangan_gagal", galat=str(exc)))
        return 1
    if check != "ok":
        print(texts.render("admin/cadangan_gagal", galat=check))
        return 1
    size = target.stat().st_size
    print(texts.render("admin/cadangan_ditulis", berkas=target, ukuran=size, sumber=source))
    return 0


# --- Plt / Plh -------------------------------------------------------------------------------


def parse_day(text: str) -> date | None:
    """A date written DD-MM-YYYY, YYYY-MM-DD or DD/MM/YYYY; None when it is none of them."""
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


async def _acting_person(
    session: AsyncSession, office: Office, nip: str, problems: list[str]
) -> Person | None:
    person = await session.scalar(
        select(Person).where(Person.office_id == office.id, Person.nip == normalize_nip(nip))
    )
    if person is None:
        problems.append(texts.render("admin/pegawai_tidak_ada", nip=nip, kantor=office))
    elif not person.active:
        problems.append(texts.render("admin/pegawai_nonaktif", orang=person))
    return person


def _acting_terms(args: argparse.Namespace, problems: list[str]) -> tuple[str, str, date, date]:
    """Role, kind and dates from the command line; every problem goes to ``problems``."""
    role = args.peran.strip().lower()
    if role not in ACTING_ROLES:
        problems.append(texts.render("admin/peran_salah", peran=args.peran, pilihan=ACTING_ROLES))
    kind = ACTING_KINDS.get(args.jenis.strip().lower(), "")
    if not kind:
        problems.append(texts.render("admin/jenis_salah", jenis=args.jenis))
    starts, ends = parse_day(args.mulai), parse_day(args.sampai)
    for text, day in ((args.mulai, starts), (args.sampai, ends)):
        if day is None:
            problems.append(texts.render("admin/tanggal_salah", teks=text))
    if starts and ends and starts > ends:
        problems.append(texts.render("admin/rentang_salah", mulai=starts, sampai=ends))
    return role, kind, starts or date.min, ends or date.min


_acting_data = staffing.acting_data


async def add_acting(args: argparse.Namespace, settings: Settings) -> int:
    """Appoint a Plt / Plh for a role over a range of dates (inclusive)."""

    async def work(session: AsyncSession) -> str:
        office = await _office(session, args.kantor)
        problems: list[str] = []
        person = await _acting_person(session, office, args.nip, problems)
        role, kind, starts, ends = _acting_terms(args, problems)
        if problems:
            raise AdminError(texts.render("admin/plt_gagal", kesalahan=problems))
        assert person is not None
        acting = await staffing.appoint_acting(
            session,
            office,
            person,
            role=role,
            kind=kind,
            starts=starts,
            ends=ends,
            reason=args.alasan.strip(),
            now=SystemClock().now(),
            actor_id=None,
            channel="cli",
        )
        return texts.render("admin/plt_ditetapkan", plt=acting, orang=person, kantor=office)

    return await _in_transaction(settings, work)


async def remove_acting(args: argparse.Namespace, settings: Settings) -> int:
    """Remove a Plt / Plh appointment by its id (shown by plt and daftar-orang)."""

    async def work(session: AsyncSession) -> str:
        office = await _office(session, args.kantor)
        acting_id = int(args.id) if args.id.strip().isdigit() else None
        acting = await session.get(Acting, acting_id) if acting_id is not None else None
        if acting is None or acting.office_id != office.id:
            raise AdminError(texts.render("admin/plt_tidak_ada", id=args.id, kantor=office))
        person = await session.get(Person, acting.person_id)
        assert person is not None
        session.add(
            Event(
                office_id=office.id,
                action="plt.hapus",
                subject=f"acting:{acting.id}",
                channel="cli",
                reason=args.alasan.strip(),
                data=_acting_data(acting, person),
                at=SystemClock().now(),
            )
        )
        await session.delete(acting)
        return texts.render("admin/plt_dihapus", plt=acting, orang=person)

    return await _in_transaction(settings, work)


# --- dead letters -------------------------------------------------------------------------


async def list_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    """``surat-mati``: inbound updates that could not be handled, with their error."""
    db = await _database(settings)
    try:
        async with db.transaction() as session:
            rows = await inbox.dead_letters(session)
            print(texts.render("admin/surat_mati", rows=rows))
    finally:
        await db.dispose()
    return 0


async def replay_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    """``surat-mati-ulang [ID ...]``: put dead letters (all, or these) back in the inbox.

    A running bot handles them within seconds (its inbox worker sweeps on its own); a
    letter that already took effect is recognised by its update id and changes nothing.
    """
    ids = [int(i) for i in getattr(args, "id", None) or [] if str(i).isdigit()] or None
    db = await _database(settings)
    try:
        async with db.transaction() as session:
            count = await inbox.replay(session, ids)
        print(texts.render("admin/surat_mati_ulang", jumlah=count))
    finally:
        await db.dispose()
    return 0
