"""Safe files for downloads: CSV, Excel and the "download this view" zip.

Every exported table goes through :func:`safe_frame`:

- **Formula-like text neutralised** (OWASP CSV-injection rule): a text cell that starts
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe
  (``'=HYPERLINK(…)``), so a spreadsheet shows it as text and never runs it. Numbers stay
  numbers (a negative number is not text).
- **Missing values written empty**: NaN/None/NA and the on-screen placeholder "—" become
  an empty cell, never the text "—" or "nan".
- Time-zone-aware datetimes are written as local wall-clock times (Excel cannot store
  zones).

Excel files carry an ``about`` sheet (table, filters, period, privacy tier, export time,
definition); the zip carries a ``README.txt`` with the same for every table of the view.
Every cell of the Excel file is written as a value, never a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["ExportTable", "csv_bytes", "excel_bytes", "neutralise", "safe_frame", "slug",
           "view_zip"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLACEHOLDERS = frozenset({"—", "–", "nan", "NaN", "None", "<NA>", "NaT"})


def neutralise(value: Any) -> Any:
    """A text value that a spreadsheet would read as a formula, made inert.

    >>> neutralise("=1+2"), neutralise("-3"), neutralise(-3), neutralise("ok")
    ("'=1+2", "'-3", -3, 'ok')
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def slug(name: str) -> str:
    """A file-name stem: lower case, words joined by underscores."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "table"


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` ready to write: formulas neutralised, missing values empty
    (``None``), zone-aware datetimes as naive local times, column names neutralised."""
    out = df.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            out[c] = s.dt.tz_localize(None)
        elif not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
                  or pd.api.types.is_datetime64_any_dtype(s)):
            out[c] = s.astype(object).map(_cell)
    return out.astype(object).where(out.notna(), None)


def _cell(v: Any) -> Any:
    if v is None or (not isinstance(v, (list, tuple, dict)) and pd.isna(v)):
        return None
    if isinstance(v, str):
        if v.strip() in PLACEHOLDERS:
            return None
        return neutralise(v)
    return v


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so Excel reads the accents) of :func:`safe_frame`."""
    # Text quoted always: a field holding a carriage return must be quoted, and pandas'
    # minimal quoting only looks for the line terminator.
    return safe_frame(df).to_csv(index=False, na_rep="", quoting=csv.QUOTE_NONNUMERIC
                                 ).encode("utf-8-sig")


def about_rows(*, title: str, filters: str, tier: str, definition: str = "",
               exported_at: dt.datetime | None = None) -> list[tuple[str, str]]:
    """The stamp of every file: what, which filters and period, which tier, when."""
    when = (exported_at or dt.datetime.now().astimezone()).isoformat(timespec="seconds")
    rows = [("table", title), ("filters and period", filters), ("privacy tier", tier),
            ("exported at", when), ("source", "CSO Impact")]
    if definition:
        rows.append(("definition", definition))
    return rows


def excel_bytes(df: pd.DataFrame, *, about: Sequence[tuple[str, str]]) -> bytes:
    """An .xlsx with the table (sheet ``data``) and its stamp (sheet ``about``); every
    cell is a value (openpyxl would otherwise store text starting with ``=`` as a formula)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    safe = safe_frame(df)
    _write_rows(ws, [list(safe.columns), *safe.itertuples(index=False, name=None)])
    ab = wb.create_sheet("about")
    _write_rows(ab, [["field", "value"], *[[k, neutralise(v)] for k, v in about]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _write_rows(ws: Any, rows: Sequence[Sequence[Any]]) -> None:
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row, start=1):
            if v is None:
                continue
            if isinstance(v, pd.Timestamp):
                v = v.to_pydatetime()
            elif hasattr(v, "item") and not isinstance(v, (str, bytes)):
                v = v.item()  # NumPy scalar → Python
            cell = ws.cell(row=r, column=c, value=v)
            if isinstance(v, str):
                cell.data_type = "s"  # text, never a formula


@dataclass(frozen=True)
class ExportTable:
    """One table of a view, as shown, with what a reader needs to understand it."""

    title: str
    frame: pd.DataFrame = field(compare=False)
    definition: str = ""


def view_zip(tables: Sequence[ExportTable], *, page: str, filters: str, tier: str,
             notes: Sequence[str] = (), exported_at: dt.datetime | None = None) -> bytes:
    """A zip with every table of a view as CSV and one Excel workbook per table, and a
    ``README.txt`` naming the page, filters and period, privacy tier, export time and
    each table's columns and definition."""
    when = (exported_at or dt.datetime.now().astimezone()).isoformat(timespec="seconds")
    lines = [f"CSO Impact — {page}", "", f"Filters and period: {filters}",
             f"Privacy tier: {tier}", f"Exported at: {when}", ""]
    lines += [*notes, ""] if notes else []
    lines += ["Files are UTF-8 CSV. Empty cells are missing or suppressed values. Text that "
              "a spreadsheet would read as a formula starts with an apostrophe (').", ""]
    buf = io.BytesIO()
    used: dict[str, int] = {}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for t in tables:
            stem = slug(t.title)
            used[stem] = used.get(stem, 0) + 1
            if used[stem] > 1:
                stem = f"{stem}_{used[stem]}"
            zf.writestr(f"{stem}.csv", csv_bytes(t.frame))
            about = about_rows(title=t.title, filters=filters, tier=tier,
                               definition=t.definition, exported_at=exported_at)
            zf.writestr(f"{stem}.xlsx", excel_bytes(t.frame, about=about))
            lines += [f"{stem}.csv / {stem}.xlsx — {t.title} ({len(t.frame):,} rows)",
                      "  columns: " + ", ".join(str(c) for c in t.frame.columns)]
            if t.definition:
                lines += ["  definition: " + " ".join(t.definition.split())]
            lines.append("")
        zf.writestr("README.txt", "\n".join(lines).encode("utf-8"))
    return buf.getvalue()


def readme_of(data: bytes) -> str:
    """The README of a view zip (for tests and the CLI)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read("README.txt").decode("utf-8")


def tables_of(data: bytes) -> Mapping[str, pd.DataFrame]:
    """The CSV tables of a view zip, by file name."""
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.endswith(".csv"):
                out[name] = pd.read_csv(io.BytesIO(zf.read(name)), keep_default_na=False,
                                        encoding="utf-8-sig")
    return out
