"""The roles of people in a kecamatan office, defined once (values as stored)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CAMAT = "camat"  # the head
    SEKCAM = "sekcam"  # the secretary
    PERENCANA = "perencana"  # the planner (Kasubag Perencanaan)
    KASI = "kasi"  # head of a section
    STAF = "staf"
    ADMIN = "admin"  # runs the office's administration from the chat (no SOP step)


#: Every role, in rank order (offices list people in this order).
ROLES: tuple[Role, ...] = tuple(Role)
#: Who answers for a section's worksheet, in order of preference.
SHEET_OWNERS: tuple[Role, ...] = (Role.KASI, Role.PERENCANA, Role.STAF)
#: The chain that runs the cycle (told when it ends, may ask for the rekap).
CHAIN: tuple[Role, ...] = (Role.CAMAT, Role.SEKCAM, Role.PERENCANA)
#: The heads who get the overview in /status and are told of a reopened cycle.
HEADS: tuple[Role, ...] = (Role.CAMAT, Role.SEKCAM)
#: Roles someone may act for (Plt / Plh).
ACTING: tuple[Role, ...] = (Role.CAMAT, Role.SEKCAM, Role.PERENCANA, Role.KASI)
