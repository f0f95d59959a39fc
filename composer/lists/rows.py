"""From CSV records to contacts: validate every row and say exactly what is wrong.

Every bad row becomes a `Reject` with its line number and a reason a person can act
on; nothing here touches the store, so the whole file is judged before anything is
written (all or nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

from composer.identity import normalize_email
from composer.lists.csvread import FIELDS, CsvFile, Record
from composer.safetext import describe_control, first_control

# Limits match the store's columns (composer.store.models.Contact), so a row that passes
# here never fails on PostgreSQL, which enforces them.
FIELD_LIMITS = {
    "email": 320,
    "name": 200,
    "first_name": 100,
    "last_name": 100,
    "organisation": 200,
    "role": 100,
}
EXTRA_LIMIT = 1000

# Characters that make a spreadsheet treat a cell as a formula; our own export prefixes
# such a cell with an apostrophe (see composer.lists.export), which is undone here so
# that an exported file imports unchanged.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

REJECT_KINDS = (
    "missing-address",
    "invalid-address",
    "duplicate",
    "cell-count",
    "too-long",
    "control-character",
)


@dataclass(slots=True)
class ContactRow:
    """A valid row: the address as given (trimmed) and normalized, and the other fields."""

    line: int
    email: str
    email_norm: str
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    organisation: str | None = None
    role: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """The contact fields this row sets (present and non-empty), for insert or update."""
        out: dict[str, Any] = {"email": self.email}
        for name in ("name", "first_name", "last_name", "organisation", "role"):
            value = getattr(self, name)
            if value:
                out[name] = value
        return out


@dataclass(frozen=True)
class Reject:
    """A bad row: where it is, what kind of problem, the reason in words, its cells."""

    line: int
    kind: str
    reason: str
    cells: tuple[str, ...]


@dataclass
class ParsedFile:
    """The outcome of judging every row of a file."""

    source: CsvFile
    rows: list[ContactRow]
    rejects: list[Reject]

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.rejects)


class AddressValidator:
    """email-validator's syntax check, with the domain half remembered.

    A plain ASCII address whose local part is a dot-atom is valid exactly when its
    domain is (email-validator checks the two halves independently, then the total
    length), so for those the domain verdict is cached: a list of 100,000 people has a
    few hundred domains. Anything else goes through email-validator whole.
    """

    def __init__(self, *, check_deliverability: bool = False) -> None:
        self.check_deliverability = check_deliverability
        self._domain_ok: Callable[[str], bool] = lru_cache(maxsize=50_000)(self._check_domain)

    def error(self, address: str) -> str | None:
        """None if the address is valid, else email-validator's reason."""
        local, at, domain = address.rpartition("@")
        if (
            at
            and address.isascii()
            and len(address) <= EMAIL_MAX_LENGTH
            and DOT_ATOM_TEXT.match(local)
            and self._domain_ok(domain)
        ):
            return None
        try:
            validate_email(address, check_deliverability=self.check_deliverability)
        except EmailNotValidError as exc:
            return str(exc)
        return None

    def _check_domain(self, domain: str) -> bool:
        try:
            validate_email(f"a@{domain}", check_deliverability=self.check_deliverability)
        except EmailNotValidError:
            return False
        return True


def _clean(value: str) -> str:
    value = value.strip()
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        value = value[1:]
    return value


@dataclass(frozen=True)
class _Layout:
    """Where each field is in the file's rows, worked out once per file."""

    headers: tuple[str, ...] | list[str]
    width: int
    email_at: int
    named: list[tuple[str, int]]
    extra: list[tuple[str, int]]

    @classmethod
    def of(cls, source: CsvFile) -> _Layout:
        columns = source.columns
        named = [(name, columns.fields[name]) for name in FIELDS if name in columns.fields and name != "email"]
        return cls(source.headers, len(source.headers), columns.email, named, list(columns.extra))


def _cell_count_problem(cells: list[str], width: int) -> str | None:
    """Why a row's cells do not match the header, or None (empty trailing cells are fine)."""
    if len(cells) == width or (len(cells) > width and not any(c.strip() for c in cells[width:])):
        return None
    hint = " (an unclosed quote?)" if any("\n" in c for c in cells) else ""
    return f"has {len(cells)} cells but the header has {width}{hint}"


def _address_problem(address: str, column: str, validator: AddressValidator) -> tuple[str, str] | None:
    if not address:
        return "missing-address", f"no email address in column '{column}'"
    if len(address) > FIELD_LIMITS["email"]:
        return "too-long", f"the email address is {len(address)} characters; the limit is {FIELD_LIMITS['email']}"
    bad = validator.error(address)
    return ("invalid-address", f"invalid email address '{address}': {bad}") if bad is not None else None


def _field_values(
    cells: list[str], layout: _Layout, controls: bool, problems: list[tuple[str, str]]
) -> tuple[dict[str, str], dict[str, str]]:
    """The named fields and the extra columns of a row; their problems go to `problems`.

    A name or organisation goes into greetings and headers, so any control character
    (composer.safetext) is refused; an extra column only refuses NUL, which PostgreSQL
    cannot store. `controls` says whether the row holds any control character at all.
    """
    values: dict[str, str] = {}
    for name, index in layout.named:
        value = _clean(cells[index])
        if len(value) > FIELD_LIMITS[name]:
            problems.append(("too-long", f"'{layout.headers[index]}' is {len(value)} characters; the limit is {FIELD_LIMITS[name]}"))
        elif controls and (char := first_control(value)) is not None:
            problems.append(("control-character", f"'{layout.headers[index]}' contains a control character ({describe_control(char)})"))
        elif value:
            values[name] = value
    extras: dict[str, str] = {}
    for key, index in layout.extra:
        value = _clean(cells[index])
        if len(value) > EXTRA_LIMIT:
            problems.append(("too-long", f"'{key}' is {len(value)} characters; the limit is {EXTRA_LIMIT}"))
        elif controls and "\x00" in value:
            problems.append(("control-character", f"'{key}' contains a control character (U+0000)"))
        elif value:
            extras[key] = value
    return values, extras


def _judge(record: Record, layout: _Layout, validator: AddressValidator) -> ContactRow | Reject:
    """One record as a contact, or a reject saying every problem it has."""
    cells = record.cells
    if (count := _cell_count_problem(cells, layout.width)) is not None:
        return Reject(record.line, "cell-count", count, tuple(cells))
    problems: list[tuple[str, str]] = []
    address = _clean(cells[layout.email_at])
    if (bad := _address_problem(address, layout.headers[layout.email_at], validator)) is not None:
        problems.append(bad)
    # One scan of the whole row; only a row with a control character is looked at field by field.
    controls = first_control("".join(cells)) is not None
    values, extras = _field_values(cells, layout, controls, problems)
    if problems:
        return Reject(record.line, problems[0][0], "; ".join(reason for _, reason in problems), tuple(cells))
    return ContactRow(line=record.line, email=address, email_norm=normalize_email(address), extra=extras, **values)


def parse_rows(
    source: CsvFile,
    *,
    validator: AddressValidator | None = None,
    records: Iterable[Record] | None = None,
) -> ParsedFile:
    """Judge every record of the file: valid contacts in order, and every reject."""
    validator = validator or AddressValidator()
    layout = _Layout.of(source)
    first_seen: dict[str, int] = {}
    rows: list[ContactRow] = []
    rejects: list[Reject] = []
    for record in records if records is not None else source.records():
        judged = _judge(record, layout, validator)
        if isinstance(judged, Reject):
            rejects.append(judged)
            continue
        earlier = first_seen.get(judged.email_norm)
        if earlier is not None:
            rejects.append(Reject(
                record.line, "duplicate",
                f"duplicate of line {earlier}: '{judged.email}' is the same address (ignoring case)",
                tuple(record.cells),
            ))
            continue
        first_seen[judged.email_norm] = record.line
        rows.append(judged)
    return ParsedFile(source=source, rows=rows, rejects=rejects)
