"""The states of a cycle, a worksheet and an entry, and the kinds of SOP step, defined once.

Values equal the strings stored in the database, so no data migration is needed; a
``StrEnum`` member compares equal to its string.
"""

from __future__ import annotations

from enum import StrEnum


class CycleState(StrEnum):
    RUNNING = "running"
    SELESAI = "selesai"


class SheetState(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    CLOSED = "closed"  # never sent: the window closed and late sending was refused


#: Sheets that still owe the filler something (they can be filled and sent).
FILLABLE: tuple[SheetState, ...] = (SheetState.OPEN, SheetState.RETURNED)
#: Sheets whose figures count in the rekap and the laporan.
COUNTED: tuple[SheetState, ...] = (SheetState.SUBMITTED, SheetState.ACCEPTED)


class EntryState(StrEnum):
    """An entry's state, derived from its ``filled`` and ``editable`` flags."""

    EMPTY = "kosong"  # may be filled, not filled yet
    FILLED = "terisi"  # filled, may still change
    LOCKED = "terkunci"  # sent (or accepted): no change until it is returned

    @classmethod
    def of(cls, *, filled: bool, editable: bool) -> EntryState:
        if not editable:
            return cls.LOCKED
        return cls.FILLED if filled else cls.EMPTY


class StepKind(StrEnum):
    """What the engine does at a step, the same for every preset (``jenis`` in the YAML)."""

    PERINTAH = "perintah"
    DISPOSISI = "disposisi"
    SIAPKAN = "siapkan"
    BAGIKAN = "bagikan"
    RAPAT = "rapat"
    ARAHAN = "arahan"
    METODE = "metode"
    ISI = "isi"
    VERIFIKASI = "verifikasi"
    ANALISIS = "analisis"
    REKAP = "rekap"
    TELAAH = "telaah"
    SAHKAN = "sahkan"
    LAPORKAN = "laporkan"
    ARSIP = "arsip"
    GABUNG = "gabung"


#: Step kinds after which the figures may no longer change (the last one locks the cycle).
LOCKING: tuple[StepKind, ...] = (
    StepKind.VERIFIKASI,
    StepKind.REKAP,
    StepKind.TELAAH,
    StepKind.SAHKAN,
)
#: Step kinds whose actor types a meeting's date, time and place.
MEETINGS: tuple[StepKind, ...] = (StepKind.RAPAT, StepKind.ARAHAN)
