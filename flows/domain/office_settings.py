"""An office's calendar and predikat scale from its stored settings (``Office.settings``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from flows.domain.calendar import OfficeCalendar, OfficeHours
from flows.domain.capaian import DEFAULT_SCALE, PredikatScale

#: The settings a calendar is made from.
_CALENDAR_SETTINGS = ("jam_kerja", "libur_tambahan", "libur_batal")
#: Calendars made so far, by time zone and those settings (a year's holiday table takes about
#: 0.4 ms to build; a calendar is never changed once made, so offices and units of work
#: whose settings agree share one).
_CALENDARS: dict[str, OfficeCalendar] = {}


def calendar_for(tz: str, settings: Mapping[str, Any] | None) -> OfficeCalendar:
    """The office calendar described by ``Office.tz`` and ``Office.settings``, made once for
    each distinct time zone and calendar settings."""
    settings = settings or {}
    relevant = {k: settings.get(k) for k in _CALENDAR_SETTINGS}
    key = tz + json.dumps(relevant, sort_keys=True, default=str)
    cal = _CALENDARS.get(key)
    if cal is None:
        if len(_CALENDARS) >= 256:  # bounded: a province has a few hundred offices at most
            _CALENDARS.clear()
        cal = _CALENDARS[key] = _make_calendar(tz, settings)
    return cal


def _make_calendar(tz: str, settings: Mapping[str, Any]) -> OfficeCalendar:
    return OfficeCalendar(
        tz,
        OfficeHours.from_config(settings.get("jam_kerja")),
        {date.fromisoformat(k): v for k, v in (settings.get("libur_tambahan") or {}).items()},
        [date.fromisoformat(d) for d in settings.get("libur_batal") or ()],
    )


def predikat_scale_for(settings: Mapping[str, Any]) -> PredikatScale:
    """The office's predikat scale (``skala_predikat``), or the default one."""
    rows = settings.get("skala_predikat")
    return PredikatScale.from_config(rows) if rows else DEFAULT_SCALE
