"""Named errors raised by the analytics package.

Pages catch only these; anything else is a bug. Every error that concerns input data
names the file, row (1-based, counting the header as row 1 where a file has one) and
column where they are known.
"""

from __future__ import annotations


class CSOError(Exception):
    """Base class of every error the analytics package raises on purpose."""


class InputDataError(CSOError):
    """Bad input data: names file, row and column where known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        where = []
        if file is not None:
            where.append(f"file {file!s}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)
        self.message = message


class DatabaseError(CSOError):
    """The database is missing, locked, or from an incompatible schema version."""


class OptionError(CSOError, ValueError):
    """An option (a Literal choice or a numeric bound) has an invalid value."""


class InsufficientDataError(CSOError):
    """Too little data for the requested statistic (e.g. no pre-period, one cluster)."""

