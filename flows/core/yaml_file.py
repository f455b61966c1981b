"""Reading a YAML file a person wrote (office file, SOP preset), with precise failures.

Each way a file can be unreadable has its own code, so the caller can say exactly what went
wrong in Indonesian (``templates/chat/impor/kesalahan.txt``): the file is missing
(``berkas_tidak_ada``), is a folder (``berkas_folder``), is not text at all, e.g. a PDF or an
Excel workbook (``berkas_bukan_yaml``), is not UTF-8 (``berkas_encoding``), cannot be opened
(``berkas_tidak_terbaca``) or has a YAML syntax error (``yaml_rusak``, at the line and column
where the mistake starts: the open quote, not the end of the file).

YAML is read with YAML 1.2 booleans (only true/false), so the key ``no:`` stays "no".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from flows.domain.limits import check_yaml_text

__all__ = ["YamlFileError", "YamlLoader", "load_yaml_text", "read_yaml_file"]

#: Leading bytes of files people send instead of YAML, and what to call them.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "Excel/ZIP"),
    (b"\xd0\xcf\x11\xe0", "Word/Excel lama"),
    (b"\x89PNG", "gambar PNG"),
    (b"\xff\xd8\xff", "gambar JPEG"),
)


class YamlFileError(Exception):
    """A YAML file cannot be read; ``code`` and ``ctx`` name the problem for a template."""

    def __init__(self, code: str, **ctx: Any) -> None:
        super().__init__(code)
        self.code = code
        self.ctx = ctx


class YamlLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false, so ``no: 1`` is the key "no", not ``False``."""


YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _mark(exc: yaml.YAMLError) -> tuple[int | str, int | str]:
    """Line and column (from 1) where the mistake starts.

    PyYAML puts ``problem_mark`` where it gave up; for an unclosed quote or bracket that is the
    end of the file or a later line, and ``context_mark`` is where the quote or bracket opened.
    """
    problem = getattr(exc, "problem", "") or ""
    context_text = getattr(exc, "context", "") or ""
    context = getattr(exc, "context_mark", None)
    mark = getattr(exc, "problem_mark", None)
    opened = context_text.startswith(("while scanning a quoted", "while parsing a flow"))
    if context is not None and (mark is None or opened or "end of stream" in problem):
        mark = context
    if mark is None:
        return "?", "?"
    return mark.line + 1, mark.column + 1


def _unclosed_quote(text: str | bytes, exc: yaml.YAMLError) -> tuple[int, int] | None:
    """Where a quote opened that swallowed lines up to the error (a missing closing quote).

    A quoted text may span lines, so ``nama: "Budi`` runs on to the next quote somewhere below
    and the parser fails there; the quote that ran on is the one to fix.
    """
    mark = getattr(exc, "problem_mark", None)
    if mark is None or not isinstance(exc, yaml.parser.ParserError):
        return None
    found = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= mark.index:
                break
            if (
                isinstance(token, yaml.ScalarToken)
                and token.style in ('"', "'")
                and token.start_mark.line < token.end_mark.line == mark.line
            ):
                found = (token.start_mark.line + 1, token.start_mark.column + 1)
    except yaml.YAMLError:
        pass
    return found


def load_yaml_text(text: str | bytes, *, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """Parse YAML text; raises :class:`YamlFileError` (``yaml_rusak``) with line and column."""
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - SafeLoader or a subclass of it
    except yaml.YAMLError as exc:
        line, column = _unclosed_quote(text, exc) or _mark(exc)
        raise YamlFileError("yaml_rusak", baris=line, kolom=column) from None


def read_yaml_file(path: str | Path, *, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """Read and parse a UTF-8 YAML file; raises :class:`YamlFileError`."""
    path = Path(path)
    name = str(path)
    if path.is_dir():
        raise YamlFileError("berkas_folder", nama_berkas=name)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise YamlFileError("berkas_tidak_ada", nama_berkas=name) from None
    except OSError:
        raise YamlFileError("berkas_tidak_terbaca", nama_berkas=name) from None
    for magic, kind in _MAGIC:
        if raw.startswith(magic):
            raise YamlFileError("berkas_bukan_yaml", nama_berkas=name, jenis=kind)
    if b"\x00" in raw[:4096]:
        raise YamlFileError("berkas_bukan_yaml", nama_berkas=name, jenis="biner")
    bound = check_yaml_text(raw)  # size, depth and aliases, before the parser sees it
    if bound is not None:
        raise YamlFileError(bound, nama_berkas=name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlFileError("berkas_encoding", nama_berkas=name, baris=line) from None
    return load_yaml_text(text, loader=loader)
