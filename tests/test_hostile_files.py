"""Files a person supplies are bounded before parsing; evidence types are a whitelist."""

from __future__ import annotations

import io
import re
import time
import tracemalloc
import zipfile

import pytest

from flows.domain import limits
from flows.domain.numparse import has_visible_text, parse_number
from flows.setup.office_file import OfficeFileError, parse_office_yaml
from flows.setup.pk_workbook import read_pk, write_template


def test_deeply_nested_yaml_is_refused_politely():
    deep = "a: " + "[" * 5000 + "]" * 5000
    with pytest.raises(OfficeFileError) as err:
        parse_office_yaml(deep)
    assert "terlalu bertingkat" in err.value.message()


def test_billion_laughs_yaml_is_refused_before_expansion():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 12):  # 10**11 "lol"s once expanded; refused by the alias count
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    start = time.perf_counter()
    with pytest.raises(OfficeFileError) as err:
        parse_office_yaml("\n".join(lines))
    assert time.perf_counter() - start < 2
    assert "terlalu bertingkat" in err.value.message()


def test_oversized_yaml_is_refused_by_size():
    big = "# " + "x" * (limits.MAX_YAML_BYTES + 10)
    with pytest.raises(OfficeFileError) as err:
        parse_office_yaml(big)
    assert "terlalu besar" in err.value.message()


def _zip_bomb() -> bytes:
    """A valid-looking xlsx whose one sheet unpacks to 200 MB of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            chunk = b"0" * (1 << 20)
            for _ in range(200):
                f.write(chunk)
    return buf.getvalue()


def test_xlsx_bomb_is_refused_cheaply():
    bomb = _zip_bomb()
    assert len(bomb) < 1_000_000
    tracemalloc.start()
    with pytest.raises(OfficeFileError) as err:
        read_pk(bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "terlalu besar" in err.value.message()
    assert peak < 20 * 1024 * 1024


def test_xlsx_with_a_million_rows_declared_is_refused(tmp_path):
    path = tmp_path / "pk.xlsx"
    write_template(path)
    data = path.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename.startswith("xl/worksheets/sheet"):
                body = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:Z1048576"', body)
            dst.writestr(item, body)
    assert limits.check_xlsx_bytes(out.getvalue()) == "terlalu_banyak_baris"
    assert limits.check_xlsx_bytes(data) is None  # the real template passes


def test_xlsx_with_many_rows_but_no_dimension_is_refused():
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (i, i) for i in range(1, 6002))
    sheet = b'<worksheet xmlns="x"><sheetData>' + rows + b"</sheetData></worksheet>"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    assert limits.check_xlsx_bytes(buf.getvalue()) == "terlalu_banyak_baris"


@pytest.mark.parametrize(
    ("name", "mime", "ok"),
    [
        ("foto.jpg", "image/jpeg", True),
        ("scan.PDF", "application/pdf", True),
        (
            "laporan.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            True,
        ),
        ("data.xlsx", "", True),
        ("lembar.ods", "application/vnd.oasis.opendocument.spreadsheet", True),
        ("virus.exe", "application/x-msdownload", False),
        ("halaman.html", "text/html", False),
        ("foto.jpg", "text/html", False),
        ("gambar.svg", "image/svg+xml", False),
        ("skrip.js", "", False),
        ("tanpa_nama", "image/jpeg", False),
    ],
)
def test_evidence_whitelist(name: str, mime: str, ok: bool):
    assert limits.evidence_allowed(name, mime) is ok


@pytest.mark.parametrize("text", ["9" * 27, "1" * 21, "1.000.000.000.000.000", "1" * 400])
def test_huge_numbers_are_refused_not_raised(text: str):
    assert parse_number(text).error == "too_large"


def test_largest_accepted_number_fits_the_column():
    parsed = parse_number("999.999.999.999.999,99999")
    assert parsed.ok and len(format(parsed.value, "f")) <= 40


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u200b", "\u2060", "\u00a0\t\n", "\u200e"])
def test_invisible_text_is_not_an_answer(text: str):
    assert not has_visible_text(text)


def test_visible_text_is_an_answer():
    assert has_visible_text(" jalan rusak ") and has_visible_text("\u200bok")
