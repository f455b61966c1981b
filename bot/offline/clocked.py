"""TEST / OFFLINE ONLY: the normal bot, with "now" read from a file.

``python -m bot.offline.clocked --jam FILE jalan`` installs a :class:`FileClock` on FILE and then
runs ``kinerja-bot jalan`` unchanged. End-to-end tests move time by rewriting FILE. Production
settings know nothing of it: no environment variable turns a production bot onto a file clock.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["FileClock", "main"]


class FileClock:
    """The current time is the ISO datetime written in a file.

    Tests move time by rewriting the file (atomically). A naive value is read as UTC; an
    unreadable file keeps the last good value.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._last: datetime | None = None

    def now(self) -> datetime:
        try:
            value = datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            if self._last is None:
                raise
            return self._last
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        self._last = value.astimezone(UTC)
        return self._last


def main(argv: list[str] | None = None) -> int:
    """Install the file clock, then run the normal command line with the remaining arguments."""
    parser = argparse.ArgumentParser(prog="python -m bot.offline.clocked")
    parser.add_argument("--jam", type=Path, required=True, help="file holding an ISO datetime")
    args, rest = parser.parse_known_args(argv)
    from bot import bootstrap, cli

    path: Path = args.jam
    bootstrap.make_clock = lambda: FileClock(path)
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main())
