"""The process entry of ``kinerja-bot`` (and ``python -m bot``).

When the command has returned, everything is committed and the database is disposed; the
process then ends at once, so a thread a library left behind (an aiosqlite connection thread
of a unit of work cancelled at shutdown) cannot keep a stopped bot alive.
"""

import logging
import os
import sys

from bot.cli import main


def run() -> None:
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
