"""The README stays true: its relative links resolve and every command it names exists."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot.cli import command_names

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
COMMAND = re.compile(r"(?:^|[\s`(]|bin/)kinerja-bot ([a-z][a-z0-9-]*)", re.MULTILINE)


def test_every_relative_link_resolves():
    links = [m.group(1) for m in LINK.finditer(README)]
    relative = [link for link in links if not urlsplit(link).scheme and not link.startswith("#")]
    assert relative, "the README links no file at all?"
    missing = [link for link in relative if not (ROOT / unquote(link.split("#")[0])).exists()]
    assert missing == []


def test_every_command_the_readme_names_exists():
    named = {m.group(1) for m in COMMAND.finditer(README)}
    assert {"demo", "impor-kantor", "cadangkan", "periksa"} <= named  # the pattern finds them
    assert sorted(named - set(command_names())) == []


def test_no_reference_to_documents_outside_the_repository():
    assert "DOMAIN.md" not in README and "DESIGN.md" not in README
