"""CSV for spreadsheets: every text cell that a spreadsheet would run as a formula is neutralised.

Corpus text is untrusted: a word, a context or a document label can begin with "=", "+", "-" or
"@", which Excel, LibreOffice and Google Sheets evaluate as a formula when the file is opened
(formula or "CSV injection"). Following OWASP's CSV Injection advice, such a text cell is written
with a single quote in front; numbers are written as numbers, so a negative cosine stays a number.
The page's JavaScript export (static/app.js, `csvCell`) applies the same rule. A program that
needs the exact text reads the JSON output instead (or drops the one quote before such a character).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP; line feed added, as CR is)."""


def neutralise(value: Any) -> Any:
    """A cell as it is safe to write: None as "", text starting a formula prefixed with "'", numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """A `csv.writer` (Unix line ends) whose every cell goes through `neutralise`.

    Every text cell is quoted: with "\n" line ends the csv module leaves a lone carriage return
    unquoted, and spreadsheets start a new row there, so "a\r=cmd" would put a formula at a row start.
    """

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def records_to_csv(records: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> str:
    """CSV text: a header of `fields`, then one row per record (missing fields empty), neutralised."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(fields)
    writer.writerows([record.get(field) for field in fields] for record in records)
    return buffer.getvalue()
