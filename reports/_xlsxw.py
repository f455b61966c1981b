"""XlsxWriter helpers shared by the rekap's sheets: the workbook, safe text, widths, print setup.

Decisions:
- ``constant_memory`` mode: each row is flushed to a temp file once a later row is written,
  so memory stays flat in the number of rows; rows (and merges, row heights) go top to bottom.
  The temp files live in a private directory that is removed when the workbook is done.
- Text is written only with ``write_string`` and the workbook's string conversions are off:
  user text is never turned into a formula, a number or a link.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from xlsxwriter import Workbook
from xlsxwriter.worksheet import Worksheet

MAX_CELL_TEXT = 32_767
MAX_HEADER = 255  # Excel's limit for a page header, codes included
MAX_URL = 2_079  # Excel's limit for a hyperlink
FMT_DATETIME = "dd/mm/yyyy hh:mm"
PAPER_A4 = 9
#: Pixels per unit of a stored column width (Calibri 11's digit width).
PX_PER_WIDTH = 7
_ILLEGAL_XML = re.compile(r"[\000-\010\013\014\016-\037]")
_HEADER_CODES = "&C&9 "


@contextmanager
def streamed_workbook(buf: io.BytesIO) -> Iterator[Workbook]:
    """A constant-memory workbook saved into ``buf`` on exit; its temp files go with it."""
    with tempfile.TemporaryDirectory(prefix="rekap-") as tmp:
        options = {
            "constant_memory": True,
            "tmpdir": tmp,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        }
        with Workbook(buf, options) as wb:
            yield wb


def clean_text(text: str) -> str:
    """Text without the control characters XML cannot hold, cut to Excel's cell limit."""
    return _ILLEGAL_XML.sub("", text)[:MAX_CELL_TEXT]


@dataclass(frozen=True, slots=True)
class Link:
    """A web address shown as itself and clickable."""

    url: str


def _excel_number(x: Decimal) -> int | float:
    return int(x) if x == x.to_integral_value() else float(x)


def write_cell(ws: Worksheet, row: int, col: int, value: object, fmt: Any) -> None:
    """One cell (0-based), by the type of its value: strings always plain strings (an empty
    one a blank styled cell), numbers always numbers, date-times naive."""
    if isinstance(value, str):
        if value:
            ws.write_string(row, col, clean_text(value), fmt)
        else:
            ws.write_blank(row, col, None, fmt)
    elif isinstance(value, Decimal):
        ws.write_number(row, col, _excel_number(value), fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, datetime):
        ws.write_datetime(row, col, value.replace(tzinfo=None), fmt)
    elif value is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, Link):
        _write_link(ws, row, col, clean_text(value.url), fmt)
    else:
        ws.write_string(row, col, clean_text(str(value)), fmt)


def _write_link(ws: Worksheet, row: int, col: int, url: str, fmt: Any) -> None:
    """A hyperlink; plain text when Excel cannot take it (over 2,079 characters, or, with
    XlsxWriter's warning, past 65,530 links in one sheet)."""
    if _utf16_len(url) > MAX_URL or ws.write_url(row, col, url, fmt, url) < 0:
        ws.write_string(row, col, url, fmt)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def set_widths(ws: Worksheet, widths: Sequence[float]) -> None:
    """Column widths as stored in the file (the number Excel keeps, padding included)."""
    for col, width in enumerate(widths):
        ws.set_column_pixels(col, col, round(width * PX_PER_WIDTH))


def header_text(page_title: str) -> str:
    """The centred 9-pt page header, cut to Excel's 255 characters (``&`` doubled)."""
    text = page_title.replace("&", "&&")
    room = MAX_HEADER - len(_HEADER_CODES)
    while _utf16_len(text) > room:
        text = text[:-1]
    if (len(text) - len(text.rstrip("&"))) % 2:
        text = text[:-1]  # never leave half of a doubled "&"
    return _HEADER_CODES + text


def setup_print(
    ws: Worksheet,
    header_row: int,
    page_title: str,
    margins: tuple[float, float, float, float],
) -> None:
    """Freeze rows above ``header_row + 1`` (1-based), repeat the heading on every printed page,
    A4 landscape, fit to width, centred; ``margins`` are left, right, top, bottom in inches."""
    ws.freeze_panes(header_row, 0)
    ws.repeat_rows(header_row - 1)
    ws.set_landscape()
    ws.set_paper(PAPER_A4)
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    left, right, top, bottom = margins
    ws.set_margins(left=left, right=right, top=top, bottom=bottom)
    ws.set_header(header_text(page_title), {"margin": 0.5})
    ws.set_footer(_HEADER_CODES + "Halaman &P dari &N", {"margin": 0.5})
