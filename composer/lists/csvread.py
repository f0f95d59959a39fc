"""Reading a staff spreadsheet: which encoding, which delimiter, which column is what.

Staff export from Excel and from practice systems, so the same list arrives as UTF-8,
UTF-8 with a byte-order mark ("CSV UTF-8" in Excel) or Windows-1252 (Excel's plain
"CSV"), separated by commas, semicolons (European locales) or tabs, with headers
spelled a dozen ways. This module settles all of that and hands on plain records:
the line a row starts on and its cells, as text. It knows nothing of the store.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from composer.errors import InputError, Location

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

# The contact fields a column can fill; anything else goes to `extra`.
FIELDS = ("email", "name", "first_name", "last_name", "organisation", "role")

# Header spellings seen in exports, compared after lower-casing and dropping everything
# but letters and digits ("E-mail address" → "emailaddress", "First Name*" → "firstname").
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "emailaddress", "mail", "emailaddr", "workemail", "primaryemail",
        "nhsmail", "nhsmailaddress", "nhsemail", "emailid",
    ),
    "name": ("name", "fullname", "contactname", "displayname", "contact"),
    "first_name": ("firstname", "forename", "forenames", "givenname", "first"),
    "last_name": ("surname", "lastname", "familyname", "last"),
    "organisation": (
        "organisation", "organization", "practice", "practicename", "lmc", "lmcname",
        "committee", "surgery", "company", "org", "employer", "trust",
    ),
    "role": ("role", "jobtitle", "position", "job", "designation"),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}

def header_key(header: str) -> str:
    """The form headers are matched in: lower case, letters and digits only."""
    return "".join(ch for ch in header.casefold() if ch.isalnum())


# The two columns `--skip-invalid` puts in front of each rejected row, and the two that
# `lists export` adds: our own bookkeeping, so a fixed rejects file or an export imports
# as it is, and these are never stored as extra fields.
REJECT_COLUMNS = ("rejected_line", "rejected_reason")
EXPORT_COLUMNS = ("segments", "status")
_IGNORED = frozenset(header_key(h) for h in (*REJECT_COLUMNS, *EXPORT_COLUMNS))

# Any run of UTF-8 multi-byte sequences: used to tell a Windows-1252 file from a UTF-8
# file with one stray Windows-1252 byte (which would otherwise decode as mojibake).
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
# Excel writes and reads a first line `sep=;` to name the delimiter.
_SEP_LINE = re.compile(r"^sep=(.)\r?\n", re.IGNORECASE)


@dataclass(frozen=True)
class ColumnMap:
    """Which column (0-based) fills which contact field, and the rest as extra fields."""

    fields: dict[str, int]
    extra: tuple[tuple[str, int], ...]
    ignored: tuple[str, ...] = ()

    @property
    def email(self) -> int:
        return self.fields["email"]


@dataclass(frozen=True)
class Record:
    """One data row as read: the line it starts on (the header is line 1) and its cells."""

    line: int
    cells: list[str]


@dataclass(frozen=True)
class CsvFile:
    """A decoded CSV with its encoding, delimiter, headers and column mapping settled."""

    path: Path
    encoding: str
    delimiter: str
    headers: tuple[str, ...]
    columns: ColumnMap
    header_line: int
    text: str = field(repr=False)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))

    def records(self) -> Iterator[Record]:
        """Data rows in file order; rows whose cells are all blank are skipped."""
        _allow_cells_up_to(len(self.text))
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        previous = 0
        try:
            for cells in reader:
                start = previous + 1
                previous = reader.line_num
                if start <= self.header_line:
                    continue
                if not any(cell.strip() for cell in cells):
                    continue
                yield Record(start, cells)
        except csv.Error as exc:
            raise InputError(f"cannot read the CSV: {exc}", Location(file=self.path, line=previous + 1)) from None


def _allow_cells_up_to(size: int) -> None:
    """Let the csv module read a cell as long as the whole file.

    Its own limit (131,072 characters) raises mid-file and would abort the import of
    every row; rows.py's per-field limits turn an oversized cell into one rejected row
    with its line instead. The limit is process-wide, so it only ever grows.
    """
    if csv.field_size_limit() <= size:
        csv.field_size_limit(size + 1)


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """The text of the file and the name of its encoding (UTF-8, with BOM, or Windows-1252)."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            "this is an Excel workbook, not a CSV file; in Excel use File › Save As › "
            "'CSV UTF-8 (Comma delimited)' and import that",
            Location(file=path),
        )
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError as exc:
            bom = len(codecs.BOM_UTF8)  # exc.start counts from after the BOM
            raise _decode_error(path, data, exc, "it starts with a UTF-8 byte-order mark but is not UTF-8", bom) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode Text" export.
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise _decode_error(path, data, exc, "it starts with a UTF-16 byte-order mark but is not UTF-16") from None
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as utf8_error:
        if _UTF8_SEQUENCE.search(data):
            raise _decode_error(
                path, data, utf8_error,
                "it mixes encodings: most of it is UTF-8 but this byte is not; re-save it "
                "from Excel as 'CSV UTF-8'",
            ) from None
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise _decode_error(path, data, exc, "it is neither UTF-8 nor Windows-1252") from None


def _decode_error(path: Path, data: bytes, exc: UnicodeDecodeError, why: str, skipped: int = 0) -> InputError:
    """The bad byte and its line; `skipped` is how many leading bytes were not decoded."""
    start = skipped + exc.start
    line = data[:start].count(b"\n") + 1
    byte = data[start : start + 1].hex()
    return InputError(f"cannot read the text: {why} (byte 0x{byte})", Location(file=path, line=line))


def sniff_delimiter(first_line: str) -> str:
    """The delimiter that splits the header into the most columns (comma on a tie)."""
    best, best_count = ",", 1
    for delimiter in DELIMITERS:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        if len(cells) > best_count:
            best, best_count = delimiter, len(cells)
    return best


def map_columns(headers: list[str], path: Path) -> ColumnMap:
    """Match headers to contact fields; unknown headers become extra fields."""
    fields: dict[str, int] = {}
    extra: list[tuple[str, int]] = []
    seen_extra: set[str] = set()
    ignored: list[str] = []
    for index, header in enumerate(headers):
        label = header.strip()
        if header_key(label) in _IGNORED:
            ignored.append(label)
            continue
        name = _ALIAS_TO_FIELD.get(header_key(label))
        if name is not None:
            if name in fields:
                first = headers[fields[name]].strip()
                raise InputError(
                    f"columns '{first}' and '{label}' both look like the {name.replace('_', ' ')}; "
                    "rename or delete one of them",
                    Location(file=path, line=1),
                )
            fields[name] = index
            continue
        key = label or f"column {index + 1}"
        if key in seen_extra:
            suffix = 2
            while f"{key} ({suffix})" in seen_extra:
                suffix += 1
            key = f"{key} ({suffix})"
        seen_extra.add(key)
        extra.append((key, index))
    if "email" not in fields:
        found = ", ".join(repr(h.strip()) for h in headers) or "none"
        raise InputError(
            f"no email column: the headers found are {found}; name the column of "
            "addresses 'Email'",
            Location(file=path, line=1),
        )
    return ColumnMap(fields=fields, extra=tuple(extra), ignored=tuple(ignored))


def read_csv(path: Path) -> CsvFile:
    """Open, decode and parse the header of a CSV; data rows come from `.records()`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", Location(file=path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a CSV file", Location(file=path)) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", Location(file=path)) from None
    text, encoding = decode(data, path)

    delimiter: str | None = None
    skipped = 0
    sep = _SEP_LINE.match(text)
    if sep and sep.group(1) in DELIMITERS:
        delimiter = sep.group(1)
        skipped = 1

    lines = io.StringIO(text, newline="")
    header_line = 0
    first = ""
    for number, line in enumerate(lines, start=1):
        if number <= skipped:
            continue
        if line.strip():
            header_line, first = number, line
            break
    if not first:
        raise InputError("the file is empty: expected a header row naming the columns", Location(file=path))
    if delimiter is None:
        delimiter = sniff_delimiter(first.rstrip("\r\n"))
    headers = next(csv.reader([first.rstrip("\r\n")], delimiter=delimiter))
    columns = map_columns(headers, path)
    return CsvFile(
        path=path,
        encoding=encoding,
        delimiter=delimiter,
        headers=tuple(h.strip() for h in headers),
        columns=columns,
        header_line=header_line,
        text=text,
    )
