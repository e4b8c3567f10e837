"""Readers: put a CSV/TSV, Excel or Parquet file into a temporary all-text table.

CSV goes through DuckDB's ``read_csv`` with explicit options (delimiter, quote, escape,
encoding, header, every column as text) and ``store_rejects`` so that lines DuckDB cannot
split (too few/many fields, bad quoting, invalid characters) are reported with their
record number instead of failing the whole file. Parquet goes through ``read_parquet``.
Excel goes through openpyxl into Arrow (openpyxl is row-based; Excel files are small).

Every staged row gets its 1-based row number in the file, counting the header as row 1
(the convention of :class:`analytics.errors.InputDataError`).
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analytics.errors import InputDataError
from analytics.ingest._presets import Preset

log = logging.getLogger(__name__)

RAW = "_ing_raw"  # temp table: source columns as VARCHAR plus _row
SAMPLE_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
MAX_LINE_BYTES = 8 << 20


@dataclass
class RawStage:
    """What reading produced: header, row count, rows DuckDB could not parse."""

    columns: list[str]
    n_rows: int  # records read (good + rejected by the reader)
    reader_rejects: list[tuple[int, str | None, str | None, str]] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    format: str = "csv"


class Checksum:
    """sha256 of a file, computed in a background thread while DuckDB reads it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        h = hashlib.sha256()
        try:
            with open(self._path, "rb") as fh:
                while chunk := fh.read(8 << 20):  # hashlib releases the GIL on big chunks
                    h.update(chunk)
        except OSError as exc:
            self._error = exc
        self._digest = h.hexdigest()

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise InputDataError(f"cannot read file: {self._error}", file=str(self._path))
        assert self._digest is not None
        return self._digest


def file_checksum(path: str | Path) -> str:
    """sha256 hex digest of a file's bytes."""
    return Checksum(Path(path)).result()


def detect_format(path: Path, preset: Preset) -> str:
    """csv | xlsx | parquet | geojson, from the preset or the file name."""
    if preset.format != "auto":
        return preset.format
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".geojson", ".json"):
        return "geojson"
    return "csv"


def detect_encoding(sample: bytes) -> str:
    """utf-8 (with or without BOM), utf-16 (BOM), else latin-1.

    The sample is checked with an incremental decoder so a multi-byte character cut at
    the sample's end does not count as invalid.
    """
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def _split_header(line: str, delim: str, quote: str) -> list[str]:
    out, cur, inq = [], [], False
    for ch in line:  # one header line, not data rows
        if ch == quote:
            inq = not inq
        elif ch == delim and not inq:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def detect_delimiter(header_line: str, quote: str = '"') -> str:
    """The candidate that splits the header line into the most fields (',' if none)."""
    best, best_n = ",", 1
    for d in DELIMITERS:
        n = len(_split_header(header_line, d, quote))
        if n > best_n:
            best, best_n = d, n
    return best


def _sample_text(path: Path, preset: Preset) -> tuple[str, str]:
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample) if preset.encoding == "auto" else preset.encoding
    codec = {"utf-8": "utf-8-sig", "latin-1": "latin-1", "utf-16": "utf-16"}[encoding]
    text = sample.decode(codec, errors="replace")
    return encoding, text


def _reader_reason(error_type: str, message: str, encoding: str) -> str:
    if error_type.upper() in ("INVALID ENCODING", "INVALID UNICODE"):
        hint = ' (is the file Latin-1? set read.encoding = "latin-1")' if encoding == "utf-8" else ""
        return f"bytes that are not valid {encoding.upper()}{hint}"
    reasons = {
        "MISSING COLUMNS": "too few fields (truncated or mis-delimited line)",
        "TOO MANY COLUMNS": "too many fields (unquoted delimiter in a value?)",
        "UNQUOTED VALUE": "bad quoting (text after a closing quote)",
        "LINE SIZE OVER MAXIMUM": "line longer than the reader's maximum",
        "UNTERMINATED QUOTES": "a quote opened and never closed (truncated file?)",
    }
    return reasons.get(error_type.upper(), f"{error_type.lower()}: {message}")


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, preset: Preset) -> RawStage:
    """Read a delimited text file into ``_ing_raw`` (all VARCHAR) with DuckDB ``read_csv``."""
    if path.stat().st_size == 0:
        raise InputDataError("the file is empty (0 bytes)", file=str(path))
    encoding, text = _sample_text(path, preset)
    lines = text.splitlines()
    header_line = lines[preset.skip_rows] if len(lines) > preset.skip_rows else ""
    if not header_line.strip():
        raise InputDataError("the file has no header line", file=str(path), row=1)
    delim = preset.delimiter or detect_delimiter(header_line, preset.quote)
    quote = preset.quote or '"'
    escape = preset.escape or quote
    opts = {
        "header": True,
        "all_varchar": True,
        "delim": delim,
        "quote": quote,
        "escape": escape,
        "encoding": encoding,
        "skip": preset.skip_rows,
        "store_rejects": True,
        "rejects_table": "_ing_rej_errors",
        "rejects_scan": "_ing_rej_scans",
        "max_line_size": MAX_LINE_BYTES,
        "null_padding": False,
        "strict_mode": True,
    }
    # Option names come from the fixed dict above; values are bound as parameters.
    args = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(opts))
    params = [str(path), *opts.values()]
    for t in ("_ing_rej_errors", "_ing_rej_scans"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _ing_raw0 AS SELECT * FROM read_csv($1, {args})",
                    params)
    except duckdb.Error as exc:
        msg = str(exc).split("\n")
        raise InputDataError(
            "cannot be read as delimited text (delimiter "
            f"{delim!r}, encoding {encoding}): {msg[0]} {' '.join(m for m in msg[1:3] if m)}",
            file=str(path),
        ) from None
    columns = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE _ing_raw0)").fetchall()]
    rej = con.execute(
        "SELECT line, column_name, csv_line, error_type, error_message FROM _ing_rej_errors "
        "ORDER BY line"
    ).fetchall()
    # One reader reject per record (DuckDB may list several errors for one line).
    seen: dict[int, tuple] = {}
    for line, col, csv_line, etype, emsg in rej:
        seen.setdefault(int(line) + preset.skip_rows, (col, csv_line, etype, emsg))
    rejects = [(ln, col, csv_line, _reader_reason(etype, emsg, encoding))
               for ln, (col, csv_line, etype, emsg) in sorted(seen.items())]
    _number_rows(con, first_row=2 + preset.skip_rows, reject_rows=[r[0] for r in rejects])
    n_good = _count(con, RAW)
    return RawStage(columns=columns, n_rows=n_good + len(rejects), reader_rejects=rejects,
                    encoding=encoding, delimiter=delim, format="csv")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    # Table name is one of this module's fixed temp tables.
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _number_rows(con: duckdb.DuckDBPyConnection, *, first_row: int, reject_rows: list[int]) -> None:
    """``_ing_raw`` = ``_ing_raw0`` plus ``_row``, the record's 1-based row in the file.

    The staged table keeps file order (DuckDB preserves insertion order), so the k-th good
    record is row ``first_row + k`` plus the number of rejected records before it.
    """
    # Inside a transaction DuckDB numbers new rows from a large offset: use rowid - min(rowid).
    con.execute("CREATE OR REPLACE TEMP TABLE _ing_gap (t BIGINT)")
    gap_sql = "0"
    if reject_rows:
        # Good-record index at which each rejected record sits.
        gaps = [r - first_row - j for j, r in enumerate(sorted(reject_rows))]
        con.executemany("INSERT INTO _ing_gap VALUES (?)", [[g] for g in gaps])
        gap_sql = "(SELECT count(*) FROM _ing_gap g WHERE g.t <= r.rowid - m.base)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {RAW} AS
            SELECT r.*, r.rowid - m.base + {int(first_row)} + {gap_sql} AS _row
            FROM _ing_raw0 r, (SELECT coalesce(min(rowid), 0) AS base FROM _ing_raw0) m"""
    )
    con.execute("DROP TABLE _ing_raw0")


def stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, preset: Preset) -> RawStage:
    """Read a Parquet file into ``_ing_raw``, every column cast to text."""
    try:
        cols = con.execute("SELECT name FROM parquet_schema($1) WHERE num_children IS NULL "
                           "OR num_children = 0", [str(path)]).fetchall()
        names = [c[0] for c in cols]
        # Column names are quoted identifiers read from the file's own schema.
        sel = ", ".join('CAST("{0}" AS VARCHAR) AS "{0}"'.format(n.replace('"', '""'))
                        for n in names)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _ing_raw0 AS SELECT {sel} FROM read_parquet($1)",
                    [str(path)])
    except duckdb.Error as exc:
        raise InputDataError(f"cannot be read as Parquet: {str(exc).splitlines()[0]}",
                             file=str(path)) from None
    _number_rows(con, first_row=1, reject_rows=[])
    return RawStage(columns=names, n_rows=_count(con, RAW), format="parquet")


def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # Excel stores ids and codes as floats
    return str(v)


def stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path, preset: Preset) -> RawStage:
    """Read the first (or the preset's) sheet of an .xlsx into ``_ing_raw`` via Arrow."""
    import openpyxl
    import pyarrow as pa

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a non-xlsx file
        raise InputDataError(f"cannot be read as Excel (.xlsx): {exc}", file=str(path)) from None
    try:
        ws = wb[preset.sheet] if preset.sheet else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        for _ in range(preset.skip_rows):
            next(rows, None)
        header = next(rows, None)
        if header is None:
            raise InputDataError("the sheet is empty", file=str(path))
        names = [str(h).strip() if h is not None else f"column{i}" for i, h in enumerate(header)]
        data = [[_cell_text(v) for v in r] for r in rows]  # openpyxl yields rows only
    finally:
        wb.close()
    cols = list(zip(*data, strict=False)) if data else [() for _ in names]
    arrays = {n: pa.array(list(cols[i]) if i < len(cols) else [None] * len(data), pa.string())
              for i, n in enumerate(names)}
    tbl = pa.table(arrays)
    con.register("_ing_xlsx", tbl)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _ing_raw0 AS SELECT * FROM _ing_xlsx")
    finally:
        con.unregister("_ing_xlsx")
    _number_rows(con, first_row=2 + preset.skip_rows, reject_rows=[])
    return RawStage(columns=names, n_rows=_count(con, RAW), format="xlsx")


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, preset: Preset) -> RawStage:
    """Stage any supported file into ``_ing_raw``."""
    if not path.exists():
        raise InputDataError("file not found", file=str(path))
    if not path.is_file():
        raise InputDataError("not a regular file", file=str(path))
    fmt = detect_format(path, preset)
    if fmt == "xlsx":
        return stage_xlsx(con, path, preset)
    if fmt == "parquet":
        return stage_parquet(con, path, preset)
    if fmt == "geojson":
        raise InputDataError("GeoJSON boundaries import into the areas table only",
                             file=str(path))
    return stage_csv(con, path, preset)
