"""Import a validated office file into the database: upsert, never duplicate, never delete data.

The caller runs :func:`import_office` inside one transaction (``async with db.transaction()``):
everything is checked before the first write, and any error rolls the whole import back.

Keys: the office by ``code``; sections by (office, kode); people by (office, NIP); indicators
by (office, kode), ``position`` = file order. People and indicators that are no longer in the
file are deactivated (``active=False``), never deleted; the report says which of them already
had data. Sections no longer in the file are deleted only when nothing refers to them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core import texts
from flows.domain.fmt import fmt_nip, normalize_nip
from flows.setup.office_file import (
    SETTINGS_KEYS,
    IndicatorSpec,
    OfficeFileError,
    OfficeSpec,
    PersonSpec,
    Problems,
)
from flows.sop.rekap_view import forget_lines
from storage.models import (
    Entry,
    Event,
    Identity,
    Indicator,
    InviteCode,
    Office,
    Person,
    Section,
    Worksheet,
)

__all__ = [
    "INVITE_ALPHABET",
    "INVITE_LENGTH",
    "Counts",
    "ImportReport",
    "Invite",
    "OfficeFileError",
    "Removal",
    "find_office",
    "import_office",
    "invite_link",
    "invite_message",
    "merge_indicators",
    "new_invite_code",
    "reissue_invite",
]

#: Invite code letters: no 0/O or 1/I, so a code read aloud or retyped cannot be misread.
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
INVITE_LENGTH = 8


class Invite(NamedTuple):
    """An invite to hand to a person: (name, role, code)."""

    nama: str
    peran: str
    kode: str
    telepon: str | None = None  # invited on WhatsApp when the file gives a number


@dataclass
class Counts:
    """What happened to one kind of row."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    deleted: int = 0


@dataclass(frozen=True)
class Removal:
    """A row no longer in the file: ``jenis`` is ``seksi``, ``pegawai`` or ``indikator``.

    ``punya_data``: it already had data, so it is kept (deactivated, or for a section simply
    kept). ``dihapus``: an unused section that was deleted.
    """

    jenis: str
    kunci: str
    nama: str
    punya_data: bool
    dihapus: bool = False

    def message(self) -> str:
        return texts.render("impor/dinonaktifkan", r=self)


def invite_link(bot_username: str, code: str) -> str:
    """Telegram deep link that starts the bot with the invite code."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


def wa_invite_link(bot_number: str, code: str) -> str:
    """WhatsApp click-to-chat link with "start KODE" already typed."""
    digits = "".join(ch for ch in bot_number if ch.isdigit())
    return f"https://wa.me/{digits}?text=start%20{code}"


@dataclass
class ImportReport:
    """What an import did; :meth:`summary` is the Indonesian text for the admin."""

    office_code: str
    office_name: str
    office_created: bool = False
    sections: Counts = field(default_factory=Counts)
    people: Counts = field(default_factory=Counts)
    indicators: Counts = field(default_factory=Counts)
    #: False when the source had no indicators (they were left as they were).
    indicators_included: bool = True
    #: Whether sections and people were part of the source (False for a PK workbook).
    people_included: bool = True
    identities_created: int = 0
    removals: list[Removal] = field(default_factory=list)
    invites: list[Invite] = field(default_factory=list)

    def invite_link(self, bot_username: str, code: str) -> str:
        """``https://t.me/<bot>?start=<code>``."""
        return invite_link(bot_username, code)

    @property
    def kept(self) -> list[Removal]:
        """Rows not in the file that were kept because they already had data."""
        return [r for r in self.removals if r.punya_data]

    def counts(self) -> dict[str, dict[str, int]]:
        """Counts per kind (for the audit log)."""
        return {
            "seksi": asdict(self.sections),
            "pegawai": asdict(self.people),
            "indikator": asdict(self.indicators),
        }

    def summary(self, bot_username: str | None = None, wa_number: str | None = None) -> str:
        """The report for the admin, with invite links: a ``wa.me`` link for people with a
        phone number (when ``wa_number`` is given), else the Telegram link."""
        links: dict[str, str] = {}
        for i in self.invites:
            if i.telepon and wa_number:
                links[i.kode] = wa_invite_link(wa_number, i.kode)
            elif bot_username:
                links[i.kode] = invite_link(bot_username, i.kode)
        return texts.render("impor/laporan", r=self, tautan=links)


# --- helpers -----------------------------------------------------------------------------------


def _assign(obj: Any, values: Mapping[str, Any]) -> bool:
    """Set attributes; True when any value changed."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def new_invite_code() -> str:
    """A random code of :data:`INVITE_LENGTH` letters from :data:`INVITE_ALPHABET`."""
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


async def _fresh_code(session: AsyncSession, taken: set[str]) -> str:
    while True:
        code = new_invite_code()
        if code not in taken and await session.get(InviteCode, code) is None:
            taken.add(code)
            return code


def _person_label(i: int, person: PersonSpec) -> str:
    return f"pegawai ke-{i + 1} (NIP {fmt_nip(person.nip)})"


def _channels(person: PersonSpec) -> list[tuple[str, str, str]]:
    """(channel, external id, file key) for the accounts the file gives."""
    out: list[tuple[str, str, str]] = []
    if person.telegram_id is not None:
        out.append(("telegram", str(person.telegram_id), "telegram_id"))
    # WhatsApp users are keyed by the Cloud API user id, known only at their first message:
    # they are bound then by this telepon (or by their invite code).
    return out


# --- checks that need the database -------------------------------------------------------------


async def _identity_owners(
    session: AsyncSession, people: Sequence[PersonSpec]
) -> dict[tuple[str, str], tuple[Identity, Person]]:
    wanted = {(ch, ext) for p in people for ch, ext, _ in _channels(p)}
    if not wanted:
        return {}
    rows = await session.execute(
        select(Identity, Person)
        .join(Person, Identity.person_id == Person.id)
        .where(Identity.external_id.in_({ext for _, ext in wanted}))
    )
    return {
        (ident.channel, ident.external_id): (ident, person)
        for ident, person in rows
        if (ident.channel, ident.external_id) in wanted
    }


async def _check_identities(
    session: AsyncSession,
    office: Office | None,
    spec: OfficeSpec,
    owners: Mapping[tuple[str, str], tuple[Identity, Person]],
) -> None:
    """A Telegram id or phone number already bound to someone in another office is an error."""
    problems = Problems()
    office_names: dict[int, str] = {}
    for i, person in enumerate(spec.people):
        for channel, ext, key in _channels(person):
            found = owners.get((channel, ext))
            if found is None:
                continue
            _, owner = found
            if office is not None and owner.office_id == office.id:
                continue
            if owner.office_id not in office_names:
                other = await session.get(Office, owner.office_id)
                office_names[owner.office_id] = other.nama if other else "?"
            shown = person.telepon if key == "telepon" else ext
            problems.add(
                _person_label(i, person),
                "identitas_dipakai",
                medan=key,
                nilai=shown,
                pemilik=f"{owner.nama} ({office_names[owner.office_id]})",
            )
    problems.raise_if_any()


# --- sync per kind -----------------------------------------------------------------------------


async def _sync_sections(
    session: AsyncSession, office: Office, spec: OfficeSpec, report: ImportReport
) -> tuple[dict[str, int], list[Section]]:
    """Upsert the file's sections; return kode → id and the stored sections not in the file."""
    stored = {
        _key(s.kode): s
        for s in await session.scalars(select(Section).where(Section.office_id == office.id))
    }
    ids: dict[str, int] = {}
    seen: set[str] = set()
    for item in spec.sections:
        key = _key(item.kode)
        seen.add(key)
        section = stored.get(key)
        if section is None:
            section = Section(office_id=office.id, kode=item.kode, nama=item.nama)
            session.add(section)
            report.sections.created += 1
        elif _assign(section, {"kode": item.kode, "nama": item.nama}):
            report.sections.updated += 1
        else:
            report.sections.unchanged += 1
        await session.flush()
        ids[item.kode] = section.id
    return ids, [s for key, s in stored.items() if key not in seen]


async def _drop_old_sections(
    session: AsyncSession, leftovers: Iterable[Section], report: ImportReport
) -> None:
    """Delete sections no longer in the file unless something still refers to them."""
    for section in leftovers:
        used = (
            await session.scalar(
                select(Indicator.id).where(Indicator.section_id == section.id).limit(1)
            )
            or await session.scalar(
                select(Person.id).where(Person.section_id == section.id).limit(1)
            )
            or await session.scalar(
                select(Worksheet.id).where(Worksheet.section_id == section.id).limit(1)
            )
        )
        if used:
            report.removals.append(Removal("seksi", section.kode, section.nama, punya_data=True))
        else:
            await session.delete(section)
            report.sections.deleted += 1
            report.removals.append(
                Removal("seksi", section.kode, section.nama, punya_data=False, dihapus=True)
            )


async def _sync_people(
    session: AsyncSession,
    office: Office,
    spec: OfficeSpec,
    section_ids: Mapping[str, int],
    report: ImportReport,
) -> dict[str, Person]:
    """Upsert people by NIP, deactivate the missing; return NIP → person for the file's."""
    stored = {
        p.nip: p for p in await session.scalars(select(Person).where(Person.office_id == office.id))
    }
    out: dict[str, Person] = {}
    for item in spec.people:
        values = {
            "nama": item.nama,
            "jabatan": item.jabatan,
            "pangkat": item.pangkat,
            "role": item.peran,
            "section_id": section_ids[item.seksi] if item.seksi else None,
            "telepon": item.telepon,
            "active": True,
        }
        person = stored.get(item.nip)
        if person is None:
            person = Person(office_id=office.id, nip=item.nip, **values)
            session.add(person)
            report.people.created += 1
        elif _assign(person, values):
            report.people.updated += 1
        else:
            report.people.unchanged += 1
        out[item.nip] = person
    await session.flush()

    missing = [p for nip, p in stored.items() if nip not in out and p.active]
    if missing:
        ids = [p.id for p in missing]
        with_data = set(
            await session.scalars(select(Worksheet.person_id).where(Worksheet.person_id.in_(ids)))
        ) | set(
            await session.scalars(
                select(Worksheet.reviewed_by).where(Worksheet.reviewed_by.in_(ids))
            )
        )
        await session.execute(
            delete(InviteCode).where(InviteCode.person_id.in_(ids), InviteCode.used_at.is_(None))
        )
        for person in missing:
            person.active = False
            report.people.deactivated += 1
            report.removals.append(
                Removal("pegawai", fmt_nip(person.nip), person.nama, person.id in with_data)
            )
    return out


async def _sync_identities(
    session: AsyncSession,
    spec: OfficeSpec,
    people: Mapping[str, Person],
    owners: Mapping[tuple[str, str], tuple[Identity, Person]],
    report: ImportReport,
) -> None:
    """Bind the Telegram ids and phone numbers the file gives (add only, never remove)."""
    for item in spec.people:
        person = people[item.nip]
        for channel, ext, _ in _channels(item):
            found = owners.get((channel, ext))
            if found is None:
                session.add(Identity(person_id=person.id, channel=channel, external_id=ext))
                report.identities_created += 1
            elif found[0].person_id != person.id:  # same office, another (old) record
                found[0].person_id = person.id
    await session.flush()


async def _ensure_invites(
    session: AsyncSession,
    spec: OfficeSpec,
    people: Mapping[str, Person],
    report: ImportReport,
    now: datetime,
) -> None:
    """People with no account and no Telegram id in the file get a code (an unused one is
    reused); with a telepon they may also just write to the WhatsApp number."""
    waiting = [item for item in spec.people if item.telegram_id is None]
    if not waiting:
        return
    ids = [people[item.nip].id for item in waiting]
    bound = set(
        await session.scalars(select(Identity.person_id).where(Identity.person_id.in_(ids)))
    )
    unused: dict[int, str] = {}
    rows = await session.scalars(
        select(InviteCode)
        .where(InviteCode.person_id.in_(ids), InviteCode.used_at.is_(None))
        .order_by(InviteCode.created_at)
    )
    for invite in rows:
        unused[invite.person_id] = invite.code  # the newest wins
    taken: set[str] = set()
    for item in waiting:
        person = people[item.nip]
        if person.id in bound:
            continue
        code = unused.get(person.id)
        if code is None:
            code = await _fresh_code(session, taken)
            session.add(InviteCode(code=code, person_id=person.id, created_at=now))
        report.invites.append(Invite(item.nama, item.peran, code, item.telepon))
    await session.flush()


async def merge_indicators(
    session: AsyncSession,
    office: Office,
    specs: Sequence[IndicatorSpec],
    section_ids: Mapping[str, int],
    report: ImportReport,
    *,
    deactivate_missing: bool = True,
) -> None:
    """Upsert indicators by kode (``position`` = order in ``specs``); deactivate the stored
    ones that are not in ``specs`` (kept, never deleted; the report says which had data)
    unless ``deactivate_missing`` is False.

    ``section_ids`` maps section kode → id. Fields in ``spec.keep`` keep their stored value.
    """
    stored = {
        _key(i.kode): i
        for i in await session.scalars(select(Indicator).where(Indicator.office_id == office.id))
    }
    seen: set[str] = set()
    for position, item in enumerate(specs):
        key = _key(item.kode)
        seen.add(key)
        lo, hi = item.rentang if item.rentang else (None, None)
        optional: dict[str, Any] = {
            "rentang": {"range_lo": lo, "range_hi": hi},
            "rentang_tw": {
                "range_tw": [[str(r[0]), str(r[1])] if r else None for r in item.rentang_tw]
                if item.rentang_tw
                else None
            },
            "sub_kegiatan": {"sub_kegiatan": item.sub_kegiatan},
            "invers": {"inverse": item.invers},
            "wajib_bukti": {"requires_evidence": item.wajib_bukti},
            "pembilang": {"label_pembilang": item.pembilang},
            "penyebut": {"label_penyebut": item.penyebut},
        }
        values: dict[str, Any] = {
            "kode": item.kode,
            "section_id": section_ids[item.seksi],
            "sasaran": item.sasaran,
            "nama": item.nama,
            "satuan": item.satuan,
            "polarity": item.polaritas,
            "aggregation": item.agregasi,
            "target_tahunan": item.target_tahunan,
            "target_tw1": item.target_tw[0],
            "target_tw2": item.target_tw[1],
            "target_tw3": item.target_tw[2],
            "target_tw4": item.target_tw[3],
            "position": position,
            "active": True,
        }
        indicator = stored.get(key)
        for name, columns in optional.items():
            if indicator is None or name not in item.keep:
                values.update(columns)
        if indicator is None:
            session.add(Indicator(office_id=office.id, **values))
            report.indicators.created += 1
        elif _assign(indicator, values):
            report.indicators.updated += 1
        else:
            report.indicators.unchanged += 1

    missing = [i for key, i in stored.items() if key not in seen and i.active]
    if missing and deactivate_missing:
        with_data = set(
            await session.scalars(
                select(Entry.indicator_id).where(Entry.indicator_id.in_([i.id for i in missing]))
            )
        )
        for indicator in missing:
            indicator.active = False
            report.indicators.deactivated += 1
            report.removals.append(
                Removal("indikator", indicator.kode, indicator.nama, indicator.id in with_data)
            )
    await session.flush()
    if report.indicators.updated:  # targets or codes changed: the sent sheets' lines, again
        await forget_lines(session, office.id)


# --- entry points ------------------------------------------------------------------------------


async def import_office(session: AsyncSession, spec: OfficeSpec, *, now: datetime) -> ImportReport:
    """Create or update the office described by ``spec`` (see the module docstring).

    Raises :class:`OfficeFileError` before writing anything when a Telegram id or phone
    number in the file already belongs to someone in another office.
    """
    office = await session.scalar(select(Office).where(Office.code == spec.kode))
    owners = await _identity_owners(session, spec.people)
    await _check_identities(session, office, spec, owners)

    report = ImportReport(spec.kode, spec.nama, indicators_included=spec.indicators is not None)
    values = {
        "nama": spec.nama,
        "kabupaten": spec.kabupaten,
        "alamat": spec.alamat,
        "kota_ttd": spec.kota_ttd,
        "tz": spec.zona_waktu,
        "preset": spec.sop,
        "tahun": spec.tahun,
    }
    if office is None:
        office = Office(code=spec.kode, settings=dict(spec.settings), **values)
        session.add(office)
        report.office_created = True
    else:
        settings = {k: v for k, v in (office.settings or {}).items() if k not in SETTINGS_KEYS}
        settings.update(spec.settings)
        _assign(office, {**values, "settings": settings})
    await session.flush()

    section_ids, leftovers = await _sync_sections(session, office, spec, report)
    people = await _sync_people(session, office, spec, section_ids, report)
    await _sync_identities(session, spec, people, owners, report)
    if spec.indicators is not None:
        await merge_indicators(session, office, spec.indicators, section_ids, report)
    await _drop_old_sections(session, leftovers, report)
    await _ensure_invites(session, spec, people, report, now)
    session.add(
        Event(
            office_id=office.id,
            action="kantor.impor",
            subject=f"office:{office.id}",
            data={"baru": report.office_created, **report.counts()},
            at=now,
        )
    )
    await session.flush()
    return report


async def find_office(session: AsyncSession, office_code: str) -> Office:
    """The office with this code, or :class:`OfficeFileError` in Indonesian."""
    office = await session.scalar(select(Office).where(Office.code == office_code.strip()))
    if office is None:
        problems = Problems()
        problems.add("", "kantor_tidak_ada", nilai=office_code)
        problems.raise_if_any()
    assert office is not None
    return office


async def reissue_invite(
    session: AsyncSession,
    office_code: str,
    nip: str,
    *,
    now: datetime,
    actor_id: int | None = None,
    channel: str = "",
) -> str:
    """A new invite code for one person; their unused codes are deleted."""
    office = await find_office(session, office_code)
    problems = Problems()
    person = await session.scalar(
        select(Person).where(Person.office_id == office.id, Person.nip == normalize_nip(nip))
    )
    if person is None:
        problems.add("", "pegawai_tidak_ada", nilai=fmt_nip(nip))
    elif not person.active:
        problems.add("", "pegawai_nonaktif", nilai=fmt_nip(nip))
    problems.raise_if_any()
    assert person is not None
    await session.execute(
        delete(InviteCode).where(InviteCode.person_id == person.id, InviteCode.used_at.is_(None))
    )
    code = await _fresh_code(session, set())
    session.add(InviteCode(code=code, person_id=person.id, created_at=now))
    session.add(
        Event(
            office_id=office.id,
            actor_id=actor_id,
            action="undangan.baru",
            subject=f"person:{person.id}",
            channel=channel,
            at=now,
        )
    )
    await session.flush()
    return code


async def invite_message(
    session: AsyncSession, code: str, *, bot_username: str | None = None
) -> str:
    """The Indonesian text announcing a (re)issued code, with the deep link when possible."""
    invite = await session.get(InviteCode, code)
    assert invite is not None
    person = await session.get(Person, invite.person_id)
    assert person is not None
    return texts.render(
        "impor/undangan_baru",
        nama=person.nama,
        nip=person.nip,
        kode=code,
        tautan=invite_link(bot_username, code) if bot_username else "",
    )
