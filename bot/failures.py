"""What the command line says when something fails: one or two Indonesian lines, an exit code.

A failure a user can cause or meet (a wrong token, no network, a database that cannot be
reached, a missing file) is explained here from the exception; the traceback is for --debug
only, and never carries the bot token.
"""

from __future__ import annotations

import errno
import os
import socket
import traceback
from enum import IntEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flows.core import texts


class ExitCode(IntEnum):
    """One exit code per kind of failure, so scripts and systemd can tell them apart."""

    OK = 0
    REFUSED = 1  # the command understood, the data said no (unknown office, bad period, ...)
    USAGE = 2  # the command line itself is wrong
    FILE = 3  # a file or folder: missing, a folder, the wrong type, no permission
    SETTINGS = 4  # .env or the environment holds a value that cannot be used
    DATABASE = 5  # DATABASE_URL cannot be opened
    TOKEN = 6  # the Bot API rejected TELEGRAM_TOKEN
    NETWORK = 7  # the Bot API cannot be reached
    CHECK = 8  # `periksa` found at least one problem
    POLLER = 9  # another process polls Telegram (this database, or Telegram's 409 Conflict)
    INTERNAL = 70  # a bug: the traceback (with --debug) is for the developers
    INTERRUPTED = 130  # Ctrl-C


class Failure(Exception):
    """A failure explained for the user: template ``cli/<key>`` and its exit code."""

    def __init__(self, code: ExitCode, key: str, **context: Any) -> None:
        self.code = code
        self.key = key
        self.context = context
        super().__init__(key)

    def message(self) -> str:
        return texts.render(f"cli/{self.key}", **self.context)


def server_of(url: str) -> str:
    """The host (and port) of a URL, never its path (a Bot API path holds the token)."""
    return urlsplit(url).netloc or url


def safe_database_url(url: str) -> str:
    """The database URL without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show only its scheme
        return url.split("://", 1)[0] + "://…"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from or during, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _from_database_code(exc: BaseException) -> bool:
    """Raised inside SQLAlchemy or a database driver (asyncpg raises plain OSError)."""
    for frame in traceback.extract_tb(exc.__traceback__):
        name = frame.filename.replace(os.sep, "/")
        if any(f"/{lib}/" in name for lib in ("sqlalchemy", "asyncpg", "aiosqlite", "alembic")):
            return True
    return False


def _reason(exc: BaseException) -> str:
    """A short cause for the user, in Indonesian when the OS error is a common one."""
    if isinstance(exc, socket.gaierror):
        return texts.render("cli/sebab_os", kode="NAMA", teks="")
    if isinstance(exc, OSError):
        name = errno.errorcode.get(exc.errno or 0, "")
        if not name and "Connect call failed" in str(exc):
            name = "ECONNREFUSED"  # asyncpg joins the errors of every address it tried
        return texts.render("cli/sebab_os", kode=name, teks=exc.strerror or type(exc).__name__)
    return type(exc).__name__


def explain(exc: BaseException, *, base_url: str, database_url: str, listen: str = "") -> Failure:
    """The user's words for ``exc``; a Failure with INTERNAL when it is a bug."""
    from sqlalchemy import exc as sa_exc
    from telegram import error as tg_error

    chain = _chain(exc)
    for item in chain:
        if isinstance(item, Failure):
            return item
    for item in chain:
        if isinstance(item, tg_error.InvalidToken):
            return Failure(ExitCode.TOKEN, "token_ditolak", server=server_of(base_url))
        if isinstance(item, tg_error.Conflict):
            return Failure(ExitCode.POLLER, "token_dipakai")
        if isinstance(item, tg_error.NetworkError):
            return Failure(ExitCode.NETWORK, "jaringan", server=server_of(base_url))
    url = safe_database_url(database_url)
    for item in chain:
        state = str(getattr(item, "sqlstate", "") or "")
        if state[:2] in ("08", "28", "3D", "53") or state.startswith("57P"):
            # PostgreSQL refused the connection: the server, the login or the database name.
            sebab = texts.render("cli/sebab_postgres", kelas=state[:2])
            return Failure(ExitCode.DATABASE, "basis_data", url=url, sebab=sebab)
    for item in chain:
        if isinstance(item, sa_exc.ArgumentError | sa_exc.NoSuchModuleError) or (
            isinstance(item, ModuleNotFoundError) and _from_database_code(item)
        ):
            return Failure(ExitCode.SETTINGS, "basis_data_url", url=url)
        if isinstance(item, sa_exc.OperationalError | sa_exc.InterfaceError):
            original = getattr(item, "orig", None) or item
            return Failure(ExitCode.DATABASE, "basis_data", url=url, sebab=_db_reason(original))
        if isinstance(item, OSError) and _from_database_code(item):
            return Failure(ExitCode.DATABASE, "basis_data", url=url, sebab=_reason(item))
    for item in chain:
        if isinstance(item, OSError) and item.errno == errno.EADDRINUSE:
            return Failure(ExitCode.SETTINGS, "alamat_dipakai", alamat=listen)
    return Failure(ExitCode.INTERNAL, "galat", jenis=type(exc).__name__)


def _db_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return _reason(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "unable to open database file" in text:
        return texts.render("cli/sebab_os", kode="SQLITE_BUKA", teks=text)
    if "database is locked" in text:
        return texts.render("cli/sebab_os", kode="SQLITE_KUNCI", teks=text)
    return text[:120]


def settings_failure(error: Exception) -> Failure:
    """A pydantic ValidationError from Settings(): the first key and what is wrong with it."""
    errors = getattr(error, "errors", None)
    if callable(errors):
        first = errors()[0] if errors() else {}
        key = "_".join(str(p) for p in first.get("loc", ())).upper() or "?"
        why = texts.render("cli/sebab_pengaturan", jenis=first.get("type", ""))
        return Failure(ExitCode.SETTINGS, "pengaturan", kunci=key, sebab=why)
    return Failure(ExitCode.SETTINGS, "pengaturan", kunci=".env", sebab=_reason(error))


def redacted(text: str, *secrets: str | None) -> str:
    """``text`` with every secret replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# --- files the user names --------------------------------------------------------------------


def _denied() -> str:
    """The Indonesian words for "permission denied"."""
    return _reason(PermissionError(errno.EACCES, ""))


def input_file(path: Path, suffixes: tuple[str, ...], kind: str, example: str) -> Path:
    """A file to read: it exists, is not a folder, and has one of ``suffixes``."""
    if path.is_dir():
        raise Failure(ExitCode.FILE, "berkas_folder", berkas=path, contoh=example)
    if not path.exists():
        raise Failure(ExitCode.FILE, "berkas_tidak_ada", berkas=path, cwd=Path.cwd())
    if path.suffix.lower() not in suffixes:
        raise Failure(ExitCode.FILE, "berkas_jenis", berkas=path, jenis=kind, contoh=example)
    if not os.access(path, os.R_OK):
        raise Failure(ExitCode.FILE, "berkas_izin", berkas=path, tulis=False, sebab=_denied())
    return path


def output_file(path: Path, example: str, suffixes: tuple[str, ...] = (), kind: str = "") -> Path:
    """A file to write: not a folder, of one of ``suffixes`` (if given), in a folder that exists
    or can be made."""
    if path.is_dir():
        raise Failure(ExitCode.FILE, "berkas_folder", berkas=path, contoh=example)
    if suffixes and path.suffix.lower() not in suffixes:
        raise Failure(ExitCode.FILE, "berkas_jenis", berkas=path, jenis=kind, contoh=example)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Failure(
            ExitCode.FILE, "berkas_izin", berkas=path, tulis=True, sebab=_reason(exc)
        ) from exc
    return path


def output_folder(path: Path) -> Path:
    """A folder to write into: made if missing; an existing file of that name is refused."""
    if path.exists() and not path.is_dir():
        raise Failure(ExitCode.FILE, "keluaran_berkas", folder=path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Failure(
            ExitCode.FILE, "berkas_izin", berkas=path, tulis=True, sebab=_reason(exc)
        ) from exc
    if not os.access(path, os.W_OK):
        raise Failure(ExitCode.FILE, "berkas_izin", berkas=path, tulis=True, sebab=_denied())
    return path
