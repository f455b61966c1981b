"""SOP times in minutes are effort, not deadlines (issue 12)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows.domain.calendar import OfficeCalendar, SopDuration

WIB = ZoneInfo("Asia/Jakarta")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=WIB)  # 5 Oktober 2026 is a Monday


@pytest.mark.parametrize(
    ("start", "effort", "due"),
    [
        (at(5, 9), 2, at(5, 16)),  # Monday morning: the end of Monday
        (at(5, 6), 5, at(5, 16)),  # before opening: still Monday
        (at(5, 15, 1), 5, at(6, 8, 30)),  # 59 minutes left: Tuesday, an hour after opening
        (at(5, 15), 5, at(5, 16)),  # exactly an hour left: today
        (at(5, 14), 120, at(5, 16)),  # 2 hours of effort, 2 hours left: today
        (at(5, 14, 30), 120, at(6, 9, 30)),  # 2 hours of effort, 1,5 left: Tuesday 07.30 + 2 h
        (at(9, 16, 10), 2, at(12, 8, 30)),  # Friday closes 16.30: Monday 08.30
        (at(10, 10), 2, at(12, 16)),  # Saturday: the end of Monday
    ],
)
def test_minutes_are_due_at_the_end_of_the_working_day(start, effort, due) -> None:  # noqa: ANN001
    cal = OfficeCalendar(years=[2026])
    got = cal.step_due(start, SopDuration(effort, "menit"))
    assert got.astimezone(WIB) == due


def test_nobody_is_late_the_moment_a_step_begins() -> None:
    cal = OfficeCalendar(years=[2026])
    for day in range(5, 12):
        for hour in range(0, 24):
            for effort in (2, 5, 15, 60):
                start = at(day, hour)
                due = cal.step_due(start, SopDuration(effort, "menit"))
                assert due >= cal.next_office_time(start) + timedelta(hours=1)


@pytest.mark.parametrize("duration", [SopDuration(2, "jam"), SopDuration(3, "hari")])
def test_hours_and_days_stay_deadlines(duration: SopDuration) -> None:
    cal = OfficeCalendar(years=[2026])
    assert cal.step_due(at(5, 9), duration) == cal.add(at(5, 9), duration)
