"""An office's calendar and predikat scale from its stored settings (``Office.settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flows.domain.calendar import OfficeCalendar, OfficeHours
from flows.domain.capaian import DEFAULT_SCALE, PredikatScale


def calendar_for(tz: str, settings: Mapping[str, Any]) -> OfficeCalendar:
    """The office calendar described by ``Office.tz`` and ``Office.settings``."""
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
