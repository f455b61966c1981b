"""The office file's issue-17 keys: admin_perencana and buka_siklus, checked politely."""

from __future__ import annotations

import pytest

from flows.setup.office_file import OfficeFileError, parse_office
from tests.test_office_import import sample


def test_keys_are_kept_in_the_office_settings() -> None:
    data = sample()
    data["kantor"]["admin_perencana"] = True
    data["kantor"]["buka_siklus"] = {"hari_kerja_ke": 2, "otomatis": True}
    spec = parse_office(data)
    assert spec.settings["admin_perencana"] is True
    assert spec.settings["buka_siklus"] == {"hari_kerja_ke": 2, "otomatis": True}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("admin_perencana", "kadang", "kantor.admin_perencana"),
        ("buka_siklus", "besok", "kantor.buka_siklus"),
        ("buka_siklus", {"hari_kerja_ke": 0}, "kantor.buka_siklus.hari_kerja_ke"),
        ("buka_siklus", {"hari_kerja_ke": True}, "kantor.buka_siklus.hari_kerja_ke"),
        ("buka_siklus", {"otomatis": "ya dong"}, "kantor.buka_siklus.otomatis"),
        ("buka_siklus", {"tanggal": 3}, "kantor.buka_siklus"),
    ],
)
def test_wrong_values_are_named(key: str, value: object, expected: str) -> None:
    data = sample()
    data["kantor"][key] = value
    with pytest.raises(OfficeFileError) as info:
        parse_office(data)
    assert any(e.startswith(expected) for e in info.value.errors), info.value.errors
