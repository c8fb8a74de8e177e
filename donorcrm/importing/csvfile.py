"""Reading a CSV file as dict rows with their line numbers; sniffs ; , or tab and the encoding."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from donorcrm.errors import FileFormatError, Problem


def read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileFormatError(f"{path}: neither UTF-8 nor Windows-1252 text")


def rows(path: Path, required: tuple[str, ...], known: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str | None] | Problem]]:
    """Yield (line number, row) or (line number, Problem) for a row that is broken as CSV."""
    text = read_text(path)
    first = text.splitlines()[0] if text else ""
    delimiter = max((";", ",", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise FileFormatError(f"{path}: empty file") from None
    except csv.Error as exc:
        raise FileFormatError(f"{path}: line 1: {exc}") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise FileFormatError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    unknown = [c for c in header if c and c not in known]
    if unknown:
        raise FileFormatError(f"{path}: line 1: unknown column(s) {', '.join(unknown)}")
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, Problem(f"line {start}", f"broken CSV: {exc}")
            return
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield start, Problem(f"line {start}", f"expected {len(header)} fields, found {len(values)}")
            continue
        yield start, dict(zip(header, values, strict=True))
