"""``kinerja-bot jalan --peran``: an unknown role is refused politely and nothing starts."""

from __future__ import annotations

import pytest

from bot.bootstrap import ROLES
from tests.test_cli_errors import run


def test_the_roles_split_intake_and_work():
    assert ROLES["semua"] == ROLES["web"] | ROLES["pekerja"]
    assert not ROLES["web"] & ROLES["pekerja"]


def test_an_unknown_role_is_refused_in_indonesian(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path
):
    monkeypatch.setenv("TELEGRAM_TOKEN", "123:abc")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    code, out, _ = run(capsys, "jalan", "--peran", "raja")
    assert code == 2
    assert 'Peran proses "raja" tidak dikenal' in out and "pekerja, semua, web" in out
    assert not (tmp_path / "x.db").exists()  # nothing started, no database made
