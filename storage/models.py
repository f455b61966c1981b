"""SQLAlchemy 2.0 models: offices, people, the Perjanjian Kinerja, cycles, worksheets,
conversation state, the event log and the outbox."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import DecimalText, UTCDateTime

#: Names of constraints and indexes. Alembic's operations use it too (``target_metadata``), so
#: a migration's unnamed constraint gets the same name as the model's, and can be dropped by it.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Office(Base):
    __tablename__ = "office"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    nama: Mapped[str] = mapped_column(String(200))
    kabupaten: Mapped[str] = mapped_column(String(200), default="")
    alamat: Mapped[str] = mapped_column(String(300), default="")
    kota_ttd: Mapped[str] = mapped_column(String(100), default="")
    tz: Mapped[str] = mapped_column(String(40), default="Asia/Jakarta")
    preset: Mapped[str] = mapped_column(String(500))
    tahun: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Section(Base):
    __tablename__ = "section"
    __table_args__ = (UniqueConstraint("office_id", "kode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    kode: Mapped[str] = mapped_column(String(20))
    nama: Mapped[str] = mapped_column(String(200))


class Person(Base):
    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("office_id", "nip"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    nip: Mapped[str] = mapped_column(String(18))
    nama: Mapped[str] = mapped_column(String(200))
    jabatan: Mapped[str] = mapped_column(String(200), default="")
    pangkat: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("section.id"))
    telepon: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Identity(Base):
    """A person's account on a channel (a Telegram user id, a WhatsApp user id)."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    #: The phone number (digits, country code first) for WhatsApp; "" for Telegram.
    phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InviteCode(Base):
    __tablename__ = "invite_code"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Indicator(Base):
    """One row of the Perjanjian Kinerja; targets are "s.d. TW" (cumulative)."""

    __tablename__ = "indicator"
    __table_args__ = (UniqueConstraint("office_id", "kode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("section.id"))
    kode: Mapped[str] = mapped_column(String(40))
    sasaran: Mapped[str] = mapped_column(Text)
    nama: Mapped[str] = mapped_column(Text)
    satuan: Mapped[str] = mapped_column(String(60))
    polarity: Mapped[str] = mapped_column(String(10))
    aggregation: Mapped[str] = mapped_column(String(12))
    inverse: Mapped[bool] = mapped_column(Boolean, default=False)
    target_tahunan: Mapped[Decimal | None] = mapped_column(DecimalText)
    target_tw1: Mapped[Decimal | None] = mapped_column(DecimalText)
    target_tw2: Mapped[Decimal | None] = mapped_column(DecimalText)
    target_tw3: Mapped[Decimal | None] = mapped_column(DecimalText)
    target_tw4: Mapped[Decimal | None] = mapped_column(DecimalText)
    range_lo: Mapped[Decimal | None] = mapped_column(DecimalText)
    range_hi: Mapped[Decimal | None] = mapped_column(DecimalText)
    #: Per-quarter ranges ``[[lo, hi] | None] * 4`` (text numbers); ``None`` = none of their own.
    range_tw: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    sub_kegiatan: Mapped[str] = mapped_column(String(40), default="")
    label_pembilang: Mapped[str] = mapped_column(String(200), default="")
    label_penyebut: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Kirim is refused while a measured entry of this indicator has no bukti dukung.
    requires_evidence: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def target_sd(self, quarter: int) -> Decimal | None:
        """Target s.d. TW ``quarter`` (1..4); None means not measured that quarter."""
        return getattr(self, f"target_tw{quarter}")


class Cycle(Base):
    """One collection cycle of an office for a period, run by the office's SOP preset."""

    __tablename__ = "cycle"
    __table_args__ = (UniqueConstraint("office_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    period_key: Mapped[str] = mapped_column(String(12))
    preset: Mapped[str] = mapped_column(String(500))
    #: The preset the cycle started with (flows.sop.preset.preset_snapshot); None: older cycle.
    preset_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    step: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="running")
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=0)


class Worksheet(Base):
    """The kertas kerja of one Kasi in one cycle."""

    __tablename__ = "worksheet"
    __table_args__ = (UniqueConstraint("cycle_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("section.id"))
    status: Mapped[str] = mapped_column(String(12), default="open")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    #: The filling window closed before the first Kirim: when the owner asked to send late,
    #: who allowed it (a person id) and when, and by how many working minutes it came late.
    late_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late_allowed_by: Mapped[int | None] = mapped_column(Integer)
    late_allowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late_minutes: Mapped[int | None] = mapped_column(Integer)
    #: The sheet's line of the rekap summary as it was sent (``flows.sop.rekap_view``); cleared
    #: when a figure it was made from changes, ``None`` until the first Kirim.
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)


class Entry(Base):
    """One indicator's answer on a worksheet.

    ``realisasi`` is what the Kasi reported: the new amount in the quarter for a
    ``kumulatif`` indicator (DOMAIN.md §3), the level for ``terakhir``, the rate for ``rata-rata``
    and numerator / denominator × 100 for ``rasio``.
    """

    __tablename__ = "entry"
    __table_args__ = (UniqueConstraint("worksheet_id", "indicator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worksheet_id: Mapped[int] = mapped_column(ForeignKey("worksheet.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id"), index=True)
    realisasi: Mapped[Decimal | None] = mapped_column(DecimalText)
    numerator: Mapped[Decimal | None] = mapped_column(DecimalText)
    denominator: Mapped[Decimal | None] = mapped_column(DecimalText)
    keterangan: Mapped[str] = mapped_column(Text, default="")
    upaya: Mapped[str] = mapped_column(Text, default="")
    filled: Mapped[bool] = mapped_column(Boolean, default=False)
    editable: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EntryChange(Base):
    """One change of one stored value of an entry: old → new, who, when, why, which channel.

    Written in the same transaction as the change (flows.sop.value_history); append-only.
    ``field`` is the entry's column (``realisasi``, ``numerator``, ``denominator``,
    ``keterangan``, ``upaya``) or ``bukti`` (an evidence file added; ``new`` is its name).
    Numbers are stored as their exact decimal text; ``None`` means no value.
    """

    __tablename__ = "entry_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    acting_as: Mapped[str] = mapped_column(String(40), default="")
    channel: Mapped[str] = mapped_column(String(20), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class StoredFile(Base):
    """Evidence bytes, kept in the database so a backup holds everything."""

    __tablename__ = "stored_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id"), index=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    file_name: Mapped[str] = mapped_column(String(200))
    caption: Mapped[str] = mapped_column(Text, default="", server_default="")
    mime: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20), default="")
    channel_file_id: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Conversation(Base):
    """Where a person is in a conversation; survives restarts."""

    __tablename__ = "conversation"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(30))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ButtonToken(Base):
    """What a button means: callback data carries only this short opaque token."""

    __tablename__ = "button_token"

    token: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    group_key: Mapped[str] = mapped_column(String(60), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: Set when the decision was taken: a tap then gets this answer ("Disetujui oleh ...").
    closed_note: Mapped[str] = mapped_column(Text, default="", server_default="")


class Event(Base):
    """Append-only audit log: who did what, when, through which channel."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"), index=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycle.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    acting_as: Mapped[str] = mapped_column(String(40), default="")
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(60), default="")
    channel: Mapped[str] = mapped_column(String(20), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Outbox(Base):
    """A message promised by a state change, delivered afterwards at least once."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    group_key: Mapped[str] = mapped_column(String(60), default="", index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    external_message_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: The delivery worker whose lease covers this row (the head of its chat) until
    #: ``claim_until``; an expired lease is anyone's to take over.
    claimed_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InboundSeen(Base):
    """Channel updates already handled (polling re-delivers after a crash)."""

    __tablename__ = "inbound_seen"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class InboxItem(Base):
    """A raw inbound update, committed before the channel is told it arrived.

    ``status`` is ``pending`` until handled (``done``) or given up (``dead``, a dead letter
    the operator can list and replay).
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "key"),
        Index("ix_inbox_status_channel_chat", "status", "channel", "chat", "id"),
        #: The claim's scan: pending rows by id, without walking every handled row.
        Index(
            "ix_inbox_pending",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Who sent it (a chat or user id): one chat's rows are handled one at a time, in order.
    chat: Mapped[str | None] = mapped_column(String(64))
    #: The worker handling it now, until when (a lease: a dead worker's claim expires).
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Acting(Base):
    """A person acting for a role (Plt / Plh) from ``starts`` to ``ends`` (inclusive)."""

    __tablename__ = "acting"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(3))
    starts: Mapped[date] = mapped_column(Date)
    ends: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StepDeadline(Base):
    """When the current visit of a cycle's step started and is due (office calendar)."""

    __tablename__ = "step_deadline"
    __table_args__ = (UniqueConstraint("cycle_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    step: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    visit: Mapped[int] = mapped_column(Integer, default=1)
    extended_reason: Mapped[str] = mapped_column(Text, default="")


class Reminder(Base):
    """A reminder or escalation due at ``due_at``; ``key`` makes it at-most-once."""

    __tablename__ = "reminder"
    #: The sweep's queue: pending rows by due time (``WHERE status = 'pending' AND due_at <= …``).
    __table_args__ = (Index("ix_reminder_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    step: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DocumentJob(Base):
    """A rekap / laporan to render outside the event loop and deliver (or archive)."""

    __tablename__ = "document_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    period_key: Mapped[str] = mapped_column(String(12))
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The worker rendering it, until when; without a holder, the time of the next retry.
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Lease(Base):
    """A named lease one process holds at a time (the Telegram poller on SQLite)."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    until: Mapped[datetime] = mapped_column(UTCDateTime())


__all__ = [
    "Acting",
    "Base",
    "ButtonToken",
    "Conversation",
    "Cycle",
    "DocumentJob",
    "Entry",
    "EntryChange",
    "Event",
    "Identity",
    "InboundSeen",
    "InboxItem",
    "Lease",
    "Indicator",
    "InviteCode",
    "Office",
    "Outbox",
    "Person",
    "Reminder",
    "Section",
    "StepDeadline",
    "StoredFile",
    "Worksheet",
]
