"""An aiosqlite connection that runs statements on the event loop's thread.

aiosqlite hands every call (cursor, execute, fetch, close, commit) to its own thread and wakes
the loop when it is done: about ten hand-offs per statement, which cost far more than SQLite
itself on a local file (a 9-statement update spent most of its time waiting for wake-ups).
Here every call runs at once, in the calling thread, except ``BEGIN``: only that one can wait
for another connection's write lock (the busy timeout), so it still goes to aiosqlite's thread
and the loop keeps serving other work meanwhile. Once ``BEGIN IMMEDIATE`` holds the write lock,
nothing else in the transaction waits for a lock in WAL mode (readers never block, and the
engine never writes outside such a transaction), so running the rest inline does not stall
the loop. While any call is still queued or running on the thread (a ``BEGIN`` whose caller
was cancelled, SQLAlchemy's own calls put on the ``_tx`` queue), the next calls queue behind
it: two threads in one connection crashed the process.

The class leans on aiosqlite internals that SQLAlchemy's own aiosqlite dialect uses too
(``_execute``, ``_tx``, ``_thread``); pyproject pins aiosqlite's minor version and
``tests/test_sqlite_inline.py`` checks the behaviour.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite


def _is_begin(args: tuple[Any, ...]) -> bool:
    return bool(args) and isinstance(args[0], str) and args[0].lstrip()[:5].upper() == "BEGIN"


class _CountingQueue:
    """aiosqlite's queue to its thread, counting the calls queued or running there."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        self._lock = threading.Lock()
        self.pending = 0  # raised on the loop's thread, lowered on aiosqlite's

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item

        def run() -> Any:
            try:
                return function()
            finally:
                with self._lock:
                    self.pending -= 1

        with self._lock:
            self.pending += 1
        self._queue.put_nowait((future, run))


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection with every call but ``BEGIN`` run on the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._on_thread = _CountingQueue(self._tx)  # the thread keeps reading the real queue
        self._tx = self._on_thread  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if _is_begin(args) or self._on_thread.pending:  # never two threads in one connection
            return await super()._execute(fn, *args, **kwargs)
        return fn(*args, **kwargs)


def inline_sqlite(path: str, **kwargs: Any) -> Callable[[], Awaitable[InlineConnection]]:
    """The ``async_creator`` for SQLAlchemy: a new :class:`InlineConnection` to ``path``.

    ``check_same_thread=False``: the connection is opened and its ``BEGIN`` run on aiosqlite's
    thread, everything else on the loop's; never two at the same time.
    """

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(path, check_same_thread=False, **kwargs)

    async def create() -> InlineConnection:
        connection = InlineConnection(connector)
        connection._thread.daemon = True  # noqa: SLF001 - as SQLAlchemy's dialect does
        await connection  # starts aiosqlite's thread and opens the file there
        return connection

    return create
