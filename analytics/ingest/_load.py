"""The importer: read → type → validate → spatial join → upsert, in one transaction.

One import is one transaction (:func:`analytics.db.transaction`): any failure leaves the
database exactly as before. Rows that break a rule are rejected, never coerced, and each
is reported with file, 1-based row, column, value and reason; warnings (rows kept but
incomplete) are counted per reason. A file whose checksum was already imported into the
same table with the same preset adds nothing; otherwise rows are matched on the table's
primary key: new rows are inserted, changed rows updated, identical rows counted as
unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import numpy as np

from analytics import db, facts
from analytics.errors import DatabaseError, InputDataError
from analytics.ingest import _readers, _spatial
from analytics.ingest._presets import DURATION_UNITS, Preset, load_preset
from analytics.ingest._spec import (
    CORE_SEGMENTS,
    GEO_TABLES,
    SEGMENT_ORDER,
    SOFT_SEGMENTS,
    SPECS,
    TABLE_NAMES,
    TableSpec,
)
from analytics.ingest._transform import Plan, build_plan, ident, reader_types

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
T = "_ing_t"  # typed staging table
MAX_VALUE_CHARS = 200
# Let the CSV reader type clean timestamp and number columns itself (see _typed_scan);
# tests switch it off to compare both paths.
FAST_READER = True
PROBE_ROWS = 4096
# One import at a time in this process (the app's sessions share one database): the
# event tables keep their keys unique through the importer's own key matching
# (analytics.db.UNINDEXED_KEYS), which two concurrent imports of overlapping files
# would both pass. DuckDB itself allows one read-write process per file.
_IMPORT_LOCK = threading.Lock()

@dataclass(frozen=True)
class Reject:
    """One rejected row: where, what and why."""

    file: str
    row: int
    column: str | None
    value: str | None
    reason: str


@dataclass(frozen=True)
class ImportResult:
    """What one import did. Counts of ``rows_loaded/updated/unchanged`` are rows of
    ``table``; ``also`` holds the same counts for tables filled alongside (assignments and
    units from a one-row-per-unit CAD export)."""

    import_id: int | None
    table: str
    file: str
    checksum: str
    preset: str
    rows_read: int
    rows_loaded: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    rejects: tuple[Reject, ...] = ()
    rows_filtered: int = 0  # left out by the preset's [filter]: not rejects
    warnings: dict[str, int] = field(default_factory=dict)
    also: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    already_imported: bool = False
    rejects_path: str | None = None
    # Values flagged in kept rows, per row and column: set to missing (an out-of-order en
    # route / cleared time) or kept (coordinates far from the file's other points).
    flagged_values: tuple[Reject, ...] = ()
    seconds: float = 0.0

    @property
    def rows_already_present(self) -> int:
        return self.rows_unchanged

    def summary(self) -> str:
        """One plain-language line per fact, for the CLI and the page."""
        lines = [f"{self.file} → {self.table} (preset {self.preset})"]
        if self.already_imported:
            lines.append("this exact file was imported before: nothing added")
        lines.append(
            f"rows read {self.rows_read:,}; loaded {self.rows_loaded:,} new; "
            f"updated {self.rows_updated:,}; already present {self.rows_unchanged:,}; "
            f"rejected {self.rows_rejected:,}"
        )
        if self.rows_filtered:
            lines.append(f"left out by the preset's filter {self.rows_filtered:,} (not rejects)")
        for t, (n, u, s) in self.also.items():
            lines.append(f"  {t}: {n:,} new, {u:,} updated, {s:,} already present")
        for reason, n in sorted(self.warnings.items()):
            lines.append(f"  warning: {n:,} rows {reason}")
        if self.rejects_path:
            lines.append(f"rejected rows and values set to missing listed in {self.rejects_path}")
        return "\n".join(lines)


def _nop(frac: float, msg: str) -> None:
    return None


def _n(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    return int(db.scalar(con, sql, params) or 0)


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    # Databases made before these tables joined the schema lack them.
    for name in ("import_rejects", "import_warnings", "import_flagged_values"):
        con.execute(db.TABLES[name])


def resolve_preset(table: str, preset: str | Preset | None, preset_file: str | Path | None) -> Preset:
    """The preset to use: an object, a file, a shipped name, or ``canonical``."""
    from analytics.ingest._presets import load_preset_file

    if isinstance(preset, Preset):
        return preset
    if preset_file is not None:
        return load_preset_file(preset_file)
    return load_preset(preset or "canonical", table)


def with_department_zone(con: duckdb.DuckDBPyConnection, p: Preset, file: str) -> Preset:
    """The preset with ``store_timezone`` = the department's zone and ``store_utc`` set
    when times are stored as UTC instants (analytics.core.clock).

    The database's zone (``settings.timezone``) wins once set; before that it is the
    preset's ``store_timezone``, else its ``timezone`` (recorded by the import). A preset
    that insists on another zone than the database's is refused: one database holds one
    department. A database without a zone that already holds event times (the demo city,
    whose synthetic clock has no zone) keeps storing wall-clock times: its existing rows
    cannot be read as UTC.
    """
    from analytics.errors import OptionError

    stored = db.department_timezone(con)
    try:
        for z in (p.timezone, p.store_timezone):
            if z:
                db.check_timezone(con, z)
    except OptionError as exc:
        raise InputDataError(f"preset {p.name}: {exc}", file=file) from None
    if stored and p.store_timezone and p.store_timezone != stored:
        raise InputDataError(
            f"preset {p.name} is for a department in {p.store_timezone}, but this database "
            f"holds {stored}; drop store_timezone from the preset (pages then show "
            f"{stored} local time) or use another database", file=file)
    zone = stored or p.store_timezone or p.timezone
    if not zone:
        return p
    utc = bool(stored) or not db.holds_event_times(con)
    if zone == p.store_timezone and utc == p.store_utc:
        return p
    return replace(p, store_timezone=zone, store_utc=utc)


# -- validation -------------------------------------------------------------------------
def _check_header(stage: _readers.RawStage, spec: TableSpec, preset: Preset, file: str) -> None:
    header = set(stage.columns)
    missing = sorted(c for c in preset.source_columns() if c not in header)
    if missing:
        hint = ""
        if len(stage.columns) == 1:
            hint = (f"; the header has a single column {stage.columns[0][:80]!r} — is the "
                    f"delimiter wrong (read as {stage.delimiter!r})?")
        raise InputDataError(
            f"required column missing from the header: {', '.join(map(repr, missing))} "
            f"(preset {preset.name}){hint}",
            file=file, row=1, column=missing[0],
        )
    unmapped = [c for c in spec.required if c not in preset.columns and not (
        c == "unit_type" and preset.unit_rules)]
    if unmapped:
        raise InputDataError(
            f"preset {preset.name} does not map required {spec.name} column(s) "
            f"{', '.join(unmapped)}", file=file, column=unmapped[0])


def _segment_case(spec: TableSpec, preset: Preset, mapped: set[str]) -> tuple[str, str, str] | None:
    """SQL (reason, value, column) of the first out-of-order pair of timestamps, or None.

    Timestamps derived from rounded durations may be out of order by the rounding; the
    preset's ``durations.order_tolerance`` allows that much.
    """
    order = [c for c in CORE_SEGMENTS if c in spec.names and c in mapped]
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
    if spec.name == "activities":
        pairs = [("started_at", "ended_at")]
    if spec.name == "deployments":
        pairs = [("start_date", "end_date")]
    if not pairs:
        return None
    slack_us = int(round(preset.order_tolerance * DURATION_UNITS[preset.duration_unit] * 1e6)) \
        if preset.durations else 0

    def label(c: str) -> str:
        if c in preset.columns:
            return preset.columns[c].label()
        return "+".join(preset.durations.get(c, (c,)))

    # Column names from the fixed canonical lists; labels are escaped literals.
    def lit(s: str) -> str:
        return "'" + s.replace("'", "''") + "'"

    conds = [(f"{ident(b)} < {ident(a)}" if not slack_us or spec.name in ("activities", "deployments")
              else f"{ident(b)} < {ident(a)} - to_microseconds({slack_us})", a, b) for a, b in pairs]
    reason = " ".join(f"WHEN {c} THEN {lit(f'{b} before {a}')}" for c, a, b in conds)
    value = " ".join(f"WHEN {c} THEN CAST({ident(b)} AS VARCHAR)" for c, a, b in conds)
    column = " ".join(f"WHEN {c} THEN {lit(label(b))}" for c, a, b in conds)
    return f"CASE {reason} END", f"CASE {value} END", f"CASE {column} END"


def _validate(con: duckdb.DuckDBPyConnection, spec: TableSpec, preset: Preset,
              checks: list[tuple[str, str]], mapped: set[str],
              extent: tuple[float, float, float, float] | None) -> None:
    """Fill ``_ing_rej(rid, column, value, reason, ref)`` from every rule.

    ``rid`` is the staged row's rowid (file order); ``ref`` the rowid of the first row of
    a duplicated key. One statement per rule: each is a filtered columnar scan.
    """
    con.execute('CREATE OR REPLACE TEMP TABLE _ing_rej (rid BIGINT, "column" VARCHAR, '
                'value VARCHAR, reason VARCHAR, ref BIGINT)')

    def add(sql: str, params: list | None = None) -> None:
        con.execute(f"INSERT INTO _ing_rej {sql}", params or [])

    chk_of: dict[str, int] = {}
    for i, (label, reason) in enumerate(checks):
        add(f"SELECT rowid, $1, _chk{i}, $2, NULL FROM {T} WHERE _chk{i} IS NOT NULL",
            [label, reason])
        chk_of.setdefault(label, i)
    for c in spec.required:
        src = preset.columns.get(c)
        label = src.label() if src else c
        # A value that failed to parse is already reported; do not report it twice.
        parsed = f" AND _chk{chk_of[label]} IS NULL" if label in chk_of else ""
        add(f"SELECT rowid, $1, NULL, 'missing required value', NULL FROM {T} "
            f"WHERE {ident(c)} IS NULL{parsed}", [label])
    for col in spec.columns:
        if (col.lo is None and col.hi is None) or col.name not in mapped:
            continue
        src = preset.columns.get(col.name)
        conds = [f"{ident(col.name)} < {col.lo}"] if col.lo is not None else []
        conds += [f"{ident(col.name)} > {col.hi}"] if col.hi is not None else []
        bounds = (f"{col.lo:g} to {col.hi:g}" if col.lo is not None and col.hi is not None
                  else f"at least {col.lo:g}" if col.lo is not None else f"at most {col.hi:g}")
        # Bounds are numbers from the fixed SPECS.
        add(f"SELECT rowid, $1, CAST({ident(col.name)} AS VARCHAR), $2, NULL FROM {T} "
            f"WHERE {' OR '.join(conds)}", [src.label() if src else col.name,
                                             f"out of range (must be {bounds})"])
    _plausibility(con, spec, preset, mapped, add)
    seg = _segment_case(spec, preset, mapped)
    if seg:
        reason_sql, value_sql, col_sql = seg
        add(f"SELECT rowid, {col_sql}, {value_sql}, 'segments out of order: ' || ({reason_sql}), "
            f"NULL FROM {T} WHERE ({reason_sql}) IS NOT NULL")
    if spec.name in GEO_TABLES and {"lat", "lon"} & mapped:
        lat_l = preset.columns["lat"].label() if "lat" in preset.columns else "lat"
        add(f"SELECT rowid, $1, concat_ws(', ', lat, lon), CASE "
            "WHEN (lat IS NULL) <> (lon IS NULL) THEN 'latitude without longitude or the reverse' "
            "WHEN lat = 0 AND lon = 0 THEN 'coordinates 0, 0 (a missing location written as zero)' "
            "WHEN lat NOT BETWEEN -90 AND 90 OR lon NOT BETWEEN -180 AND 180 "
            "THEN 'coordinates out of range' END, NULL "
            f"FROM {T} WHERE (lat IS NULL) <> (lon IS NULL) OR (lat = 0 AND lon = 0) "
            "OR lat NOT BETWEEN -90 AND 90 OR lon NOT BETWEEN -180 AND 180", [lat_l])
        if extent is not None:
            m = _spatial.EXTENT_MARGIN_DEG
            minx, miny, maxx, maxy = extent
            add(f"SELECT rowid, $1, concat_ws(', ', lat, lon), "
                "'coordinates outside the areas'' extent', NULL "
                f"FROM {T} WHERE lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180 "
                "AND NOT (lat = 0 AND lon = 0) "
                "AND (lat NOT BETWEEN $2 AND $3 OR lon NOT BETWEEN $4 AND $5)",
                [lat_l, miny - m, maxy + m, minx - m, maxx + m])
    for level in sorted(db.AREA_LEVELS, reverse=True):  # districts first, then beats
        if level in spec.names and _n(con, "SELECT count(*) FROM areas WHERE level = $1", [level]):
            src = preset.columns.get(level)
            # Column name from the fixed db.AREA_LEVELS.
            add(f"SELECT rowid, $1, {level}, 'unknown {level} (not in areas)', NULL FROM {T} "
                f"WHERE {level} IS NOT NULL AND {level} NOT IN "
                f"(SELECT area_id FROM areas WHERE level = $2)",
                [src.label() if src else level, level])
    key = ["call_id", "unit_id"] if preset.per_unit else list(spec.key)
    if preset.per_unit:
        # Keys repeat only among calls with several rows; none means no duplicates either.
        con.execute(f"CREATE OR REPLACE TEMP TABLE _ing_multi AS SELECT call_id FROM {T} "
                    "WHERE call_id IS NOT NULL GROUP BY call_id HAVING count(*) > 1")
        if not _n(con, "SELECT count(*) FROM _ing_multi"):
            return
    kcols = ", ".join(ident(k) for k in key)
    knotnull = " AND ".join(f"{ident(k)} IS NOT NULL" for k in key)
    klabel = "+".join((preset.columns[k].label() if k in preset.columns else
                       (preset.unit_column or k)) for k in key)
    add(f"SELECT t.rowid, $1, concat_ws(' | ', {', '.join('t.' + ident(k) for k in key)}), "
        f"'duplicate ' || $2 || ' in file', d.first_rid "
        f"FROM {T} t JOIN (SELECT {kcols}, min(rowid) AS first_rid FROM {T} WHERE {knotnull} "
        f"GROUP BY {kcols} HAVING count(*) > 1) d USING ({kcols}) WHERE t.rowid > d.first_rid",
        [klabel, "+".join(key)])


# -- plausibility and size bounds ---------------------------------------------------------
DEFAULT_EARLIEST = dt.date(1990, 1, 1)
DEFAULT_MAX_DAYS_AHEAD = 1
# Settings keys (table `settings`) that override the defaults for one database.
SETTING_EARLIEST, SETTING_DAYS_AHEAD = "import.earliest_date", "import.max_days_ahead"
MAX_CELL_CHARS = 65_536
# Dates that may lie in the future (a deployment's planned end).
FUTURE_OK = {("deployments", "end_date")}


@dataclass(frozen=True)
class DateBounds:
    """Plausible dates of the events a file describes (inclusive): a CAD export has no
    call before ``earliest`` and none more than ``max_days_ahead`` days after today."""

    earliest: dt.date = DEFAULT_EARLIEST
    max_days_ahead: int = DEFAULT_MAX_DAYS_AHEAD

    @property
    def latest(self) -> dt.date:
        return dt.date.today() + dt.timedelta(days=self.max_days_ahead)


def date_bounds(con: duckdb.DuckDBPyConnection) -> DateBounds:
    """The database's bounds (settings ``import.earliest_date`` = ISO date and
    ``import.max_days_ahead`` = whole days), else 1990-01-01 and one day ahead."""
    rows = dict(con.execute("SELECT key, value FROM settings WHERE key IN ($1, $2)",
                            [SETTING_EARLIEST, SETTING_DAYS_AHEAD]).fetchall())
    try:
        earliest = dt.date.fromisoformat(rows[SETTING_EARLIEST]) \
            if rows.get(SETTING_EARLIEST) else DEFAULT_EARLIEST
        ahead = int(rows[SETTING_DAYS_AHEAD]) if rows.get(SETTING_DAYS_AHEAD) \
            else DEFAULT_MAX_DAYS_AHEAD
    except ValueError as exc:
        raise InputDataError(f"setting {SETTING_EARLIEST} / {SETTING_DAYS_AHEAD} is not a date "
                             f"/ a whole number of days: {exc}") from None
    return DateBounds(earliest, max(ahead, 0))


def _plausibility(con: duckdb.DuckDBPyConnection, spec: TableSpec, preset: Preset,
                  mapped: set[str], add: Callable[..., None]) -> None:
    """Reject dates outside :func:`date_bounds` and text values over MAX_CELL_CHARS."""
    bounds = date_bounds(con)
    lo = dt.datetime.combine(bounds.earliest, dt.time())
    hi = dt.datetime.combine(bounds.latest + dt.timedelta(days=1), dt.time())
    for col in spec.columns:
        if col.name not in mapped:
            continue
        src = preset.columns.get(col.name)
        label = src.label() if src else col.name
        c = ident(col.name)  # canonical names from the fixed SPECS
        if col.kind in ("timestamp", "date"):
            future_ok = (spec.name, col.name) in FUTURE_OK
            reason = (f"implausible date (before {bounds.earliest}" +
                      ("" if future_ok else f" or after {bounds.latest}") +
                      f"; the bounds are the settings {SETTING_EARLIEST} and "
                      f"{SETTING_DAYS_AHEAD})")
            if future_ok:
                add(f"SELECT rowid, $1, CAST({c} AS VARCHAR), $2, NULL FROM {T} WHERE {c} < $3",
                    [label, reason, lo])
            else:
                add(f"SELECT rowid, $1, CAST({c} AS VARCHAR), $2, NULL FROM {T} "
                    f"WHERE {c} < $3 OR {c} >= $4", [label, reason, lo, hi])
        elif col.sql_type == "VARCHAR":
            add(f"SELECT rowid, $1, {c}, $2, NULL FROM {T} WHERE length({c}) > {MAX_CELL_CHARS}",
                [label, f"value longer than {MAX_CELL_CHARS:,} characters"])


def _drop_soft_segments(con: duckdb.DuckDBPyConnection, spec: TableSpec, preset: Preset,
                        mapped: set[str]) -> list[tuple[int, str, str, str]]:
    """Set en route / cleared times that are out of order to missing; keep the row.

    Runs on the rows that passed validation (their received ≤ dispatched ≤ arrived are in
    order). ``enroute_at`` must lie between the latest of received/dispatched and the
    arrival; ``cleared_at`` must not precede any time kept before it. Returns
    (rowid, source column, value, reason) per dropped value, for the report.
    """
    if spec.name not in ("calls", "assignments"):
        return []
    slack_us = int(round(preset.order_tolerance * DURATION_UNITS[preset.duration_unit] * 1e6)) \
        if preset.durations else 0
    out: list[tuple[int, str, str, str]] = []
    for col in SOFT_SEGMENTS:
        if col not in mapped:
            continue
        i = SEGMENT_ORDER.index(col)
        before = [c for c in SEGMENT_ORDER[:i] if c in mapped and c in spec.names]
        after = [c for c in SEGMENT_ORDER[i + 1:] if c in mapped and c in spec.names
                 and c in CORE_SEGMENTS]
        # (condition, reason) per neighbour; column names from the fixed segment lists.
        conds = [(f"{ident(col)} < {ident(b)}" + (f" - to_microseconds({slack_us})" if slack_us else ""),
                  f"{col} before {b}") for b in before]
        conds += [(f"{ident(col)} > {ident(a)}" + (f" + to_microseconds({slack_us})" if slack_us else ""),
                   f"{col} after {a}") for a in after]
        if not conds:
            continue
        label = preset.columns[col].label() if col in preset.columns else \
            "+".join(preset.durations.get(col, (col,)))
        reason = " ".join(f"WHEN {c} THEN $1 || {_sql_lit(r)}" for c, r in conds)
        where = " OR ".join(c for c, _ in conds)
        rows = con.execute(
            f"SELECT rowid, CAST({ident(col)} AS VARCHAR), CASE {reason} END FROM {T} "
            f"WHERE {where}", ["value set to missing, row kept: "]).fetchall()
        if rows:
            out += [(int(r[0]), label, r[1], r[2]) for r in rows]
            con.execute(f"UPDATE {T} SET {ident(col)} = NULL WHERE {where}")
    return out


# Coordinate sanity without boundaries: a point is "far from the bulk" when its distance
# to the file's median point exceeds FAR_FACTOR × the 95th-percentile distance + FAR_PAD_KM
# (robust to a few per cent of mis-geocoded points, which a 0.5-99.5 % box is not).
FAR_FACTOR, FAR_PAD_KM, FAR_MIN_POINTS = 2.0, 5.0, 20


def _far_points(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str, float, float]]:
    """(rowid, "lat, lon", km from the median point, threshold km) of points far from the
    bulk of ``_ing_t`` (see FAR_FACTOR); nothing with fewer than FAR_MIN_POINTS points."""
    # Equirectangular distance in km around the median point: fine at city scale and
    # far beyond it (only needs to say "hundreds of km off").
    dist = ("111.32 * sqrt(power(lat - m_lat, 2) + "
            "power((lon - m_lon) * cos(radians(m_lat)), 2))")
    rows = con.execute(
        f"WITH pts AS (SELECT rowid AS rid, lat, lon FROM {T} WHERE lat BETWEEN -90 AND 90 "
        "AND lon BETWEEN -180 AND 180 AND NOT (lat = 0 AND lon = 0)), "
        "m AS (SELECT median(lat) AS m_lat, median(lon) AS m_lon, count(*) AS n FROM pts), "
        f"d AS (SELECT rid, lat, lon, {dist} AS km FROM pts, m), "
        "t AS (SELECT $1 * quantile_cont(km, 0.95) + $2 AS limit_km FROM d) "
        "SELECT rid, concat_ws(', ', lat, lon), km, limit_km FROM d, t, m "
        "WHERE n >= $3 AND km > limit_km ORDER BY rid",
        [FAR_FACTOR, FAR_PAD_KM, FAR_MIN_POINTS]).fetchall()
    return [(int(r[0]), r[1], float(r[2]), float(r[3])) for r in rows]


OTHER_STATE_WARNING = "with coordinates in another US state than the file's other points (kept; listed)"


def _other_state_points(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str, str, str]]:
    """(rowid, "lat, lon", state, home states) of the points of ``_ing_t`` inside another
    US state than the bulk of the file (``_spatial.other_state_points``)."""
    got = con.execute(f"SELECT rowid AS rid, lat, lon FROM {T} WHERE lat BETWEEN -90 AND 90 "
                      "AND lon BETWEEN -180 AND 180 AND NOT (lat = 0 AND lon = 0)").fetchnumpy()
    lat = np.asarray(got["lat"], dtype=float)
    lon = np.asarray(got["lon"], dtype=float)
    pos, states, home = _spatial.other_state_points(lon, lat)
    rid = np.asarray(got["rid"])
    return [(int(rid[i]), f"{lat[i]}, {lon[i]}", st, " and ".join(home))
            for i, st in zip(pos, states, strict=True)]


def _sql_lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _warnings(con: duckdb.DuckDBPyConnection, spec: TableSpec, preset: Preset,
              mapped: set[str]) -> dict[str, int]:
    """Rows kept but incomplete, counted per reason (over the rows that will be loaded)."""
    w: dict[str, int] = {}
    rules: list[tuple[str, str]] = []
    if spec.name == "calls":
        if "arrived_at" in mapped:
            rules.append(("with no arrival time", "arrived_at IS NULL"))
        if "dispatched_at" in mapped:
            rules.append(("with no dispatch time", "dispatched_at IS NULL"))
    if spec.name in GEO_TABLES:
        rules.append(("with no coordinates", "lat IS NULL"))
        rules.append(("with no beat", "beat IS NULL"))
        rules.append(("with no district", "district IS NULL"))
    if spec.name == "incidents" and {"occurred_at", "reported_at"} <= mapped:
        rules.append(("reported before they occurred", "reported_at < occurred_at"))
    if preset.per_unit and preset.unit_type_column:
        rules.append((f"whose {preset.unit_type_column} value is not in units.type_map (unit "
                      "type from the id rules or the default)", "_unit_mapped IS NULL"))
    if preset.per_unit and (preset.unit_rules or preset.unit_type_column):
        why = ("no type_map value or unit rule matched" if preset.unit_type_column
               else "no unit rule matched")
        rules.append((f"whose unit type came from the default ({why})",
                      "_unit_mapped IS NULL AND _unit_rule IS NULL"))
    if not rules:
        return w
    sel = ", ".join(f"count(*) FILTER (WHERE {cond})" for _, cond in rules)
    counts = con.execute(f"SELECT {sel} FROM {T}").fetchall()[0]
    for (reason, _), n in zip(rules, counts, strict=True):
        if n:
            w[reason] = int(n)
    return w


# -- loading ----------------------------------------------------------------------------
def upsert(con: duckdb.DuckDBPyConnection, spec: TableSpec, source_sql: str,
           *, update: bool = True) -> tuple[int, int, int]:
    """Insert new rows of ``source_sql`` into ``spec.name``, update changed ones.

    Returns (new, updated, unchanged). With ``update=False`` existing keys are left as they
    are (counted unchanged): used for units seen in a CAD export, whose types a units file
    may have set on purpose.
    """
    name, cols = spec.name, spec.names
    collist = ", ".join(ident(c) for c in cols)
    # Table names from the fixed SPECS, column names from the canonical lists.
    if _n(con, f"SELECT count(*) FROM {name}") == 0:
        before = 0
        con.execute(f"INSERT INTO {name} ({collist}) SELECT {collist} FROM ({source_sql})")
        return _n(con, f"SELECT count(*) FROM {name}") - before, 0, 0
    on = " AND ".join(f"n.{ident(k)} = t.{ident(k)}" for k in spec.key)
    kcols = ", ".join(ident(k) for k in spec.key)
    if not _n(con, f"SELECT count(*) FROM (SELECT {kcols} FROM ({source_sql})) n "
                   f"SEMI JOIN {name} t ON {on}"):
        # No key of the file is in the table (an export of later calls): plain insert,
        # no copy of the rows and no column-by-column comparison.
        before = _n(con, f"SELECT count(*) FROM {name}")
        con.execute(f"INSERT INTO {name} ({collist}) SELECT {collist} FROM ({source_sql})")
        return _n(con, f"SELECT count(*) FROM {name}") - before, 0, 0
    same = " AND ".join(f"n.{ident(c)} IS NOT DISTINCT FROM t.{ident(c)}" for c in cols)
    first_key = ident(spec.key[0])
    # One copy of the file's rows, each with whether its key exists and whether it is
    # unchanged (no intermediate copy: at 10M rows every copy costs seconds and GBs).
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _ing_cmp AS SELECT n.*, t.{first_key} IS NOT NULL AS _exists, "
        f"({same}) AS _same FROM (SELECT {collist} FROM ({source_sql})) n LEFT JOIN {name} t ON {on}"
    )
    new, changed, same_n = con.execute(
        "SELECT count(*) FILTER (WHERE NOT _exists), count(*) FILTER (WHERE _exists AND NOT _same),"
        " count(*) FILTER (WHERE _exists AND _same) FROM _ing_cmp").fetchall()[0]
    con.execute(f"INSERT INTO {name} ({collist}) SELECT {collist} FROM _ing_cmp WHERE NOT _exists")
    if not update:
        return int(new), 0, int(changed) + int(same_n)
    if changed:
        # UPDATE … FROM rather than ON CONFLICT: the big event tables have no key index
        # (analytics.db.UNINDEXED_KEYS); key columns themselves are never updated.
        sets = ", ".join(f"{ident(c)} = n.{ident(c)}" for c in cols if c not in spec.key)
        match = " AND ".join(f"n.{ident(k)} = {name}.{ident(k)}" for k in spec.key)
        con.execute(f"UPDATE {name} SET {sets} FROM (SELECT * FROM _ing_cmp "
                    f"WHERE _exists AND NOT _same) n WHERE {match}")
    return int(new), int(changed), int(same_n)


def _primary_sql(con: duckdb.DuckDBPyConnection, p: Preset, has_multi: bool
                 ) -> tuple[str, dict[str, int]]:
    """SQL for ``is_primary`` over ``_ing_t`` (one row per unit per call), and warnings.

    ``first_row``: the call's first row in the file. ``earliest_dispatch``: the row with the
    earliest ``dispatched_at`` (ties and calls with no dispatch time: the first row).
    ``{ column, values }``: the row whose column holds one of the values (a primary flag or
    a dispatch sequence of 1); when several rows of a call match, the first is primary and
    the call is counted; calls with no matching row have no primary unit (counted).
    """
    mode = p.unit_primary_rule.mode
    if mode == "none":
        return "false", {}
    if mode == "first_row":
        return ("rowid = min(rowid) OVER (PARTITION BY call_id)" if has_multi else "true"), {}
    if mode == "earliest_dispatch":
        return ("rowid = arg_min(rowid, (dispatched_at IS NULL, dispatched_at, rowid)) "
                "OVER (PARTITION BY call_id)"), {}
    none_n, many_n = con.execute(
        f"SELECT count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 1) FROM "
        f"(SELECT call_id, count(*) FILTER (WHERE _primary_flag) AS n FROM {T} GROUP BY call_id)"
    ).fetchall()[0]
    col = p.unit_primary_rule.column
    w = {}
    if none_n:
        w[f"calls with no unit row marked primary in {col} (no primary unit)"] = int(none_n)
    if many_n:
        w[f"calls with several unit rows marked primary in {col} (first used)"] = int(many_n)
    return ("_primary_flag AND rowid = min(rowid) FILTER (WHERE _primary_flag) "
            "OVER (PARTITION BY call_id)"), w


def _calls_from_units_sql(has_multi: bool) -> str:
    """One call per call_id from a one-row-per-unit export: the first row's fields, the
    earliest segment times, the latest clear."""
    spec = SPECS["calls"]
    cols = ", ".join(ident(c) for c in spec.names)
    if not has_multi:
        return f"SELECT {cols} FROM {T}"
    aggs = []
    for c in spec.names:
        if c == "call_id":
            continue
        if c in ("received_at", "dispatched_at", "enroute_at", "arrived_at"):
            aggs.append(f"min({ident(c)}) AS {ident(c)}")
        elif c == "cleared_at":
            aggs.append(f"max({ident(c)}) AS {ident(c)}")
        else:
            aggs.append(f"arg_min({ident(c)}, rowid) AS {ident(c)}")
    multi = (f"SELECT call_id, {', '.join(aggs)} FROM {T} WHERE call_id IN "
             f"(SELECT call_id FROM _ing_multi) GROUP BY call_id")
    single = f"SELECT {cols} FROM {T} WHERE call_id NOT IN (SELECT call_id FROM _ing_multi)"
    return f"{single} UNION ALL SELECT {cols} FROM ({multi})"


def _write_rejects_csv(path: Path, rejects: list[Reject]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "row", "column", "value", "reason"])
        for r in rejects:  # rejected rows only (a report, not the data)
            w.writerow([r.file, r.row, r.column or "", r.value or "", r.reason])


def _clip(v: str | None) -> str | None:
    if v is None or len(v) <= MAX_VALUE_CHARS:
        return v
    return v[:MAX_VALUE_CHARS] + f"… ({len(v):,} characters)"


def rejects_file_name(con: duckdb.DuckDBPyConnection, import_id: int | None, file: str) -> str:
    """``<db>_import_0001_<file>.csv``: named after the database and the import, so the
    reports of several databases sharing a folder never overwrite each other."""
    path = db.scalar(con, "SELECT path FROM duckdb_databases() "
                          "WHERE database_name = current_database()")
    stem = Path(str(path)).stem if path else "memory"
    return f"{stem}_import_{int(import_id or 0):04d}_{Path(file).stem}.csv"


def rejects_dir_for(con_path: Path | None) -> Path | None:
    """Where reject reports go: ``rejects/`` next to the database file."""
    return None if con_path is None else con_path.parent / "rejects"


def import_file(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: str | Path,
    *,
    preset: str | Preset | None = None,
    preset_file: str | Path | None = None,
    rejects_dir: str | Path | None = None,
    progress: Progress | None = None,
    force: bool = False,
    refresh: bool = True,
    display_name: str | None = None,
    replace_all: bool = False,
) -> ImportResult:
    """Import one file into canonical ``table`` in a single transaction.

    Parameters
    ----------
    con
        Open read-write connection (or cursor).
    table
        One of ``calls, assignments, units, staffing, activities, incidents, areas,
        deployments, call_types``.
    path
        CSV/TSV/TXT, .xlsx, .parquet (or .geojson for ``areas``).
    preset, preset_file
        A shipped preset name, a :class:`Preset`, or a TOML file; default ``canonical``.
    rejects_dir
        Folder for the rejects CSV (``None``: no CSV, rejects still in ``import_rejects``).
    force
        Import even when this exact file (checksum) was imported before.
    refresh
        Rebuild the derived tables (``call_facts``) after loading.
    replace_all
        Delete the table's rows first (same transaction): for small reference tables
        edited as a whole (deployments, the call-type crosswalk).

    Raises
    ------
    InputDataError
        The file cannot be imported at all (unreadable, empty, a required column is
        missing); the database is unchanged.
    """
    with _IMPORT_LOCK:
        try:
            return _import_file(con, table, path, preset=preset, preset_file=preset_file,
                                rejects_dir=rejects_dir, progress=progress, force=force,
                                refresh=refresh, display_name=display_name,
                                replace_all=replace_all)
        except (duckdb.IOException, duckdb.FatalException, OSError) as exc:
            # Disk full, file-size limit, read-only file system: the transaction has been
            # rolled back; say so in one line (no path of the server's temp files).
            db.reclaim_space(con)
            raise DatabaseError(db.storage_problem(exc)) from exc
        except BaseException:
            db.reclaim_space(con)  # the rolled-back rows' blocks
            raise


def _import_file(
    con: duckdb.DuckDBPyConnection, table: str, path: str | Path, *,
    preset: str | Preset | None, preset_file: str | Path | None,
    rejects_dir: str | Path | None, progress: Progress | None, force: bool, refresh: bool,
    display_name: str | None, replace_all: bool,
) -> ImportResult:
    t0 = time.perf_counter()
    progress = progress or _nop
    if table not in TABLE_NAMES:
        raise InputDataError(f"unknown table {table!r}; choose one of {', '.join(TABLE_NAMES)}")
    path = Path(path)
    file = display_name or path.name
    p = resolve_preset(table, preset, preset_file)
    if p.table != table and p.name != "canonical":
        raise InputDataError(f"preset {p.name} is for table {p.table}, not {table}", file=file)
    if not path.is_file():
        raise InputDataError("file not found or not a file", file=str(path))
    if table != "areas":
        p = with_department_zone(con, p, file)
    checksum_job = _readers.Checksum(path)
    if table == "areas" and _readers.detect_format(path, p) == "geojson":
        return _import_areas(con, path, p, checksum_job, rejects_dir, progress, file, force, t0)
    progress(0.02, "reading the file")
    stage = _readers.stage_file(con, path, p)
    try:
        checksum = checksum_job.result()
        prev = _previous_import(con, checksum, table, p.name)
        if prev is not None and not force and not replace_all:
            with db.transaction(con):
                _ensure_tables(con)
                return _record_repeat(con, table, file, checksum, p, prev, t0)
        # Phase 1, outside the transaction: temporary tables only (private to this
        # connection), so nothing persistent changes if reading or checking fails.
        staged = _stage_rows(con, table, stage, p, file, progress)
        # Phase 2: every persistent change in one transaction.
        progress(0.7, "loading")
        # Row order inside the canonical tables carries no meaning: let DuckDB insert in
        # parallel (file order was needed only for row numbers, now assigned).
        try:
            with db.unordered_writes(con), db.transaction(con):
                _ensure_tables(con)
                if replace_all:
                    if table == "call_types":
                        con.execute("CREATE OR REPLACE TEMP TABLE _ing_ct_old AS "
                                    "SELECT * FROM call_types")
                    con.execute(f"DELETE FROM {table}")  # table name checked against TABLE_NAMES
                result = _load_rows(con, table, p, file, checksum, staged)
                no_facts = not _n(con, "SELECT count(*) FROM duckdb_tables() "
                                       "WHERE table_name = 'call_facts'")
                if refresh and (no_facts or table in ("calls", "assignments", "units",
                                                      "call_types")):
                    progress(0.9, "updating derived tables")
                    facts.refresh_derived(
                        con, None if no_facts or replace_all else _changed_calls_sql(table, result))
        except duckdb.ConstraintException as exc:
            # Validation mirrors the schema's constraints; if one still fires, refuse the file
            # (the transaction has been rolled back).
            raise InputDataError(f"a row breaks a rule of the {table} table: "
                                 f"{str(exc).splitlines()[0]}", file=file) from None
    finally:
        _readers.release(con, stage)
        _drop_temps(con)
    rejects_path = None
    if (result.rejects or result.flagged_values) and rejects_dir is not None:
        # Rejected rows, then values set to missing in kept rows (their reason says so).
        rejects_path = Path(rejects_dir) / rejects_file_name(con, result.import_id, file)
        _write_rejects_csv(rejects_path, [*result.rejects, *result.flagged_values])
    progress(1.0, "done")
    return replace(result, rejects_path=str(rejects_path) if rejects_path else None,
                   seconds=time.perf_counter() - t0)


def _changed_calls_sql(table: str, result: ImportResult) -> str | None:
    """Calls whose ``call_facts`` row this import may have changed (a superset: every call
    of the file), for an incremental refresh; None when a full rebuild is needed."""
    if table not in ("calls", "assignments"):
        return None  # unit types and the crosswalk reach many calls
    if result.also.get("units", (0, 0, 0))[0]:
        return None  # a new unit may type assignments loaded before it
    counts = [(result.rows_loaded, result.rows_updated), *((n, u) for n, u, _ in result.also.values())]
    if not any(n or u for n, u in counts):
        return "SELECT CAST(NULL AS VARCHAR) AS call_id WHERE false"  # nothing changed
    return f"SELECT call_id FROM {T}"  # the staged rows that were loaded (rejects removed)


@dataclass(frozen=True)
class CheckResult:
    """A dry run: what an import of the file would reject and warn about (nothing loaded)."""

    file: str
    rows_read: int
    rows_rejected: int
    rejects: tuple[Reject, ...]
    warnings: dict[str, int]
    rows_filtered: int = 0  # left out by the preset's [filter]: not rejects
    flagged_values: tuple[Reject, ...] = ()  # flagged values of kept rows


def check_file(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: str | Path,
    *,
    preset: str | Preset | None = None,
    preset_file: str | Path | None = None,
    display_name: str | None = None,
) -> CheckResult:
    """Validate a file exactly as :func:`import_file` would, without loading anything."""
    path = Path(path)
    file = display_name or path.name
    p = resolve_preset(table, preset, preset_file)
    if table == "areas":
        rows, rej = _spatial.areas_from_geojson(path, p)
        rejects = tuple(Reject(file, r, c, _clip(v), reason) for r, c, v, reason in rej)
        return CheckResult(file, len(rows) + len(rej), len(rej), rejects, {})
    p = with_department_zone(con, p, file)
    stage = _readers.stage_file(con, path, p)
    try:
        st = _stage_rows(con, table, stage, p, file, _nop)
    finally:
        _readers.release(con, stage)
        _drop_temps(con)
    return CheckResult(file, st.n_rows, st.n_rejected, tuple(st.rejects), st.warnings,
                       st.n_filtered, tuple(st.dropped))


def import_frame(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: object,
    *,
    name: str = "edited table",
    replace_all: bool = False,
    workdir: str | Path | None = None,
) -> ImportResult:
    """Import a small table edited in the app (a pandas DataFrame with canonical columns).

    The frame goes through the same validation and bookkeeping as a file (written to a
    temporary CSV in ``workdir``), so an edited crosswalk or deployment list is checked
    like an uploaded one.
    """
    import tempfile

    import pandas as pd

    df = pd.DataFrame(frame)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / f"{table}.csv"
        df.to_csv(path, index=False, date_format="%Y-%m-%d")
        return import_file(con, table, path, preset="canonical", display_name=name,
                           replace_all=replace_all, force=True)


def _previous_import(con: duckdb.DuckDBPyConnection, checksum: str, table: str,
                     preset: str) -> int | None:
    prev = db.scalar(con, "SELECT max(import_id) FROM imports WHERE checksum = $1 AND "
                          "table_name = $2 AND coalesce(preset, '') = $3",
                     [checksum, table, preset])
    return None if prev is None else int(prev)


def _drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    for t in ("_ing_t", "_ing_rej", "_ing_cmp", "_ing_multi", "_ing_ct_old",
              "_ing_located",
              "_ing_rej_errors", "_ing_rej_scans"):
        con.execute(f"DROP TABLE IF EXISTS {t}")  # fixed names


def _next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    return _n(con, "SELECT coalesce(max(import_id), 0) + 1 FROM imports")


def _record_repeat(con: duckdb.DuckDBPyConnection, table: str, file: str, checksum: str,
                   p: Preset, prev: int, t0: float) -> ImportResult:
    rows_read = _n(con, "SELECT rows_read FROM imports WHERE import_id = $1", [prev])
    rejected = _n(con, "SELECT rows_rejected FROM imports WHERE import_id = $1", [prev])
    filtered = _n(con, "SELECT coalesce(rows_filtered, 0) FROM imports WHERE import_id = $1",
                  [prev])
    iid = _next_import_id(con)
    con.execute(
        "INSERT INTO imports (import_id, table_name, file_name, checksum, preset, rows_read, "
        "rows_loaded, rows_updated, rows_unchanged, rows_rejected, note, rows_filtered) "
        "VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, $8, $9, $10)",
        [iid, table, file, checksum, p.name, rows_read, rows_read - rejected - filtered,
         rejected, f"identical to import #{prev}; nothing added", filtered],
    )
    return ImportResult(iid, table, file, checksum, p.name, rows_read, 0, 0,
                        rows_read - rejected - filtered, rejected, rows_filtered=filtered,
                        already_imported=True, seconds=time.perf_counter() - t0)


@dataclass
class _Staged:
    n_rows: int
    rejects: list[Reject]
    n_rejected: int
    warnings: dict[str, int]
    n_filtered: int = 0
    dropped: list[Reject] = field(default_factory=list)  # values set to missing, rows kept


def _stage_rows(con: duckdb.DuckDBPyConnection, table: str, stage: _readers.RawStage,
                p: Preset, file: str, progress: Progress) -> _Staged:
    """Scan, type, spatially join and validate into ``_ing_t`` (rejected rows removed)."""
    spec = SPECS[table]
    p = p.fit_to_header(stage.columns, spec.required)
    _check_header(stage, spec, p, file)
    progress(0.1, "reading and converting")
    plan = _typed_scan(con, stage, spec, p) if FAST_READER else None
    if plan is None:
        plan = build_plan(spec, p)
        params = {**plan.params.values, **stage.params}
        select = plan.stage_select()
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {T} AS SELECT {select} "
                        f"FROM {plan.from_sql(stage.source_sql)}", params)
        except duckdb.Error as exc:
            if stage.format != "csv" or stage.clean_dir is not None:
                raise InputDataError(_readers._reader_message(
                    exc, stage.delimiter or "", stage.encoding or ""), file=file) from None
            log.info("strict CSV scan failed (%s); splitting records one by one", exc)
            _readers.repair(con, stage, p)  # broken records become row rejects
            try:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {T} AS SELECT {select} "
                            f"FROM {plan.from_sql(stage.source_sql)}",
                            {**plan.params.values, **stage.params})
            except duckdb.Error as exc2:
                raise InputDataError(_readers._reader_message(
                    exc2, stage.delimiter or "", stage.encoding or ""), file=file) from None
    _readers.collect_reader_rejects(con, stage, p.skip_rows)
    base, n_good = con.execute(f"SELECT coalesce(min(rowid), 0), count(*) FROM {T}").fetchall()[0]
    n_rows = int(n_good) + len(stage.reader_rejects)
    if n_rows == 0:
        raise InputDataError("the file has a header but no data rows", file=file,
                             row=stage.first_row)
    n_filtered = 0
    if p.keep or p.drop:
        # Left out by the preset's [filter] (e.g. fire and EMS rows of a mixed-agency
        # export): counted, never validated or reported as rejects. Row numbers stay right:
        # `base` was taken above and rowids do not move on DELETE.
        n_filtered = _n(con, f"SELECT count(*) FROM {T} WHERE NOT _keep")
        if n_filtered:
            con.execute(f"DELETE FROM {T} WHERE NOT _keep")
    warnings: dict[str, int] = {}
    spatial = False
    if table in GEO_TABLES:
        progress(0.45, "assigning beats from coordinates")
        con.execute("DROP TABLE IF EXISTS _ing_located")
        located, outside = _spatial.fill_beats(con, T)
        spatial = bool(located or outside)
        if "district" in spec.names and _n(con, "SELECT count(*) FROM areas WHERE level = 'beat' "
                                                "AND parent_id IS NOT NULL"):
            # District from the beat's parent area where the file gives none.
            con.execute(f"UPDATE {T} SET district = a.parent_id FROM areas a WHERE "
                        f"{T}.district IS NULL AND a.level = 'beat' AND a.area_id = {T}.beat "
                        "AND a.parent_id IS NOT NULL")
    progress(0.55, "validating")
    extent = _spatial.areas_extent(con) if table in GEO_TABLES else None
    _validate(con, spec, p, [(c.column, c.reason) for c in plan.checks], plan.mapped, extent)
    rows = con.execute('SELECT rid, "column", value, reason, ref FROM _ing_rej ORDER BY rid, reason'
                       ).fetchall()
    ords = [int(r[0]) - base for r in rows] + [int(r[4]) - base for r in rows if r[4] is not None]
    fr = dict(zip(ords, stage.file_rows(ords), strict=True))
    rejects = [Reject(file, ln, c, _clip(v), reason)
               for ln, c, v, reason in stage.reader_rejects]
    for rid, c, v, reason, ref in rows:
        if ref is not None:
            reason = f"{reason} (first at row {fr[int(ref) - base]})"
        rejects.append(Reject(file, fr[int(rid) - base], c, _clip(v), reason))
    rejects.sort(key=lambda r: r.row)
    if rows:
        con.execute(f"DELETE FROM {T} WHERE rowid IN (SELECT rid FROM _ing_rej)")
    soft = _drop_soft_segments(con, spec, p, plan.mapped)
    dropped = []
    if soft:
        sfr = dict(zip([r[0] - base for r in soft], stage.file_rows([r[0] - base for r in soft]),
                       strict=True))
        dropped = sorted((Reject(file, sfr[rid - base], c, _clip(v), reason)
                          for rid, c, v, reason in soft), key=lambda r: r.row)
        for r in dropped:
            key = "with a value set to missing (" + r.reason.split(": ", 1)[1] + ")"
            warnings[key] = warnings.get(key, 0) + 1
    if table in GEO_TABLES and extent is None and {"lat", "lon"} <= plan.mapped:
        far = _far_points(con)
        if far:
            lat_l = p.columns["lat"].label() if "lat" in p.columns else "lat"
            ffr = dict(zip([r[0] - base for r in far], stage.file_rows([r[0] - base for r in far]),
                           strict=True))
            dropped += [Reject(file, ffr[rid - base], lat_l, v,
                               f"coordinates kept but far from the file's other points: {km:,.0f} "
                               f"km from their median point (limit {lim:,.0f} km); check the "
                               "geocoding") for rid, v, km, lim in far]
            dropped.sort(key=lambda r: r.row)
            warnings["with coordinates far from the file's other points (kept; listed)"] = len(far)
        other = _other_state_points(con)
        if other:
            lat_l = p.columns["lat"].label() if "lat" in p.columns else "lat"
            ofr = dict(zip([r[0] - base for r in other],
                           stage.file_rows([r[0] - base for r in other]), strict=True))
            dropped += [Reject(file, ofr[rid - base], lat_l, v,
                               f"coordinates kept but in {state}, another state than the "
                               f"file's other points ({home}); check the geocoding")
                        for rid, v, state, home in other]
            dropped.sort(key=lambda r: r.row)
            warnings[OTHER_STATE_WARNING] = len(other)
    warnings.update(_warnings(con, spec, p, plan.mapped))
    if plan.notes:
        sel = ", ".join(f"count(*) FILTER (WHERE _note{i})" for i in range(len(plan.notes)))
        for (reason, _), n in zip(plan.notes, con.execute(f"SELECT {sel} FROM {T}").fetchall()[0],
                                  strict=True):
            if n:
                warnings[reason] = warnings.get(reason, 0) + int(n)
    if spatial:
        # Counted over the rows that are kept (rejected rows are reported, not warned about).
        if _n(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_ing_located'"):
            n = _n(con, f"SELECT count(*) FROM _ing_located WHERE rid IN (SELECT rowid FROM {T})")
            if n:
                warnings["with beat and district assigned from coordinates"] = n
        n = _n(con, f"SELECT count(*) FROM {T} WHERE beat IS NULL AND lat BETWEEN -90 AND 90 "
                    "AND lon BETWEEN -180 AND 180")
        if n:
            warnings["with coordinates outside every beat polygon"] = n
    return _Staged(n_rows, rejects, len({r.row for r in rejects}), warnings, n_filtered,
                   dropped)


def _typed_scan(con: duckdb.DuckDBPyConnection, stage: _readers.RawStage, spec: TableSpec,
                p: Preset) -> Plan | None:
    """Stage ``_ing_t`` with the CSV reader typing timestamps and numbers itself.

    The fast path for clean files (:func:`analytics.ingest._transform.reader_types`):
    returns the plan used, or None when the file does not qualify or a value does not
    parse — then the caller stages it on the text path, which reports every bad value.
    A probe of the first rows first keeps a file that fails early from costing a scan.
    """
    types, fmt = reader_types(spec, p, stage.columns)
    typed = stage.typed_source(types, fmt) if types else None
    if typed is None:
        return None
    source_sql, src_params = typed
    plan = build_plan(spec, p, types)
    try:
        con.execute(f"SELECT count(*) FROM (SELECT * FROM ({source_sql}) LIMIT {PROBE_ROWS})",
                    src_params).fetchall()
        con.execute(f"CREATE OR REPLACE TEMP TABLE {T} AS SELECT {plan.stage_select()} "
                    f"FROM {plan.from_sql(source_sql)}", {**plan.params.values, **src_params})
    except duckdb.Error as exc:
        log.info("typed CSV scan failed (%s); staging on the text path", str(exc).splitlines()[0])
        con.execute(f"DROP TABLE IF EXISTS {T}")
        return None
    return plan


def _load_rows(con: duckdb.DuckDBPyConnection, table: str, p: Preset, file: str,
               checksum: str, st: _Staged) -> ImportResult:
    """Upsert the staged rows into the canonical table(s) and record the import."""
    spec = SPECS[table]
    warnings = dict(st.warnings)
    also: dict[str, tuple[int, int, int]] = {}
    if p.per_unit:
        has_multi = _n(con, "SELECT count(*) FROM _ing_multi") > 0
        if has_multi:
            # _ing_multi was built during validation, before rejected rows were removed.
            con.execute("DELETE FROM _ing_multi WHERE call_id NOT IN (SELECT call_id FROM "
                        f"{T} GROUP BY call_id HAVING count(*) > 1)")
            has_multi = _n(con, "SELECT count(*) FROM _ing_multi") > 0
        if has_multi:
            differ = _n(con, f"SELECT count(*) FROM (SELECT call_id FROM {T} WHERE call_id IN "
                             "(SELECT call_id FROM _ing_multi) GROUP BY call_id HAVING "
                             "count(DISTINCT (received_at, call_type, priority)) > 1)")
            if differ:
                warnings["calls whose unit rows disagree on time, type or priority "
                         "(first row used)"] = differ
        loaded, updated, unchanged = upsert(con, spec, _calls_from_units_sql(has_multi))
        primary, primary_warnings = _primary_sql(con, p, has_multi)
        warnings.update(primary_warnings)
        a = upsert(con, SPECS["assignments"],
                   f"SELECT call_id, unit_id, dispatched_at, enroute_at, arrived_at, cleared_at, "
                   f"{primary} AS is_primary FROM {T}")
        u = upsert(con, SPECS["units"],
                   f"SELECT unit_id, arg_min(_unit_type, rowid) AS unit_type, "
                   f"CAST(NULL AS VARCHAR) AS home_district FROM {T} GROUP BY unit_id",
                   update=False)
        also = {"assignments": a, "units": u}
    else:
        cols = ", ".join(ident(c) for c in spec.names)
        if table == "call_types" and not _n(
                con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_ing_ct_old'"):
            con.execute("CREATE OR REPLACE TEMP TABLE _ing_ct_old AS SELECT * FROM call_types")
        loaded, updated, unchanged = upsert(con, spec, f"SELECT {cols} FROM {T}")
        if table == "call_types":
            _record_call_type_history(con, file)
    iid = _next_import_id(con)
    note = "; ".join(f"{t}: {n} new, {u_} updated, {s} unchanged" for t, (n, u_, s) in also.items())
    con.execute(
        "INSERT INTO imports (import_id, table_name, file_name, checksum, preset, rows_read, "
        "rows_loaded, rows_updated, rows_unchanged, rows_rejected, note, rows_filtered) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        [iid, table, file, checksum, p.name, st.n_rows, loaded, updated, unchanged,
         st.n_rejected, note or None, st.n_filtered],
    )
    if st.rejects:
        con.executemany("INSERT INTO import_rejects VALUES ($1, $2, $3, $4, $5, $6)",
                        [[iid, r.file, r.row, r.column, r.value, r.reason] for r in st.rejects])
    if warnings:
        con.executemany("INSERT INTO import_warnings VALUES ($1, $2, $3)",
                        [[iid, k, v] for k, v in warnings.items()])
    if st.dropped:
        con.executemany("INSERT INTO import_flagged_values VALUES ($1, $2, $3, $4, $5, $6)",
                        [[iid, r.file, r.row, r.column, r.value, r.reason] for r in st.dropped])
    _mark_real(con, loaded + updated)
    if p.store_utc and not db.department_timezone(con) and (loaded or updated):
        db.set_department_timezone(con, p.store_timezone)  # the first import sets it
    return ImportResult(iid, table, file, checksum, p.name, st.n_rows, loaded, updated,
                        unchanged, st.n_rejected, tuple(st.rejects), st.n_filtered, warnings,
                        also, flagged_values=tuple(st.dropped))


def _mark_real(con: duckdb.DuckDBPyConnection, n_changed: int) -> None:
    """An empty (``init``) database holds real data after its first import that adds rows;
    a demo database stays ``demo`` (its synthetic rows are still there)."""
    if n_changed and db.database_kind(con) != "demo":
        db.set_database_kind(con, "real")


def _record_call_type_history(con: duckdb.DuckDBPyConnection, file: str) -> None:
    """Record every crosswalk field this import changed in ``call_type_history``.

    Needs ``_ing_ct_old`` (the rows as they were before the upsert).
    """
    version = _n(con, "SELECT coalesce(max(version), 0) + 1 FROM call_type_history")
    fields = ("description", "category", "cso_tier", "sensitive")
    # Field names come from the fixed tuple above.
    sel = " UNION ALL ".join(
        f"SELECT n.call_type, '{f}' AS field, CAST(o.{f} AS VARCHAR) AS old_value, "
        f"CAST(n.{f} AS VARCHAR) AS new_value FROM {T} n LEFT JOIN _ing_ct_old o "
        f"USING (call_type) WHERE o.call_type IS NULL OR n.{f} IS DISTINCT FROM o.{f}"
        for f in fields)
    con.execute(
        f"INSERT INTO call_type_history SELECT $1, now()::TIMESTAMP, $2, call_type, field, "
        f"old_value, new_value FROM ({sel})",
        [version, f"import:{file}"],
    )
    con.execute("DROP TABLE IF EXISTS _ing_ct_old")


def _import_areas(con: duckdb.DuckDBPyConnection, path: Path, p: Preset,
                  checksum_job: _readers.Checksum, rejects_dir: str | Path | None,
                  progress: Progress, file: str, force: bool, t0: float) -> ImportResult:
    import pyarrow as pa

    progress(0.1, "reading boundaries")
    rows, rej = _spatial.areas_from_geojson(path, p)
    with db.transaction(con):
        _ensure_tables(con)
        checksum = checksum_job.result()
        prev = db.scalar(con, "SELECT max(import_id) FROM imports WHERE checksum = $1 AND "
                              "table_name = 'areas' AND coalesce(preset, '') = $2",
                         [checksum, p.name])
        if prev is not None and not force:
            return _record_repeat(con, "areas", file, checksum, p, int(prev), t0)
        spec = SPECS["areas"]
        tbl = pa.table({c: pa.array([r[c] for r in rows],
                                    pa.int64() if c == "population" else pa.string())
                        for c in spec.names})
        con.register("_ing_areas", tbl)
        try:
            loaded, updated, unchanged = upsert(
                con, spec, "SELECT area_id, level, name, parent_id, geometry, "
                           "CAST(population AS INTEGER) AS population FROM _ing_areas")
        finally:
            con.unregister("_ing_areas")
        iid = _next_import_id(con)
        n_feat = len(rows) - sum(1 for r in rows if r["level"] == p.area_parent_level
                                 and p.area_parent_level)
        n_read = n_feat + len(rej)
        con.execute(
            "INSERT INTO imports (import_id, table_name, file_name, checksum, preset, rows_read, "
            "rows_loaded, rows_updated, rows_unchanged, rows_rejected, note) "
            "VALUES ($1, 'areas', $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            [iid, file, checksum, p.name, n_read, loaded, updated, unchanged, len(rej),
             f"{len(rows) - n_feat} parent areas built from children" if len(rows) > n_feat else None],
        )
        _mark_real(con, loaded + updated)
        rejects = [Reject(file, r, c, _clip(v), reason) for r, c, v, reason in rej]
        if rejects:
            con.executemany("INSERT INTO import_rejects VALUES ($1, $2, $3, $4, $5, $6)",
                            [[iid, r.file, r.row, r.column, r.value, r.reason] for r in rejects])
        _drop_temps(con)
    rejects_path = None
    if rejects and rejects_dir is not None:
        rejects_path = Path(rejects_dir) / rejects_file_name(con, iid, file)
        _write_rejects_csv(rejects_path, rejects)
    progress(1.0, "done")
    return ImportResult(iid, "areas", file, checksum, p.name, n_read, loaded, updated, unchanged,
                        len(rej), tuple(rejects),
                        rejects_path=str(rejects_path) if rejects_path else None,
                        seconds=time.perf_counter() - t0)
