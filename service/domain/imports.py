"""Bulk import of sightings from NDJSON, apart from HTTP.

A monitor's backfill is one sighting per line, up to MAX_LINES lines. The body is read in
chunks, never whole; each line is checked on its own (service/domain/import_lines.py), and the
valid ones are streamed with COPY into a temporary staging table while the next lines are read.
Then, set-based in SQL: the narratives the lines name are resolved in one query (and held against
an archive), one statement claims the lines' identities in the batch path's order, and one
INSERT ... SELECT stores the rows that are new. All of it happens in the caller's transaction, so an import is all or nothing:
a body cut short (a last line with no newline that is not JSON, a client gone, a body over the
cap) raises, and the caller's rollback leaves nothing written.
"""

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson
from psycopg import Connection

from service.domain import import_lines
from service.domain.narratives import refusal
from service.repo import imports as repo

MAX_LINES = 1_000_000
MAX_LINE_BYTES = 1024 * 1024
MAX_REPORTED = 1000
_READ_SIZE = 256 * 1024
# Rows per COPY statement: each one stays well within the statement timeout, whatever the
# size of the file.
_COPY_ROWS = 50_000
# How often (in lines) the caller's heartbeat is called: gunicorn's sync worker
# (GUNICORN_THREADS=1) counts a request that sends no heartbeat for GUNICORN_TIMEOUT seconds
# as stuck.
_HEARTBEAT_LINES = 20_000


class Truncated(Exception):
    """The body ends in the middle of a line: it was cut, and is refused whole."""

    def __init__(self, line: int) -> None:
        super().__init__(
            f"The body ends in the middle of line {line} (no newline, not JSON): "
            "it looks cut short, so nothing was imported."
        )
        self.line = line


class TooManyLines(Exception):
    def __init__(self) -> None:
        super().__init__(f"An import holds at most {MAX_LINES:,} lines; nothing was imported.")


@dataclass
class ImportOutcome:
    lines: int = 0
    created: int = 0
    duplicates: int = 0
    invalid: int = 0
    invalid_lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.duplicates

    def as_body(self) -> dict[str, Any]:
        """In ImportOut's shape (service/schemas/imports.py)."""
        return {
            "lines": self.lines,
            "created": self.created,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "invalid_lines": self.invalid_lines,
            "invalid_lines_truncated": self.invalid > len(self.invalid_lines),
        }


def run(
    conn: Connection,
    body: BinaryIO,
    *,
    by: str,
    heartbeat: Callable[[], None] | None = None,
) -> ImportOutcome:
    """Import every valid line of `body` as sightings reported by `by`, in `conn`'s open
    transaction (the caller commits, or rolls back on any exception)."""
    outcome = ImportOutcome()
    refused: list[dict[str, Any]] = []  # the first MAX_REPORTED invalid lines, in order
    repo.create_staging(conn)

    def valid_rows() -> Iterator[tuple[int, import_lines.Row]]:
        for number, line in _lines(body):
            outcome.lines += 1
            if heartbeat is not None and outcome.lines % _HEARTBEAT_LINES == 0:
                heartbeat()
            if line is None:
                errors = {"_line": [f"Longer than {MAX_LINE_BYTES} bytes."]}
            else:
                row, errors = import_lines.check(line)
                if row is not None:
                    yield number, row
                    continue
            outcome.invalid += 1
            if len(refused) < MAX_REPORTED:
                refused.append({"line": number, "errors": errors})

    rows = valid_rows()
    staged = 0
    while True:
        # Streamed: each row goes to PostgreSQL as soon as its line is checked.
        written = repo.stage(conn, itertools.islice(rows, _COPY_ROWS))
        staged += written
        if written < _COPY_ROWS:
            break
    known, refs = repo.narratives(conn)
    usable = {ref: n["id"] for ref, n in known.items() if refusal(n, ref) is None}
    unusable = [ref for ref in refs if ref not in usable]
    count, first = repo.lines_naming(conn, unusable, MAX_REPORTED)
    for row in first:
        problem = refusal(known.get(row["ref"]), row["ref"])
        refused.append({"line": row["line"], "errors": {"narrative": [problem]}})
    outcome.invalid += count
    outcome.invalid_lines = sorted(refused, key=lambda r: r["line"])[:MAX_REPORTED]
    outcome.created = repo.insert(conn, usable, by=by, rows=staged)
    outcome.duplicates = staged - count - outcome.created
    repo.drop_staging(conn)
    return outcome


def _lines(body: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, line) for each line that is not blank; None for a line over
    MAX_LINE_BYTES (its bytes are skipped, never held)."""
    number = 0
    tail = b""
    skipping = False  # inside a line already found too long
    while True:
        chunk = body.read(_READ_SIZE)
        if not chunk:
            break
        pieces = (tail + chunk).split(b"\n")
        tail = pieces.pop()
        for piece in pieces:
            number += 1
            if skipping:
                skipping = False
                yield _counted(number), None
            elif piece.strip():
                yield _counted(number), piece
        if len(tail) > MAX_LINE_BYTES:
            tail = b""
            skipping = True
    if skipping:
        yield _counted(number + 1), None
    elif tail.strip():
        number += 1
        try:
            orjson.loads(tail)
        except orjson.JSONDecodeError:
            raise Truncated(number) from None
        yield _counted(number), tail


def _counted(number: int) -> int:
    if number > MAX_LINES:
        raise TooManyLines()
    return number
