"""Readers: put a CSV/TSV, Excel or Parquet file into a temporary all-text table.

CSV goes through DuckDB's ``read_csv`` with explicit options (delimiter, quote, escape,
encoding, header, every column as text). Before that the header is checked (at most
``MAX_COLUMNS`` columns, no repeated names) and a file that is not text at all (gzip,
zip/xlsx, JSON, PDF, binary) is refused saying what it looks like. When DuckDB's strict
scan cannot read the file — a stray quote, a byte not valid in the encoding, a NUL byte,
a line over ``MAX_LINE_BYTES`` — :func:`repair` splits it record by record in Python and
writes the good records to a private clean copy, so each broken record costs its own row
(reported with row number and raw text) instead of the file. Parquet goes through
``read_parquet``. Excel goes through openpyxl into Arrow (openpyxl is row-based; Excel
files are small).

Every staged row gets its 1-based row number in the file, counting the header as row 1
(the convention of :class:`analytics.errors.InputDataError`).
"""

from __future__ import annotations

import codecs
import csv
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
# One record (line, or lines joined inside quotes) at most this long; a longer one is a
# rejected row, never a buffer that grows with the file.
MAX_LINE_BYTES = 2 << 20
MAX_COLUMNS = 1_000
# A quoted value may span at most this many lines; a quote still open after that is a
# stray quote and costs only its own line.
MAX_RECORD_LINES = 100


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
    # Rows that hold no record (blank lines dropped by the record scanner).
    skipped_rows: list[int] = field(default_factory=list)
    # The cleaned copy the record scanner wrote (deleted by :func:`release`).
    clean_dir: str | None = None
    # The strict CSV scan's options (``name = $src_name``), to build a typed variant.
    csv_args: tuple[str, ...] = ()

    def typed_source(self, types: dict[str, str], timestampformat: str | None
                     ) -> tuple[str, dict[str, object]] | None:
        """The strict CSV scan with the reader typing ``types`` (source column → SQL type)
        itself; every other column stays text. None when there is no strict CSV scan."""
        if self.format != "csv" or not self.csv_args:
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

        gone = sorted([x[0] for x in self.reader_rejects] + self.skipped_rows)
        gaps = [r - self.first_row - j for j, r in enumerate(gone)]
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
    """utf-8 (with or without BOM, or with valid multi-byte characters and a few bad
    bytes), utf-16 (BOM), else latin-1.

    The sample is checked with an incremental decoder so a multi-byte character cut at
    the sample's end does not count as invalid.
    """
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        # Mostly UTF-8 with a few bad bytes (rows pasted in from another system): stay
        # UTF-8 so those rows are rejected rather than every accent misread as Latin-1.
        import re

        text = sample.decode("utf-8", errors="replace")
        return "utf-8" if re.search("[^\x00-\x7f\ufffd]", text) else "latin-1"
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


def describe_non_text(sample: bytes) -> str | None:
    """What a file that is not delimited text looks like (None when it may be text)."""
    head = sample[:8]
    magic = (
        (b"\x1f\x8b", "a gzip-compressed file: decompress it (gunzip) and import the file inside"),
        (b"PK\x03\x04", "a zip archive or an Excel workbook (.xlsx is a zip): give an Excel file "
                        "the .xlsx extension to import its first sheet, or unzip the archive"),
        (b"\xd0\xcf\x11\xe0", "an old-style Excel .xls (or other Office) file: save it as .xlsx "
                              "or CSV"),
        (b"%PDF", "a PDF document, not a data export"),
        (b"PAR1", "a Parquet file: give it the .parquet extension"),
        (b"SQLite format", "an SQLite database, not a data export"),
    )
    for prefix, what in magic:
        if head.startswith(prefix) or sample.startswith(prefix):
            return what
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16 with a byte-order mark: NUL bytes are expected
    text = sample[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] == b"{" or (text[:1] == b"[" and text[1:2].strip() in (b"{", b"[", b'"', b"")):
        return ("JSON (GeoJSON boundaries import into the areas table "
                "from a .geojson file)")
    window = sample[:65536]
    if window:
        nul = window.count(b"\x00")
        ctrl = sum(window.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
        if nul > len(window) // 100 or ctrl > len(window) // 20:
            return ("binary data" + (
                " (or UTF-16 text without a byte-order mark: save it as UTF-8)" if nul else ""))
    return None


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, preset: Preset) -> RawStage:
    """Prepare ``read_csv`` with explicit options (every column as text) for a text file.

    The header is checked first (at most ``MAX_COLUMNS`` columns, no repeated names); a
    file that is not text at all is refused with what it looks like. When DuckDB's strict
    scan cannot read the file (a stray quote, a bad byte, a NUL byte, an over-long line)
    :func:`repair` splits it record by record instead, so a broken record costs that row.
    """
    if path.stat().st_size == 0:
        raise InputDataError("the file is empty (0 bytes)", file=str(path))
    with open(path, "rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    what = describe_non_text(raw)
    if what:
        raise InputDataError(f"this is not delimited text: it looks like {what}", file=str(path))
    encoding, text = _sample_text(path, preset)
    lines = text.splitlines()
    header_line = lines[preset.skip_rows] if len(lines) > preset.skip_rows else ""
    if not header_line.strip():
        raise InputDataError("the file has no header line", file=str(path), row=1)
    delim = preset.delimiter or detect_delimiter(header_line[:200_000], preset.quote)
    quote = preset.quote or '"'
    escape = preset.escape or quote
    names = _header_names(header_line, delim, quote, path, preset.skip_rows + 1)
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
    stage = RawStage(columns=names, source_sql=source, params=params,
                     first_row=2 + preset.skip_rows, encoding=encoding, delimiter=delim,
                     format="csv", csv_args=tuple(args))
    if encoding != "utf-16" and (b"\x00" in raw or _has_nul(path, len(raw))):
        repair(con, stage, preset)  # DuckDB would store NUL bytes as they are
        return stage
    try:
        columns = [r[0] for r in con.execute(f"DESCRIBE {source}", params).fetchall()]
    except duckdb.Error as exc:
        log.info("strict CSV sniff failed (%s); splitting records one by one",
                 str(exc).splitlines()[0] if str(exc) else exc)
        repair(con, stage, preset)
        return stage
    if len(columns) != len(names):
        # DuckDB split the header differently from the quote-aware split above.
        repair(con, stage, preset)
        return stage
    stage.columns = columns
    return stage


def _has_nul(path: Path, start: int) -> bool:
    """Whether the file holds a NUL byte after its first ``start`` bytes (memchr speed)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        while chunk := fh.read(8 << 20):
            if b"\x00" in chunk:
                return True
    return False


def _header_names(line: str, delim: str, quote: str, path: Path, row: int) -> list[str]:
    """The header's column names; refuses too many columns and repeated names."""
    n = line.count(delim) + 1
    if n > MAX_COLUMNS * 2 or len(line) > MAX_LINE_BYTES:
        raise InputDataError(f"the header has {n:,} or more columns; at most {MAX_COLUMNS:,} "
                             "are accepted (is this the right file?)", file=str(path), row=row)
    names = [h.strip() for h in next(csv.reader([line], delimiter=delim, quotechar=quote))] \
        if line else []
    if len(names) > MAX_COLUMNS:
        raise InputDataError(f"the header has {len(names):,} columns; at most {MAX_COLUMNS:,} "
                             "are accepted (is this the right file?)", file=str(path), row=row)
    seen: dict[str, int] = {}
    for i, name in enumerate(names, 1):
        if name in seen:
            shown = repr(name[:60]) if name else "(empty)"
            raise InputDataError(
                f"the header names column {shown} twice (columns {seen[name]} and {i}): "
                "which one is meant is ambiguous; rename or remove one",
                file=str(path), row=row, column=name[:60])
        seen[name] = i
    return names


def repair(con: duckdb.DuckDBPyConnection, stage: RawStage, preset: Preset) -> None:
    """Split the file record by record in Python; write the good records to a clean copy.

    Each broken record (wrong number of fields, bad quoting, a quote still open after
    ``MAX_RECORD_LINES`` lines, bytes not valid in the encoding, a NUL byte, longer than
    ``MAX_LINE_BYTES``) becomes a reader reject with its row number and raw text; blank
    lines are skipped. Mixed line endings (CRLF, LF, CR) are all line ends; a carriage
    return inside quotes stays in the value. The stage then reads the clean copy (UTF-8,
    same columns) with the same strict DuckDB scan; row numbers still refer to the file.
    """
    import tempfile

    path = Path(str(stage.params["src_path"]))
    enc = stage.encoding or "utf-8"
    codec = {"utf-8": "utf-8-sig", "latin-1": "latin-1", "utf-16": "utf-16"}.get(enc, enc)
    delim, quote = stage.delimiter or ",", preset.quote or '"'
    escape = preset.escape or quote
    n_cols = len(stage.columns)
    clean_dir = tempfile.mkdtemp(prefix="cso_clean_")  # private (0700), removed by release()
    clean = Path(clean_dir) / "clean.csv"
    rejects: list[tuple[int, str | None, str | None, str]] = []
    skipped: list[int] = []
    reader_kw = {"delimiter": delim, "quotechar": quote, "strict": True,
                 "doublequote": escape == quote, "escapechar": None if escape == quote else escape}
    with open(path, encoding=codec, errors="surrogateescape", newline="") as src, \
            open(clean, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=delim, quotechar='"', lineterminator="\r\n")
        lines = _Lines(src)
        for _ in range(preset.skip_rows):
            _next_record(lines, quote, reader_kw)
        _next_record(lines, quote, reader_kw)  # the header (names checked already)
        writer.writerow(stage.columns)
        row = stage.first_row - 1
        while True:
            rec = _next_record(lines, quote, reader_kw)
            if rec is None:
                break
            row += 1
            fields, raw, problem = rec
            if problem is None and fields is not None and len(fields) != n_cols:
                if fields == [""] or (not raw.strip()):
                    skipped.append(row)
                    continue
                problem = (f"too few fields ({len(fields)} of {n_cols}: truncated or "
                           "mis-delimited line)" if len(fields) < n_cols else
                           f"too many fields ({len(fields)} of {n_cols}: an unquoted delimiter "
                           "in a value?)")
            if problem is None and "\x00" in raw:
                problem = "a NUL byte in the record (a damaged or binary file?)"
            if problem is None and _has_surrogates(raw):
                hint = (' (is the file Latin-1? set read.encoding = "latin-1")'
                        if enc == "utf-8" else "")
                problem = f"bytes that are not valid {enc.upper()}{hint}"
            if problem is not None:
                rejects.append((row, None, _shown(raw), problem))
                continue
            writer.writerow(fields)
    stage.reader_rejects = rejects
    stage.skipped_rows = skipped
    stage.clean_dir = clean_dir
    stage.params = {**stage.params, "src_path": str(clean), "src_encoding": "utf-8",
                    "src_skip": 0, "src_quote": '"', "src_escape": '"'}
    stage.columns = [r[0] for r in con.execute(f"DESCRIBE {stage.source_sql}", stage.params
                                               ).fetchall()]


class _Lines:
    """Physical lines with their terminators (CRLF, LF or a lone CR: ``newline=""``),
    read at most MAX_LINE_BYTES + 1 characters at a time, with push-back."""

    def __init__(self, src) -> None:  # noqa: ANN001 - a text file
        self._src = src
        self._back: list[str] = []

    def next(self) -> str | None:
        if self._back:
            return self._back.pop()
        return self._src.readline(MAX_LINE_BYTES + 1) or None

    def push(self, items: list[str]) -> None:
        self._back.extend(reversed(items))

    def skip_rest_of_line(self) -> None:
        while (piece := self.next()) is not None:
            if piece.endswith(("\n", "\r")) and len(piece) <= MAX_LINE_BYTES:
                return


def _next_record(lines: _Lines, quote: str, reader_kw: dict
                 ) -> tuple[list[str] | None, str, str | None] | None:
    """(fields, raw text, problem) of the next record, or None at the end of the file.

    Lines are joined while a quote is open, up to MAX_RECORD_LINES lines and
    MAX_LINE_BYTES characters; past that (or when the joined text does not parse) the
    first line alone is the broken record and the lines after it are read again.
    """
    first = lines.next()
    if first is None:
        return None
    if len(first) > MAX_LINE_BYTES:
        if not first.endswith(("\n", "\r")):
            lines.skip_rest_of_line()
        return None, first[:1000], f"line longer than {MAX_LINE_BYTES >> 20} MB"
    if quote not in first:
        return _split(_trim(first), reader_kw), first, None
    parts, size = [first], len(first)
    while True:
        body = "".join(parts)
        try:
            return next(csv.reader([_trim(body)], **reader_kw), [""]), body, None
        except csv.Error as exc:
            still_open = "unexpected end of data" in str(exc)
        if not still_open:
            lines.push(parts[1:])
            return None, first, "bad quoting (text after a closing quote, or a stray quote)"
        nxt = lines.next() if len(parts) < MAX_RECORD_LINES and size < MAX_LINE_BYTES else None
        if nxt is None or len(nxt) > MAX_LINE_BYTES:
            # The quote never closes: only the first line is lost; the others come back.
            lines.push(parts[1:] + ([nxt] if nxt is not None else []))
            return None, first, "a quote opened and never closed (a stray quote?)"
        parts.append(nxt)
        size += len(nxt)


def _trim(line: str) -> str:
    if line.endswith("\r\n"):
        return line[:-2]
    return line[:-1] if line.endswith(("\n", "\r")) else line


def _split(body: str, reader_kw: dict) -> list[str]:
    if reader_kw.get("escapechar") and reader_kw["escapechar"] in body:
        return next(csv.reader([body], **reader_kw), [""])
    return body.split(reader_kw["delimiter"])


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shown(raw: str) -> str:
    """The raw record for the report: bad bytes as \\xNN, NUL as \\x00, cut."""
    text = raw.rstrip("\r\n").encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = text.replace("\x00", "\\x00")
    return text[:1000]


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
    if stage.clean_dir:
        import shutil

        shutil.rmtree(stage.clean_dir, ignore_errors=True)
        stage.clean_dir = None


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
