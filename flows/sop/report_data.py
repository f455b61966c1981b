"""Build the channel-neutral ReportData of a cycle (or a semester / year) from the database.

Every number comes from flows.domain.measure (realisasi, capaian per period) and
flows.domain.capaian (predikat on the office's scale, averages clamped to [0, 120]); this module
only gathers the rows and assembles the dataclasses of reports.data.

Rules:
- Rows come from the worksheets the cycles handed out, whatever their status. Only a sheet that
  was sent (``submitted`` / ``accepted``) counts: the rows of an open or returned sheet show
  an empty realisasi, no kendala, upaya or evidence.
- A quarter key ("2026-TW3") reports that quarter; a semester ("2026-S1") or a year ("2026-Y",
  "2026-TAHUN") rolls up the quarter cycles of the office and year with each indicator's
  aggregation; the annual report adds capaian s.d. TW I..IV (``trend``; a quarter with no answer
  for the indicator shows n/a).
- The signing official is the office's Camat (role ``camat``); the approval history is the
  event log of the given cycle, with the names and the jabatan of the actors.
- A final laporan is what was approved: once the cycle is final (``Cycle.data["final"]``, set in
  the approving transaction), the history stops at the approval event and the signing date is
  the approval's, so every later render of the cycle gives the same pages.
- Indicators are numbered in the order printed (per section, grouped by sasaran).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.domain.calendar import OfficeCalendar
from flows.domain.capaian import PredikatScale, average_capaian, is_sedang_or_below, predikat
from flows.domain.fmt import fmt_date, fmt_number
from flows.domain.measure import Reported, figures
from flows.domain.office_settings import calendar_for, predikat_scale_for
from flows.domain.periods import Period
from flows.domain.roles import Role
from flows.domain.states import COUNTED
from flows.sop import value_history
from flows.sop.preset import Preset, load_cycle_preset
from flows.sop.sheet_data import targets_of
from reports.data import (
    HistoryEntry,
    IndicatorRow,
    Office,
    Official,
    ReportData,
    SectionReport,
    ValueChange,
)
from storage.models import (
    Cycle,
    Entry,
    Event,
    Indicator,
    Person,
    Section,
    StepDeadline,
    StoredFile,
    Worksheet,
)
from storage.models import Office as OfficeRow

__all__ = ["COUNTED", "ReportNotFound", "normalize_period_key", "report_data"]

#: Worksheet statuses whose answers count in a report.

HISTORY_FILE = Path(str(resources.files("templates") / "laporan" / "riwayat.yaml"))
_ANNUAL_KEY = re.compile(r"(?P<year>\d{4})-(?:TAHUN|TAHUNAN|Y)", re.I)
_SEMESTER_KEY = re.compile(r"(?P<year>\d{4})-(?:SEMESTER|SEM|S)(?P<n>[12])", re.I)


class ReportNotFound(LookupError):
    """The cycle (or its office) does not exist."""


def normalize_period_key(key: str) -> Period:
    """A period from a stored key: "2026-TW3", "2026-S1", "2026-Y", "2026-TAHUN"."""
    key = key.strip()
    try:
        return Period.from_key(key)
    except ValueError:
        pass
    if m := _ANNUAL_KEY.fullmatch(key):
        return Period.annual(int(m["year"]))
    if m := _SEMESTER_KEY.fullmatch(key):
        return Period.semester(int(m["year"]), int(m["n"]))
    raise ValueError(f"invalid period key: {key!r}")


@cache
def _history_words() -> dict[str, Any]:
    return yaml.safe_load(HISTORY_FILE.read_text(encoding="utf-8"))


def _quarter_of(cycle: Cycle) -> int | None:
    try:
        period = Period.from_key(cycle.period_key)
    except ValueError:
        return None
    return period.number if period.kind == "TW" else None


def predikat_ranges(scale: PredikatScale) -> tuple[str, ...]:
    """One "75 < C ≤ 90"-style text per level, best first (Bab III's table)."""
    bounds = [b for b, _ in scale.levels]
    out = [f"C > {fmt_number(bounds[0])}"]
    pairs = zip(bounds, bounds[1:], strict=False)
    out += [f"{fmt_number(lo)} < C ≤ {fmt_number(hi)}" for hi, lo in pairs]
    out.append(f"C ≤ {fmt_number(bounds[-1])}")
    return tuple(out)


def _local_date(dt: datetime, tz: str) -> date:
    return dt.astimezone(ZoneInfo(tz)).date() if dt.tzinfo is not None else dt.date()


async def _official(session: AsyncSession, office: OfficeRow, preset: Preset) -> Official:
    camat = await session.scalar(
        select(Person)
        .where(Person.office_id == office.id, Person.role == Role.CAMAT, Person.active.is_(True))
        .order_by(Person.id)
        .limit(1)
    )
    if camat is None:
        return Official(name="", jabatan=preset.title(Role.CAMAT), pangkat="", nip="")
    return Official(
        name=camat.nama,
        jabatan=camat.jabatan or preset.title(Role.CAMAT),
        pangkat=camat.pangkat,
        nip=camat.nip,
    )


async def _people(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, Person]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.scalars(select(Person).where(Person.id.in_(wanted)))
    return {p.id: p for p in rows}


def _late_days(cal: OfficeCalendar, due: datetime, done: datetime) -> int:
    """Working days after the due day on which ``done`` happened (0 = same day)."""
    due_day = cal.localize(due).date()
    done_day = cal.localize(done).date()
    if done_day <= due_day:
        return 0
    return max(1, cal.working_days_between(due_day + timedelta(days=1), done_day))


def _working_time(minutes: int, words: dict[str, Any]) -> str:
    """ "3 jam 15 menit kerja" from office-hours minutes (the riwayat words)."""
    hours, rest = divmod(minutes, 60)
    if hours:
        return str(words["jam_kerja"]).format(jam=hours, menit=rest)
    return str(words["menit_kerja"]).format(menit=rest)


async def _history(
    session: AsyncSession,
    cycle: Cycle,
    preset: Preset,
    sheets: dict[int, str],
    cal: OfficeCalendar,
) -> tuple[HistoryEntry, ...]:
    words = _history_words()
    known: dict[str, str] = words["tindakan"]
    same_as: dict[str, str] = words.get("sama_dengan") or {}
    every = list(
        await session.scalars(
            select(Event).where(Event.cycle_id == cycle.id).order_by(Event.at, Event.id)
        )
    )
    if (cycle.data or {}).get("final"):  # the approved laporan: nothing after the approval
        finals = [e.id for e in every if e.action == "siklus.final"]
        if finals:
            cut = max(finals)
            every = [e for e in every if e.id <= cut]
    moments = {(e.actor_id, e.at, e.action) for e in every}
    events = [
        e
        for e in every
        if e.action in known
        and not (e.action in same_as and (e.actor_id, e.at, same_as[e.action]) in moments)
    ]
    allowers = ((e.data or {}).get("diizinkan_oleh") for e in events)
    people = await _people(
        session, [e.actor_id for e in events] + [a for a in allowers if isinstance(a, int)]
    )
    isi = preset.first_of("isi")
    fill_due = None
    if isi is not None:
        fill_due = await session.scalar(
            select(StepDeadline.due_at).where(
                StepDeadline.cycle_id == cycle.id, StepDeadline.step == isi.id
            )
        )
    out = []
    for e in events:
        seksi = words["seksi_tidak_dikenal"]
        if e.subject.startswith("worksheet:") and e.subject[10:].isdigit():
            seksi = sheets.get(int(e.subject[10:]), seksi)
        action = known[e.action].format(seksi=seksi)
        step_id = (e.data or {}).get("step")
        if e.action.startswith("langkah.") and isinstance(step_id, str):
            with contextlib.suppress(KeyError):  # a step the preset no longer has
                action = words["dengan_langkah"].format(
                    tindakan=action, langkah=preset.step(step_id).nama
                )
        person = people.get(e.actor_id) if e.actor_id is not None else None
        if person is None:
            actor, title = words["sistem"], ""
        else:
            actor = person.nama
            title = e.acting_as or person.jabatan or _title(preset, person.role)
        on_time = (e.data or {}).get("tepat_waktu")
        late = None
        note = e.reason or ""
        late_minutes = (e.data or {}).get("terlambat_menit")
        if not isinstance(late_minutes, int):
            late_minutes = None
        elif e.action == "lembar.kirim":  # sent late with permission (flows.sop.late)
            allowed = people.get((e.data or {}).get("diizinkan_oleh") or 0)
            note = words["terlambat"].format(
                lama=_working_time(late_minutes, words),
                oleh=allowed.nama if allowed else words["sistem"],
            )
        if e.action == "lembar.kirim" and fill_due is not None and late_minutes is None:
            late = _late_days(cal, fill_due, e.at) if e.at > fill_due else 0
            on_time = late == 0
        due_at = fill_due if e.action == "lembar.kirim" and late_minutes is None else None
        due = (e.data or {}).get("batas")
        if due_at is None and isinstance(due, str):
            with contextlib.suppress(ValueError):
                due_at = datetime.fromisoformat(due)
        if late is None and on_time is False and due_at is not None:
            late = _late_days(cal, due_at, e.at)
        out.append(
            HistoryEntry(
                at=e.at,
                actor=actor,
                role_title=title,
                action=action,
                note=note,
                on_time=on_time if isinstance(on_time, bool) else None,
                late_days=late,
                due_at=due_at,
                late_minutes=late_minutes,
            )
        )
    return tuple(out)


async def _value_changes(session: AsyncSession, cycle_ids: list[int]) -> tuple[ValueChange, ...]:
    """Every value stored in the period's quarter cycles, in readers' words, oldest first."""
    return tuple(
        ValueChange(
            kode=c.kode,
            indikator=c.indikator,
            kolom=value_history.field_label(c.field),
            lama=value_history.shown(c.field, c.old),
            baru=value_history.shown(c.field, c.new),
            oleh=c.by,
            at=c.at,
            alasan=c.reason,
            kanal=value_history.channel_label(c.channel),
        )
        for c in await value_history.changes(session, cycle_ids)
    )


def _logo(settings: dict[str, Any]) -> str:
    """The office's lambang as read in from its office file (a data: URI), or nothing."""
    logo = settings.get("logo")
    ok = isinstance(logo, str) and logo.startswith(("data:image/png;", "data:image/svg+xml;"))
    return str(logo) if ok else ""


def _evidence_label(f: StoredFile, tz: str) -> str:
    """What the Kasi called the file (caption) and its own name; a photo has no own name."""
    words = _history_words()["bukti"]
    caption = (f.caption or "").strip()
    if f.kind == "photo":
        when = fmt_date(_local_date(f.created_at, tz))
        return (
            words["foto"].format(keterangan=caption, tanggal=when)
            if caption
            else words["foto_tanpa_keterangan"].format(tanggal=when)
        )
    if caption:
        return words["berkas"].format(keterangan=caption, nama=f.file_name)
    return f.file_name


def _title(preset: Preset, role: str) -> str:
    try:
        return preset.title(role)
    except KeyError:
        return role


async def _answers(
    session: AsyncSession, cycles: dict[int, Cycle]
) -> tuple[dict[int, dict[int, Reported]], dict[tuple[int, int], Entry]]:
    """Counted answers per indicator per quarter, and every entry by (cycle, indicator)."""
    if not cycles:
        return {}, {}
    rows = await session.execute(
        select(Entry, Worksheet)
        .join(Worksheet, Worksheet.id == Entry.worksheet_id)
        .where(Worksheet.cycle_id.in_(list(cycles)))
    )
    reported: dict[int, dict[int, Reported]] = {}
    entries: dict[tuple[int, int], Entry] = {}
    for entry, ws in rows:
        entries[(ws.cycle_id, entry.indicator_id)] = entry
        q = _quarter_of(cycles[ws.cycle_id])
        if q is None or ws.status not in COUNTED or not entry.filled:
            continue
        reported.setdefault(entry.indicator_id, {})[q] = Reported(
            entry.realisasi, entry.numerator, entry.denominator
        )
    return reported, entries


async def report_data(
    session: AsyncSession,
    cycle_id: int,
    period_key: str | None = None,
    *,
    now: datetime | None = None,
) -> ReportData:
    """The ReportData of a cycle's quarter, or of the semester / year ``period_key``.

    The signing date is the day the cycle finished, else ``now``, else the day it started
    (all in the office's time zone).
    """
    cycle = await session.get(Cycle, cycle_id)
    if cycle is None:
        raise ReportNotFound(f"cycle {cycle_id}")
    office = await session.get(OfficeRow, cycle.office_id)
    if office is None:
        raise ReportNotFound(f"office {cycle.office_id}")
    period = normalize_period_key(period_key or cycle.period_key)
    preset = load_cycle_preset(cycle.preset, cycle.preset_snapshot)
    scale = predikat_scale_for(office.settings or {})

    # Every quarter cycle of the office and year (answers s.d. need the earlier ones too).
    year_cycles = {
        c.id: c
        for c in await session.scalars(
            select(Cycle).where(
                Cycle.office_id == office.id, Cycle.period_key.like(f"{period.year}-TW%")
            )
        )
    }
    if _quarter_of(cycle) is not None and cycle.period_key.startswith(f"{period.year}-"):
        year_cycles[cycle.id] = cycle
    in_period = sorted(
        (c for c in year_cycles.values() if _quarter_of(c) in period.quarters),
        key=lambda c: _quarter_of(c) or 0,
    )
    reported, entries = await _answers(session, year_cycles)

    # The worksheets that define the sections: the latest quarter's sheet of each section.
    sheets: dict[int, Worksheet] = {}
    sheet_of_entry: dict[int, Worksheet] = {}
    all_sheets = list(
        await session.scalars(
            select(Worksheet).where(Worksheet.cycle_id.in_([c.id for c in in_period] or [-1]))
        )
    )
    order = {c.id: i for i, c in enumerate(in_period)}
    for ws in sorted(all_sheets, key=lambda w: (order[w.cycle_id], w.id)):
        sheets[ws.section_id] = ws
    by_id = {ws.id: ws for ws in all_sheets}
    for (_cid, _iid), entry in entries.items():
        if entry.worksheet_id in by_id:
            sheet_of_entry[entry.id] = by_id[entry.worksheet_id]

    indicator_ids = sorted({iid for (cid, iid) in entries if cid in order})
    indicators = {
        i.id: i
        for i in await session.scalars(select(Indicator).where(Indicator.id.in_(indicator_ids)))
    }
    sections = {
        s.id: s
        for s in await session.scalars(
            select(Section).where(Section.office_id == office.id).order_by(Section.id)
        )
    }
    people = await _people(
        session,
        [ws.person_id for ws in all_sheets] + [ws.reviewed_by for ws in all_sheets],
    )

    # Evidence of counted entries in the period, by indicator.
    counted_entries = {
        e.id: iid
        for (cid, iid), e in entries.items()
        if cid in order and sheet_of_entry[e.id].status in COUNTED
    }
    evidence: dict[int, list[str]] = {}
    if counted_entries:
        for f in await session.scalars(
            select(StoredFile)
            .where(StoredFile.entry_id.in_(list(counted_entries)))
            .order_by(StoredFile.id)
        ):
            evidence.setdefault(counted_entries[f.entry_id], []).append(  # type: ignore[index]
                _evidence_label(f, office.tz)
            )

    # The latest counted entry of the period gives kendala / upaya.
    def latest_entry(iid: int) -> Entry | None:
        for c in reversed(in_period):
            e = entries.get((c.id, iid))
            if e is not None and sheet_of_entry[e.id].status in COUNTED:
                return e
        return None

    section_reports: list[SectionReport] = []
    all_rows: list[IndicatorRow] = []
    for section_id, section in sections.items():
        ws = sheets.get(section_id)  # type: ignore[assignment]
        if ws is None:
            continue
        mine = [indicators[i] for i in indicator_ids if indicators[i].section_id == section_id]
        mine.sort(key=lambda i: (i.position, i.id))
        groups = list(dict.fromkeys(i.sasaran for i in mine))  # numbered in the order printed
        mine.sort(key=lambda i: groups.index(i.sasaran))
        owner = people.get(ws.person_id)
        owner_name = owner.nama if owner else ""
        rows = []
        for no, ind in enumerate(mine, start=1):
            t = targets_of(ind)
            answers = reported.get(ind.id, {})
            fig = figures(t, answers, period.quarters, scale)
            cap = fig.capaian_sd
            trend: tuple[Decimal | None, ...] = ()
            if period.kind == "TAHUN":
                trend = tuple(
                    figures(t, answers, (q,)).capaian_sd if q in answers else None
                    for q in range(1, 5)
                )
            latest = latest_entry(ind.id)
            rows.append(
                IndicatorRow(
                    no=no,
                    kode=ind.kode,
                    sasaran=ind.sasaran,
                    indikator=ind.nama,
                    satuan=ind.satuan,
                    target_tahunan=ind.target_tahunan,
                    target_sd=fig.target_sd,
                    realisasi_tw=fig.realisasi_periode,
                    realisasi_sd=fig.realisasi_sd,
                    capaian_sd=cap,
                    capaian_tahunan=fig.capaian_tahunan,
                    predikat=predikat(cap, scale),
                    kendala=latest.keterangan if latest else "",
                    upaya=latest.upaya if latest else "",
                    penanggung_jawab=owner_name,
                    evidence=tuple(evidence.get(ind.id, ())),
                    trend=trend,
                    targets_tw=t.target_sd,
                    rentang=fig.rentang_sd,
                    sisi_rentang=fig.sisi_rentang,
                )
            )
        all_rows += rows
        avg = average_capaian(r.capaian_sd for r in rows)
        verified = (  # accepted after its (last) submission; a returner is no verifier
            ws.status == "accepted"
            and ws.reviewed_at is not None
            and (ws.submitted_at is None or ws.reviewed_at >= ws.submitted_at)
        )
        reviewer = people.get(ws.reviewed_by) if verified and ws.reviewed_by else None
        section_reports.append(
            SectionReport(
                kode=section.kode,
                nama=section.nama,
                kepala_nama=owner_name,
                rows=tuple(rows),
                average_capaian=avg,
                predikat_counts={
                    lvl: sum(1 for r in rows if r.predikat == lvl) for lvl in scale.labels
                },
                submitted_at=ws.submitted_at,
                submitted_by=owner_name if ws.submitted_at is not None else None,
                verified_by=reviewer.nama if reviewer else None,
                verified_at=ws.reviewed_at if reviewer else None,
                predikat=predikat(avg, scale),
            )
        )

    sasaran_order = list(dict.fromkeys(r.sasaran for r in all_rows))
    sasaran_averages = tuple(
        (s, average_capaian(r.capaian_sd for r in all_rows if r.sasaran == s))
        for s in sasaran_order
    )
    office_average = average_capaian(r.capaian_sd for r in all_rows)
    section_names = {
        ws.id: sections[ws.section_id].nama
        for ws in await session.scalars(select(Worksheet).where(Worksheet.cycle_id == cycle.id))
        if ws.section_id in sections
    }
    final = (cycle.data or {}).get("final")
    signed_at = (
        datetime.fromisoformat(final) if final else (cycle.finished_at or now or cycle.created_at)
    )
    own_quarter = period.key == cycle.period_key
    return ReportData(
        office=Office(
            nama=office.nama,
            kabupaten=office.kabupaten,
            alamat=office.alamat,
            kota_ttd=office.kota_ttd,
            kepala=await _official(session, office, preset),
            logo=_logo(office.settings or {}),
        ),
        period_label=period.label,
        period_kind=period.kind,
        period_slug=period.slug,
        tahun=period.year,
        sections=tuple(section_reports),
        sasaran_averages=sasaran_averages,
        office_average=office_average,
        office_predikat=predikat(office_average, scale),
        history=await _history(
            session, cycle, preset, section_names, calendar_for(office.tz, office.settings or {})
        ),
        verification_step=preset.first_of("verifikasi") is not None,
        analisis=str((cycle.data or {}).get("analisis") or "") if own_quarter else "",
        value_changes=await _value_changes(session, [c.id for c in in_period]),
        signed_on=_local_date(signed_at, office.tz),
        tz=office.tz,
        predikat_levels=scale.labels,
        low_predikat=frozenset(lbl for lbl in scale.labels if is_sedang_or_below(lbl, scale)),
        predikat_ranges=predikat_ranges(scale),
    )
