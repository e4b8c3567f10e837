"""Readers: put a CSV/TSV, Excel or Parquet file into a temporary all-text table.

CSV goes through DuckDB's ``read_csv`` with explicit options (delimiter, quote, escape,
encoding, header, every column as text); when that strict scan fails it is redone with
``store_rejects`` so that lines DuckDB cannot split (too few/many fields, bad quoting, invalid characters) are reported with their
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

SAMPLE_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
MAX_LINE_BYTES = 8 << 20


@dataclass
class RawStage:
    """A file ready to scan: its header and a FROM-able relation giving every column as text.

    ``source_sql`` uses named parameters (``$src_*``) held in ``params``. Rows come out in
    file order; the k-th good record is file row ``first_row + k`` plus the number of
    records the reader rejected before it (``reader_rejects``, filled by
    :func:`collect_reader_rejects` after the scan).
    """

    columns: list[str]
    source_sql: str
    params: dict[str, object]
    first_row: int
    # Same scan, but bad records go to DuckDB's reject tables instead of failing the scan
    # (slower, so used only when the strict scan fails).
    tolerant_sql: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    format: str = "csv"
    reader_rejects: list[tuple[int, str | None, str | None, str]] = field(default_factory=list)
    # The strict CSV scan's options (``name = $src_name``), to build a typed variant.
    csv_args: tuple[str, ...] = ()

    def typed_source(self, types: dict[str, str], timestampformat: str | None
                     ) -> tuple[str, dict[str, object]] | None:
        """The strict CSV scan with the reader typing ``types`` (source column → SQL type)
        itself; every other column stays text. None when there is no strict CSV scan."""
        if self.format != "csv" or not self.csv_args or self.source_sql == self.tolerant_sql:
            return None
        allowed = {"TIMESTAMP", "DOUBLE"}
        if not set(types.values()) <= allowed:
            raise ValueError(f"reader types must be among {sorted(allowed)}")

        def lit(v: str) -> str:
            return "'" + v.replace("'", "''") + "'"

        # Names from the file's own header as escaped string literals; types from `allowed`.
        spec = "{" + ", ".join(f"{lit(c)}: '{types.get(c, 'VARCHAR')}'" for c in self.columns) + "}"
        args = [a for a in self.csv_args if not a.startswith("all_varchar ")]
        params = {k: v for k, v in self.params.items() if k != "src_all_varchar"}
        extra = ""
        if timestampformat:
            params["src_timestampformat"] = timestampformat
            extra = ", timestampformat = $src_timestampformat"
        sql = (f"SELECT * FROM read_csv($src_path, {', '.join(args)}, columns = {spec}, "
               f"auto_detect = false{extra})")
        return sql, params

    def file_rows(self, ordinals: list[int]) -> list[int]:
        """File row numbers of good records given their 0-based ordinals."""
        import bisect

        gaps = [r - self.first_row - j for j, r in enumerate(sorted(x[0] for x in self.reader_rejects))]
        return [self.first_row + k + bisect.bisect_right(gaps, k) for k in ordinals]


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
    """Prepare ``read_csv`` with explicit options (every column as text) for a text file."""
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
        "max_line_size": MAX_LINE_BYTES,
        "null_padding": False,
        "strict_mode": True,
    }
    # Option names come from the fixed dict above; values are bound as named parameters.
    params: dict[str, object] = {"src_path": str(path)}
    args = []
    for k, v in opts.items():
        params[f"src_{k}"] = v
        args.append(f"{k} = $src_{k}")
    source = f"SELECT * FROM read_csv($src_path, {', '.join(args)})"
    tolerant = (f"SELECT * FROM read_csv($src_path, {', '.join(args)}, store_rejects = true, "
                "rejects_table = '_ing_rej_errors', rejects_scan = '_ing_rej_scans')")
    for t in ("_ing_rej_errors", "_ing_rej_scans"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    try:
        columns = [r[0] for r in con.execute(f"DESCRIBE {source}", params).fetchall()]
    except duckdb.Error:
        # The strict sniff fails on a broken record; the tolerant scan will report it.
        source = tolerant
        try:
            columns = [r[0] for r in con.execute(f"DESCRIBE {source}", params).fetchall()]
        except duckdb.Error as exc:
            raise InputDataError(_reader_message(exc, delim, encoding), file=str(path)) from None
    return RawStage(columns=columns, source_sql=source, params=params,
                    first_row=2 + preset.skip_rows, encoding=encoding, delimiter=delim,
                    format="csv", tolerant_sql=tolerant, csv_args=tuple(args))


def _reader_message(exc: Exception, delim: str, encoding: str) -> str:
    msg = [m for m in str(exc).split("\n") if m.strip()]
    return (f"cannot be read as delimited text (delimiter {delim!r}, encoding {encoding}): "
            + " ".join(msg[:3]))


def collect_reader_rejects(con: duckdb.DuckDBPyConnection, stage: RawStage, skip_rows: int) -> None:
    """After the scan: records DuckDB's CSV reader could not split, one per record."""
    if stage.format != "csv":
        return
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_ing_rej_errors'"
                         ).fetchall()[0][0]
    if not exists:
        return
    rej = con.execute(
        "SELECT line, column_name, csv_line, error_type, error_message FROM _ing_rej_errors "
        "ORDER BY line"
    ).fetchall()
    seen: dict[int, tuple] = {}
    for line, col, csv_line, etype, emsg in rej:  # DuckDB may list several errors per record
        seen.setdefault(int(line) + skip_rows, (col, csv_line, etype, emsg))
    stage.reader_rejects = [(ln, col, csv_line, _reader_reason(etype, emsg, stage.encoding or ""))
                            for ln, (col, csv_line, etype, emsg) in sorted(seen.items())]
    for t in ("_ing_rej_errors", "_ing_rej_scans"):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, preset: Preset) -> RawStage:
    """Prepare ``read_parquet`` with every column cast to text."""
    params: dict[str, object] = {"src_path": str(path)}
    try:
        cols = con.execute("DESCRIBE SELECT * FROM read_parquet($src_path)", params).fetchall()
    except duckdb.Error as exc:
        raise InputDataError(f"cannot be read as Parquet: {str(exc).splitlines()[0]}",
                             file=str(path)) from None
    names = [c[0] for c in cols]
    # Column names are quoted identifiers read from the file's own schema.
    sel = ", ".join('CAST("{0}" AS VARCHAR) AS "{0}"'.format(n.replace('"', '""')) for n in names)
    return RawStage(columns=names, source_sql=f"SELECT {sel} FROM read_parquet($src_path)",
                    params=params, first_row=1, format="parquet")


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


XLSX_VIEW = "_ing_xlsx"


def stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path, preset: Preset) -> RawStage:
    """Read the first (or the preset's) sheet of an .xlsx into Arrow, registered for DuckDB."""
    import openpyxl
    import pyarrow as pa

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a non-xlsx file
        raise InputDataError(f"cannot be read as Excel (.xlsx): {exc}", file=str(path)) from None
    try:
        if preset.sheet and preset.sheet not in wb.sheetnames:
            raise InputDataError(f"no sheet named {preset.sheet!r}; sheets: "
                                 f"{', '.join(wb.sheetnames)}", file=str(path))
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
    cols = list(zip(*data, strict=False)) if data else []
    tbl = pa.table({n: pa.array(list(cols[i]) if i < len(cols) else [None] * len(data), pa.string())
                    for i, n in enumerate(names)})
    con.register(XLSX_VIEW, tbl)
    return RawStage(columns=names, source_sql=f"SELECT * FROM {XLSX_VIEW}", params={},
                    first_row=2 + preset.skip_rows, format="xlsx")


def release(con: duckdb.DuckDBPyConnection, stage: RawStage) -> None:
    """Drop what staging registered (the Excel Arrow view, reader reject tables)."""
    if stage.format == "xlsx":
        try:
            con.unregister(XLSX_VIEW)
        except duckdb.Error:
            pass
    for t in ("_ing_rej_errors", "_ing_rej_scans"):
        con.execute(f"DROP TABLE IF EXISTS {t}")


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, preset: Preset) -> RawStage:
    """Prepare any supported file for scanning."""
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
