"""Bounds checked before any file a person supplies is parsed: size, depth, rows, types.

Each ``check_*`` returns an error code for ``impor/kesalahan`` (``None`` when the file is
within bounds); the loaders call them first, so a hostile file costs little.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePosixPath

MAX_YAML_BYTES = 2 * 1024 * 1024
MAX_YAML_DEPTH = 20
MAX_YAML_ALIASES = 100
MAX_XLSX_BYTES = 10 * 1024 * 1024
MAX_XLSX_UNPACKED = 30 * 1024 * 1024  # all members of the zip, uncompressed
MAX_XLSX_RATIO = 200  # a member packed tighter than this is a zip bomb
MAX_XLSX_ROWS = 5000
MAX_XLSX_COLUMNS = 200

#: Evidence a person may send: images, PDF and office documents (by extension and type).
EVIDENCE_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".gif", ".bmp", ".tif", ".tiff",
        ".pdf",
        ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".csv",
        ".rtf", ".txt",
    }
)  # fmt: skip
EVIDENCE_MIME_PREFIXES = ("image/",)
EVIDENCE_MIMES = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/rtf",
        "text/csv",
        "text/plain",
    }
)
_OFFICE_MIME = re.compile(
    r"^application/vnd\.(openxmlformats-officedocument|oasis\.opendocument)\."
)
_REFUSED_IMAGES = frozenset({"image/svg+xml"})  # scriptable


def evidence_allowed(file_name: str, mime: str) -> bool:
    """An image, a PDF or an office document, by both its name and its declared type."""
    suffix = PurePosixPath(file_name.lower()).suffix
    mime = (mime or "").split(";", 1)[0].strip().lower()
    if suffix not in EVIDENCE_EXTENSIONS or mime in _REFUSED_IMAGES:
        return False
    if not mime or mime == "application/octet-stream":
        return True  # clients often send no type; the name decides
    return (
        mime.startswith(EVIDENCE_MIME_PREFIXES)
        or mime in EVIDENCE_MIMES
        or bool(_OFFICE_MIME.match(mime))
    )


def check_yaml_text(text: str | bytes) -> str | None:
    """Size, nesting depth and alias count of a YAML text, without building any object."""
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > MAX_YAML_BYTES:
        return "berkas_terlalu_besar"
    import yaml

    depth = aliases = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return "berkas_terlalu_dalam"
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_YAML_ALIASES:
                    return "berkas_terlalu_dalam"
    except yaml.YAMLError:
        return None  # the parser proper reports where the syntax is wrong
    except RecursionError:
        return "berkas_terlalu_dalam"
    return None


_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+\d+:([A-Z]+)(\d+)"')
_ROW = re.compile(rb"<(?:\w+:)?row[ >]")


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _too_many_rows(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """The sheet's declared dimension, then its actual ``<row`` count, streamed."""
    rows = 0
    tail = b""
    with archive.open(member) as sheet:
        head = sheet.read(4096)
        found = _DIMENSION.search(head)
        if found and (
            int(found.group(2)) > MAX_XLSX_ROWS or _column_number(found.group(1)) > MAX_XLSX_COLUMNS
        ):
            return True
        chunk = head
        while chunk:
            block = tail + chunk
            rows += len(_ROW.findall(block)) - len(_ROW.findall(tail))
            if rows > MAX_XLSX_ROWS:
                return True
            tail = block[-16:]
            chunk = sheet.read(1 << 20)
    return False


def check_xlsx_bytes(data: bytes) -> str | None:
    """File size, unpacked size, compression ratio and sheet dimensions of an xlsx."""
    if len(data) > MAX_XLSX_BYTES:
        return "berkas_terlalu_besar"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            total = sum(m.file_size for m in members)
            if total > MAX_XLSX_UNPACKED:
                return "berkas_terlalu_besar"
            for m in members:
                if m.file_size > 1_000_000 and m.file_size > MAX_XLSX_RATIO * max(
                    m.compress_size, 1
                ):
                    return "berkas_terlalu_besar"
            sheets = [
                m
                for m in members
                if m.filename.startswith("xl/worksheets/") and m.filename.endswith(".xml")
            ]
            if any(_too_many_rows(archive, m) for m in sheets):
                return "terlalu_banyak_baris"
    except (zipfile.BadZipFile, OSError, ValueError):
        return None  # not a zip at all: the workbook reader says it cannot be opened
    return None
