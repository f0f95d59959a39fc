"""Reading spreadsheets as staff export them: encodings, delimiters, headers."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from composer.errors import InputError
from composer.lists.csvread import read_csv
from composer.lists.rows import parse_rows
from tests.lists.helpers import write

ROWS = "Email,First name,Surname,Practice\r\nzoe@nhs.example,Zoë,Adeyemi,Riverside\r\njose@example.org,José,García,Hillview\r\n"


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (ROWS.encode("utf-8"), "UTF-8"),
        (codecs.BOM_UTF8 + ROWS.encode("utf-8"), "UTF-8 with BOM"),
        (ROWS.encode("cp1252"), "Windows-1252"),
        (codecs.BOM_UTF16_LE + ROWS.encode("utf-16-le"), "UTF-16"),
    ],
    ids=["utf-8", "utf-8-bom", "windows-1252", "utf-16"],
)
def test_each_encoding_reads_accented_names_correctly(tmp_path: Path, raw: bytes, encoding: str) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(raw)
    source = read_csv(path)
    parsed = parse_rows(source)
    assert source.encoding == encoding
    assert source.headers[0] == "Email"  # no BOM glued to the first header
    assert [r.first_name for r in parsed.rows] == ["Zoë", "José"]
    assert parsed.rows[1].last_name == "García"
    assert not parsed.rejects


@pytest.mark.parametrize(
    ("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab")]
)
def test_each_delimiter_is_sniffed(tmp_path: Path, delimiter: str, name: str) -> None:
    # The organisation contains the other delimiters, quoted, as Excel writes it.
    text = delimiter.join(["E-mail address", "Name", "Practice"]) + "\n"
    text += delimiter.join(["a@example.org", "Dr A", '"Smith, Jones; Partners"']) + "\n"
    text += delimiter.join(["b@example.org", "Dr B", "Elm Tree"]) + "\n"
    source = read_csv(write(tmp_path / "list.csv", text))
    parsed = parse_rows(source)
    assert source.delimiter_name == name
    assert [r.email for r in parsed.rows] == ["a@example.org", "b@example.org"]
    assert parsed.rows[0].organisation == "Smith, Jones; Partners"


def test_excel_sep_line_names_the_delimiter(tmp_path: Path) -> None:
    source = read_csv(write(tmp_path / "l.csv", "sep=;\nEmail;Name\na@example.org;A, B\n"))
    parsed = parse_rows(source)
    assert source.delimiter == ";"
    assert parsed.rows[0].name == "A, B"
    assert parsed.rows[0].line == 3


def test_header_variants_map_to_fields_and_the_rest_goes_to_extra(tmp_path: Path) -> None:
    text = " E-Mail Address ,Forename,Family name,LMC,Job title,Practice code,\na@example.org,Ann,Lee,Northshire LMC,Chair,Z001,\n"
    source = read_csv(write(tmp_path / "l.csv", text))
    assert source.columns.fields == {
        "email": 0, "first_name": 1, "last_name": 2, "organisation": 3, "role": 4,
    }
    row = parse_rows(source).rows[0]
    assert (row.first_name, row.last_name, row.organisation, row.role) == ("Ann", "Lee", "Northshire LMC", "Chair")
    assert row.extra == {"Practice code": "Z001"}  # the empty trailing column is not stored


def test_no_email_column_names_the_file_and_the_headers(tmp_path: Path) -> None:
    path = write(tmp_path / "people.csv", "Name,Practice\nAnn,Elm Tree\n")
    with pytest.raises(InputError) as caught:
        read_csv(path)
    message = str(caught.value)
    assert "people.csv" in message
    assert "no email column" in message
    assert "'Name', 'Practice'" in message


def test_two_email_columns_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'Email' and 'E-mail' both look like the email"):
        read_csv(write(tmp_path / "l.csv", "Email,E-mail\na@example.org,b@example.org\n"))


def test_an_excel_workbook_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(InputError, match="Excel workbook, not a CSV"):
        read_csv(path)


def test_a_file_that_mixes_utf8_and_windows_1252_is_refused_at_its_line(tmp_path: Path) -> None:
    raw = "Email,Name\na@example.org,Zoë\n".encode() + "b@example.org,José\n".encode("cp1252")
    path = tmp_path / "mixed.csv"
    path.write_bytes(raw)
    with pytest.raises(InputError) as caught:
        read_csv(path)
    assert "line 3" in str(caught.value)
    assert "mixes encodings" in str(caught.value)


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_an_empty_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError, match="the file is empty"):
        read_csv(write(tmp_path / "l.csv", text))


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_csv(tmp_path / "nope.csv")


def test_blank_rows_are_skipped_and_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    text = 'Email,Notes\r\na@example.org,"two\r\nlines"\r\n,\r\n\r\nbad-address,x\r\n'
    parsed = parse_rows(read_csv(write(tmp_path / "l.csv", text)))
    assert parsed.rows[0].extra == {"Notes": "two\r\nlines"}
    assert [(r.line, r.kind) for r in parsed.rejects] == [(6, "invalid-address")]


def test_a_bad_byte_after_a_bom_is_the_byte_named(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + "Email,Name\nann@example.org,Ann\nbob@example.org,B\xf6b\n".encode("cp1252")
    path = tmp_path / "bom.csv"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_csv(path)
    assert "byte 0xf6" in str(info.value)
    assert info.value.location.line == 3
