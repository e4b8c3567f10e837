"""The canonical DuckDB store: schema, connection, Ibis backend.

Every source format is mapped into the tables of PRODUCT.md section 2; every metric reads
only from them (and from the derived tables built by :mod:`analytics.facts`).

The database file defaults to ``data/cso.duckdb`` in the project, overridable with the
``CSO_DB`` environment variable or the ``--db`` CLI option.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb

from analytics.core import options
from analytics.errors import DatabaseError

# The small per day × area table built by analytics.facts; named here, below every module
# that reads it (analytics.core.treatment reads it and analytics.facts imports treatment).
AREA_DAY_TABLE = "area_day_facts"

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "cso.duckdb"
SCHEMA_VERSION = 3  # 3: event times are UTC instants when settings.timezone is set

UnitType = Literal["sworn", "cso", "other"]
UNIT_TYPES: tuple[UnitType, ...] = options.choices(UnitType)
CSO_TIERS = ("cso_only", "cso_with_backup", "co_response", "sworn_only")
AreaLevel = Literal["beat", "district"]
AREA_LEVELS: tuple[AreaLevel, ...] = options.choices(AreaLevel)
ACTIVITY_TYPES = (
    "foot_patrol",
    "vehicle_patrol",
    "traffic_control",
    "community_event",
    "outreach_referral",
    "nuisance_abatement",
    "report_writing",
    "evidence",
    "other",
)
OFFENSE_CATEGORIES = ("violent", "property", "quality_of_life", "other")


def _in(values: tuple[str, ...]) -> str:
    # Identifiers and literals from the fixed tuples above only, never user input.
    return ", ".join(f"'{v}'" for v in values)


# Table name -> CREATE statement. Order matters only for readability (no foreign keys:
# real exports reference units and areas that are not in the boundary file, and the
# importer reports those instead of refusing the whole file).
TABLES: dict[str, str] = {
    "schema_version": """
        CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER PRIMARY KEY,
            applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            note VARCHAR
        )""",
    "areas": f"""
        CREATE TABLE IF NOT EXISTS areas (
            area_id VARCHAR PRIMARY KEY,
            level VARCHAR NOT NULL CHECK (level IN ({_in(AREA_LEVELS)})),
            name VARCHAR,
            parent_id VARCHAR,
            geometry VARCHAR,            -- GeoJSON geometry object (lon/lat, WGS84)
            population INTEGER CHECK (population IS NULL OR population >= 0)
        )""",
    "call_types": f"""
        CREATE TABLE IF NOT EXISTS call_types (
            call_type VARCHAR PRIMARY KEY,
            description VARCHAR,
            category VARCHAR,
            cso_tier VARCHAR NOT NULL CHECK (cso_tier IN ({_in(CSO_TIERS)})),
            sensitive BOOLEAN NOT NULL DEFAULT false
        )""",
    # Every change to the crosswalk: who, when, what (old and new value of each field).
    "call_type_history": """
        CREATE TABLE IF NOT EXISTS call_type_history (
            version INTEGER NOT NULL,
            changed_at TIMESTAMP NOT NULL,
            changed_by VARCHAR NOT NULL,
            call_type VARCHAR NOT NULL,
            field VARCHAR NOT NULL,
            old_value VARCHAR,
            new_value VARCHAR,
            PRIMARY KEY (version, call_type, field)
        )""",
    "units": f"""
        CREATE TABLE IF NOT EXISTS units (
            unit_id VARCHAR PRIMARY KEY,
            unit_type VARCHAR NOT NULL CHECK (unit_type IN ({_in(UNIT_TYPES)})),
            home_district VARCHAR
        )""",
    "calls": """
        CREATE TABLE IF NOT EXISTS calls (
            call_id VARCHAR NOT NULL,    -- unique; kept so by the importer (UNINDEXED_KEYS)
            received_at TIMESTAMP NOT NULL,
            dispatched_at TIMESTAMP,     -- first unit dispatched
            enroute_at TIMESTAMP,
            arrived_at TIMESTAMP,        -- first unit on scene
            cleared_at TIMESTAMP,
            call_type VARCHAR,           -- final call type
            call_type_initial VARCHAR,
            priority SMALLINT,           -- 1 = most urgent
            source VARCHAR,              -- 911, non_emergency, online, officer_initiated, ...
            self_initiated BOOLEAN NOT NULL DEFAULT false,
            disposition VARCHAR,
            district VARCHAR,
            beat VARCHAR,
            lat DOUBLE,
            lon DOUBLE
        )""",
    "assignments": """
        CREATE TABLE IF NOT EXISTS assignments (
            call_id VARCHAR NOT NULL,
            unit_id VARCHAR NOT NULL,
            dispatched_at TIMESTAMP,
            enroute_at TIMESTAMP,
            arrived_at TIMESTAMP,
            cleared_at TIMESTAMP,
            is_primary BOOLEAN NOT NULL DEFAULT false
            -- (call_id, unit_id) unique; kept so by the importer (UNINDEXED_KEYS)
        )""",
    "staffing": f"""
        CREATE TABLE IF NOT EXISTS staffing (
            date DATE NOT NULL,
            hour SMALLINT NOT NULL CHECK (hour BETWEEN 0 AND 23),
            district VARCHAR NOT NULL,
            unit_type VARCHAR NOT NULL CHECK (unit_type IN ({_in(UNIT_TYPES)})),
            on_duty_hours DOUBLE NOT NULL CHECK (on_duty_hours >= 0),
            PRIMARY KEY (date, hour, district, unit_type)
        )""",
    "incidents": """
        CREATE TABLE IF NOT EXISTS incidents (
            incident_id VARCHAR NOT NULL,  -- unique; kept so by the importer (UNINDEXED_KEYS)
            occurred_at TIMESTAMP,
            reported_at TIMESTAMP,
            offense VARCHAR,
            offense_category VARCHAR,    -- violent / property / quality_of_life / other
            district VARCHAR,
            beat VARCHAR,
            lat DOUBLE,
            lon DOUBLE
        )""",
    "deployments": """
        CREATE TABLE IF NOT EXISTS deployments (
            area_id VARCHAR NOT NULL,
            start_date DATE NOT NULL,
            end_date DATE,
            cso_count INTEGER,
            note VARCHAR,
            PRIMARY KEY (area_id, start_date),
            CHECK (end_date IS NULL OR end_date >= start_date)
        )""",
    "activities": f"""
        CREATE TABLE IF NOT EXISTS activities (
            activity_id VARCHAR PRIMARY KEY,
            unit_id VARCHAR,
            activity_type VARCHAR NOT NULL CHECK (activity_type IN ({_in(ACTIVITY_TYPES)})),
            started_at TIMESTAMP NOT NULL,
            ended_at TIMESTAMP,
            district VARCHAR,
            beat VARCHAR,
            lat DOUBLE,
            lon DOUBLE,
            contacts INTEGER
        )""",
    "imports": """
        CREATE TABLE IF NOT EXISTS imports (
            import_id INTEGER PRIMARY KEY,
            table_name VARCHAR NOT NULL,
            file_name VARCHAR NOT NULL,
            checksum VARCHAR NOT NULL,   -- sha256 of the file bytes
            preset VARCHAR,
            rows_read BIGINT NOT NULL,
            rows_loaded BIGINT NOT NULL, -- new rows inserted
            rows_updated BIGINT NOT NULL DEFAULT 0,
            rows_unchanged BIGINT NOT NULL DEFAULT 0,
            rows_rejected BIGINT NOT NULL,
            imported_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            rows_filtered BIGINT NOT NULL DEFAULT 0, -- left out by the preset's [filter]
            note VARCHAR
        )""",
    # Every rejected row of every import: where (file, 1-based row, column), what, why.
    "import_rejects": """
        CREATE TABLE IF NOT EXISTS import_rejects (
            import_id INTEGER NOT NULL,
            file_name VARCHAR NOT NULL,
            "row" BIGINT,
            "column" VARCHAR,
            value VARCHAR,
            reason VARCHAR NOT NULL
        )""",
    # Values flagged in rows that were kept: set to missing (an en route or cleared time
    # out of order) or kept (coordinates far from the file's other points): where, what,
    # why — listed like rejects, but the row was loaded.
    "import_flagged_values": """
        CREATE TABLE IF NOT EXISTS import_flagged_values (
            import_id INTEGER NOT NULL,
            file_name VARCHAR NOT NULL,
            "row" BIGINT,
            "column" VARCHAR,
            value VARCHAR,
            reason VARCHAR NOT NULL
        )""",
    # Rows loaded with a warning (e.g. no arrival time), counted per reason.
    "import_warnings": """
        CREATE TABLE IF NOT EXISTS import_warnings (
            import_id INTEGER NOT NULL,
            reason VARCHAR NOT NULL,
            n_rows BIGINT NOT NULL
        )""",
    # Command-staff goals for KPI cards (e.g. p1_median_total_min <= 7).
    "kpi_targets": """
        CREATE TABLE IF NOT EXISTS kpi_targets (
            metric VARCHAR PRIMARY KEY,
            target DOUBLE NOT NULL,
            direction VARCHAR NOT NULL CHECK (direction IN ('at_most', 'at_least')),
            set_by VARCHAR,
            set_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        )""",
    # Small key/value settings (cost per hour by unit type, map tile URL, ...).
    "settings": """
        CREATE TABLE IF NOT EXISTS settings (
            key VARCHAR PRIMARY KEY,
            value VARCHAR
        )""",
}

# The event tables that grow to millions of rows keep their keys unique without a
# PRIMARY KEY index: DuckDB's ART index made every bulk load ~2x slower, its commit
# merged the whole index again, and it lives in memory. The importer enforces the keys
# instead (duplicates inside a file are rejected, the file's keys are matched against
# the table, one import at a time); `duplicate_keys` checks it. Smaller tables keep
# their PRIMARY KEY.
UNINDEXED_KEYS: dict[str, tuple[str, ...]] = {
    "calls": ("call_id",),
    "assignments": ("call_id", "unit_id"),
    "incidents": ("incident_id",),
}

CANONICAL_TABLES = (
    "calls",
    "assignments",
    "units",
    "staffing",
    "incidents",
    "areas",
    "deployments",
    "activities",
    "call_types",
)


# What a database holds, in ``settings`` key ``database_kind`` (pages show a synthetic-data
# notice for ``demo``): ``demo`` = the synthetic city (``python -m analytics demo`` or the
# app's "explore the demo city"), ``empty`` = made by ``init`` with nothing imported yet,
# ``real`` = made by ``init`` (or by a first import) and holding imported data. Imports
# into a demo database leave it ``demo``: its synthetic calls are still there.
DatabaseKind = Literal["demo", "empty", "real"]
KIND_KEY = "database_kind"


def database_kind(con: duckdb.DuckDBPyConnection) -> DatabaseKind | None:
    """The ``database_kind`` setting, or None for a database made before it existed."""
    value = scalar(con, "SELECT value FROM settings WHERE key = $1", [KIND_KEY])
    return value if value in options.choices(DatabaseKind) else None  # type: ignore[return-value]


def set_database_kind(con: duckdb.DuckDBPyConnection, kind: DatabaseKind) -> None:
    """Record what the database holds (see :data:`DatabaseKind`)."""
    options.check("database kind", kind, DatabaseKind)
    con.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ($1, $2)", [KIND_KEY, kind])


TIMEZONE_KEY = "timezone"


EVENT_TIME_COLUMNS: dict[str, tuple[str, ...]] = {
    "calls": ("received_at", "dispatched_at", "enroute_at", "arrived_at", "cleared_at"),
    "assignments": ("dispatched_at", "enroute_at", "arrived_at", "cleared_at"),
    "incidents": ("occurred_at", "reported_at"),
    "activities": ("started_at", "ended_at"),
}


def department_timezone(con: duckdb.DuckDBPyConnection) -> str | None:
    """The department's time zone (``settings`` key ``timezone``). With it, event times
    (:data:`EVENT_TIME_COLUMNS`) are UTC instants and pages show them in this zone
    (analytics.core.clock); None when not set (the demo city: its local clock as is)."""
    value = scalar(con, "SELECT value FROM settings WHERE key = $1", [TIMEZONE_KEY])
    return str(value) if value else None


def holds_event_times(con: duckdb.DuckDBPyConnection) -> bool:
    """True when any canonical event table has a row."""
    return any(scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM {t} LIMIT 1)")  # fixed names
               for t in EVENT_TIME_COLUMNS)


def check_timezone(con: duckdb.DuckDBPyConnection, zone: str) -> None:
    """Raise ``OptionError`` unless ``zone`` is an IANA zone DuckDB knows."""
    from analytics.errors import OptionError

    if not scalar(con, "SELECT count(*) FROM pg_timezone_names() WHERE name = $1", [zone]):
        raise OptionError(f"unknown time zone {zone!r}; use an IANA name such as "
                          "'America/Chicago' or 'UTC'")


def set_department_timezone(con: duckdb.DuckDBPyConnection, zone: str) -> None:
    """Record the department's zone (checked); see :func:`department_timezone`."""
    check_timezone(con, zone)
    con.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ($1, $2)",
                [TIMEZONE_KEY, zone])


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> object:
    """First column of the first row of a query, or None.

    DuckDB 2.0 keeps an ``execute()`` result open until it is fetched to the end, which
    blocks the next query on the connection; so never use ``fetchone()`` — this fetches all.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def is_read_only(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``con`` was opened read-only (DuckDB's ``access_mode``)."""
    return str(scalar(con, "SELECT current_setting('access_mode')")) == "read_only"


def read_only_path(con: duckdb.DuckDBPyConnection) -> str | None:
    """The file of ``con``'s current database when ``con`` was opened read-only; None for a
    read-write or in-memory database (one query, a fraction of a millisecond)."""
    rows = con.execute(
        "SELECT current_setting('access_mode'), (SELECT path FROM duckdb_databases() "
        "WHERE database_name = current_database())").fetchall()
    mode, path = rows[0] if rows else (None, None)
    return str(path) if str(mode) == "read_only" and path else None


def setting(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """The value of one ``settings`` key, or None when it is not set."""
    value = scalar(con, "SELECT value FROM settings WHERE key = $1", [key])
    return None if value is None else str(value)


def resolve_db_path(db: str | os.PathLike[str] | None = None) -> Path:
    """The database path: explicit argument, else ``$CSO_DB``, else ``data/cso.duckdb``."""
    if db is not None:
        return Path(db)
    env = os.environ.get("CSO_DB")
    return Path(env) if env else DEFAULT_DB_PATH


def duplicate_keys(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Rows of ``table`` whose key (see ``UNINDEXED_KEYS``) another row already has."""
    key = ", ".join(UNINDEXED_KEYS[table])
    # Table and key names come from the fixed UNINDEXED_KEYS mapping.
    return int(scalar(con, f"SELECT count(*) - count(DISTINCT ({key})) FROM {table}") or 0)


def _has_primary_key(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(scalar(con, "SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? "
                            "AND constraint_type = 'PRIMARY KEY'", [table]))


def _migrate_1_to_2(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 2 drops the PRIMARY KEY index of the big event tables (UNINDEXED_KEYS).

    DuckDB cannot drop a key constraint in place, so each table is copied into the new
    definition, all in one transaction.
    """
    with transaction(con):
        for table in UNINDEXED_KEYS:  # fixed names
            if not _has_primary_key(con, table):
                continue
            log.info("schema 2: rebuilding %s without its primary-key index", table)
            con.execute(f"ALTER TABLE {table} RENAME TO {table}__v1")
            con.execute(TABLES[table])
            con.execute(f"INSERT INTO {table} SELECT * FROM {table}__v1")
            con.execute(f"DROP TABLE {table}__v1")
        con.execute("INSERT INTO schema_version (version, note) VALUES (2, "
                    "'event tables keep their keys unique without an index')")


#: Rebuilds the derived tables after a migration changed the canonical ones. Set by
#: :mod:`analytics.facts` when it is imported (facts builds on this module, so this module
#: never imports it: no cycle); every writer (CLI, app, importer) imports facts.
_DERIVED_REBUILDER: Callable[[duckdb.DuckDBPyConnection], None] | None = None


def set_derived_rebuilder(fn: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
    """Register the function that rebuilds every derived table (``facts.refresh_derived``)."""
    global _DERIVED_REBUILDER
    _DERIVED_REBUILDER = fn


def _rebuild_derived(con: duckdb.DuckDBPyConnection) -> None:
    if _DERIVED_REBUILDER is None:  # nothing may leave derived tables out of date
        raise DatabaseError("this upgrade must rebuild the derived tables: run "
                            "`python -m analytics upgrade --db PATH`")
    _DERIVED_REBUILDER(con)


def _migrate_2_to_3(con: duckdb.DuckDBPyConnection) -> None:
    """Schema 3 stores event times as UTC instants (analytics.core.clock); schema 2 stored
    the department's wall clock. A database with a zone has its event columns converted
    (a wall-clock time in the repeated fall-back hour becomes its second occurrence, the
    rule schema 2 already read it with) and its derived tables rebuilt; one without a
    zone (the demo city) is unchanged."""
    zone = department_timezone(con)
    with transaction(con):
        if zone:
            z = "'" + zone.replace("'", "") + "'"
            for table, cols in EVENT_TIME_COLUMNS.items():  # fixed names
                sets = ", ".join(f"{c} = timezone('UTC', timezone({z}, {c}))" for c in cols)
                log.info("schema 3: %s times from %s wall clock to UTC", table, zone)
                con.execute(f"UPDATE {table} SET {sets}")
            if scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = "
                           "'call_facts' AND schema_name = 'main'"):
                _rebuild_derived(con)
        con.execute("INSERT INTO schema_version (version, note) VALUES (3, "
                    "'event times are UTC instants (zone in settings)')")


def needs_upgrade(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why a database must be opened for writing once before pages can read it (an
    older schema whose stored times mean something else), or None."""
    try:
        current = scalar(con, "SELECT max(version) FROM schema_version")
    except duckdb.Error:
        return None
    if current is not None and current < 3 and department_timezone(con):
        return ("it stores local wall-clock times (schema 2); this version stores UTC "
                "instants")
    return None


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every canonical table that does not exist, migrate an older schema and
    record the schema version."""
    for ddl in TABLES.values():
        con.execute(ddl)
    current = scalar(con, "SELECT max(version) FROM schema_version")
    if current is None:
        con.execute(
            "INSERT INTO schema_version (version, note) VALUES (?, ?)",
            [SCHEMA_VERSION, "initial schema"],
        )
    elif current > SCHEMA_VERSION:
        raise DatabaseError(
            f"database schema version {current} is newer than this program's "
            f"({SCHEMA_VERSION}); update CSO Impact"
        )
    else:
        if current < 2:
            _migrate_1_to_2(con)
        if current < 3:
            _migrate_2_to_3(con)
    # Added without a schema version: a column with a default, older databases get it here.
    con.execute("ALTER TABLE imports ADD COLUMN IF NOT EXISTS rows_filtered BIGINT DEFAULT 0")


def connect(
    db: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    create: bool = True,
) -> duckdb.DuckDBPyConnection:
    """Open (and, unless read-only, create) the canonical database.

    Parameters
    ----------
    db
        Path to the DuckDB file, or ``":memory:"``. ``None`` uses :func:`resolve_db_path`.
    read_only
        Open without write access (pages use this).
    create
        Create missing tables. Ignored when ``read_only``.
    """
    if str(db) == ":memory:":
        con = duckdb.connect(":memory:")
        create_schema(con)
        return con
    path = resolve_db_path(db)
    if read_only and not path.exists():
        raise DatabaseError(f"database {path} does not exist; run `python -m analytics demo`")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except (duckdb.Error, OSError) as exc:  # locked by another process, unreadable, ...
        raise DatabaseError(f"cannot open database {path}: {storage_problem(exc)}") from exc
    # No console progress bar: the CLI and the app report progress themselves, and the
    # bar would fill the server's log.
    con.execute("SET enable_progress_bar = false")
    if read_only and (why := needs_upgrade(con)):
        con.close()
        raise DatabaseError(f"database {path} was made by an older version: {why}; "
                            f"convert it once with `python -m analytics upgrade --db {path}`")
    if create and not read_only:
        try:
            create_schema(con)
            reclaim_space(con, path)
        except (duckdb.Error, OSError) as exc:
            con.close()
            raise DatabaseError(f"cannot write database {path}: {storage_problem(exc)}") from exc
    return con


#: DuckDB's memory limit for the app server's read connection (``$CSO_SERVER_MEMORY``):
#: DuckDB keeps up to 80 % of the machine's RAM of table data in its buffer pool by
#: default, which took a 10M-call server from ~860 MB to 1.2 GB with no gain in speed
#: (docs/performance.md, "Server memory"). Queries that need more spill to disk.
SERVER_MEMORY_DEFAULT = "512MB"
_MEMORY_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20,
                 "GIB": 2**30}


def memory_limit_bytes(text: str, name: str = "CSO_SERVER_MEMORY") -> int:
    """``text`` such as ``512MB`` or ``1.5GiB`` in bytes; a clear error naming ``name``
    otherwise (at least 64 MB: DuckDB needs that much to run the pages' queries)."""
    import re

    from analytics.errors import OptionError

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B)\s*", text or "", re.IGNORECASE)
    if m is None:
        raise OptionError(f"{name} = {text[:40]!r} is not a memory size; write e.g. 512MB "
                          "or 2GB")
    size = int(float(m.group(1)) * _MEMORY_UNITS[m.group(2).upper()])
    if size < 64 * 10**6:
        raise OptionError(f"{name} = {text[:40]!r} is below 64MB, too little for DuckDB")
    return size


def limit_server_memory(con: duckdb.DuckDBPyConnection, limit: str | None = None,
                        spill_dir: str | os.PathLike[str] | None = None) -> int:
    """Cap DuckDB's memory on the app server's connection; returns the limit in bytes.

    ``limit`` defaults to ``$CSO_SERVER_MEMORY`` or :data:`SERVER_MEMORY_DEFAULT`.
    ``spill_dir`` is where a query larger than the limit spills (a read-only database
    cannot spill next to its file on a read-only disk); DuckDB removes its files there.
    """
    size = memory_limit_bytes(limit if limit is not None
                              else os.environ.get("CSO_SERVER_MEMORY", SERVER_MEMORY_DEFAULT))
    con.execute(f"SET memory_limit = '{size}B'")  # an integer: nothing user-typed in SQL
    if spill_dir is not None:
        con.execute("SET temp_directory = ?", [str(spill_dir)])
    return size


def storage_problem(exc: BaseException) -> str:
    """One line saying what went wrong with the database file: disk full, read-only, in
    use by another process, else the first line of the error (cut to 200 characters)."""
    import errno

    text = str(exc)
    low = text.lower()
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "no space left" in low:
        return "the disk is full (no space left on the device); free space and try again"
    if code == errno.EFBIG or "file too large" in low:
        return "the file size limit was reached (file too large); nothing was changed"
    if code == errno.EROFS or "read-only file system" in low:
        return "the file system is read-only"
    if code in (errno.EACCES, errno.EPERM) or "permission denied" in low:
        return "permission denied (the file or its folder is not writable by this user)"
    if "could not set lock" in low or "conflicting lock" in low:
        import re

        pid = re.search(r"\(PID (\d+)\)", text)
        who = f" (process {pid.group(1)})" if pid else ""
        return (f"the database is in use by another program{who}: while the app imports "
                "or another import runs, wait for it to finish and try again")
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:200]


# A file at least this much larger than the blocks it uses is trimmed when opened.
RECLAIM_SLACK_BYTES = 16 << 20


def reclaim_space(con: duckdb.DuckDBPyConnection, path: Path | None = None) -> bool:
    """Give back the space a killed or failed import left at the end of the file.

    A large transaction writes its rows into new blocks of the file before it commits;
    when it rolls back or the process is killed those blocks are free again, but the file
    keeps its size until a checkpoint *that writes something* truncates it (a checkpoint
    with nothing to write is skipped). So when the file is larger than its used blocks
    by more than ``RECLAIM_SLACK_BYTES`` this makes a trivial change and checkpoints.
    Returns whether it did. Errors (another transaction running) leave it for later.
    """
    try:
        if path is None:
            rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                               "current_database()").fetchall()
            if not rows or not rows[0][0]:
                return False
            path = Path(rows[0][0])
        size = path.stat().st_size
        block, total, _, _ = _blocks(con)
        if size - total * block < RECLAIM_SLACK_BYTES:
            return False
        con.execute("CREATE OR REPLACE TABLE _cso_reclaim (x INTEGER)")
        con.execute("DROP TABLE _cso_reclaim")
        con.execute("CHECKPOINT")
    except (duckdb.Error, OSError) as exc:
        log.info("space not reclaimed yet: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return False
    log.info("reclaimed %s bytes left by an unfinished import", size - path.stat().st_size)
    return True


def _blocks(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int, int]:
    """The database file's block size and its total, used and free blocks."""
    _, _, block, total, used, free, *_ = con.execute("PRAGMA database_size").fetchall()[0]
    return int(block), int(total), int(used), int(free)


def free_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """Bytes of the database file held by free blocks: space that dropped or replaced
    tables left inside it. DuckDB reuses them for new data but never gives them back to
    the disk (a checkpoint trims only free blocks at the end); :func:`compact` does."""
    block, _, _, free = _blocks(con)
    return free * block


#: Suffix of the new file :func:`compact` writes beside the database before it replaces it.
COMPACT_SUFFIX = ".compacting"


@dataclass(frozen=True)
class Compacted:
    """What :func:`compact` did: the file's size before and after, and the tables copied
    (each with its row count, checked equal in both files)."""
    bytes_before: int
    bytes_after: int
    tables: dict[str, int]


def compact(path: str | os.PathLike[str]) -> Compacted:
    """Rewrite the database at ``path`` without its free blocks: every table, view, macro,
    sequence and constraint copied (``COPY FROM DATABASE``, rows in their stored order, so
    that sorted tables keep their zone maps) into a new file beside it, each table's row
    count checked equal in both, then the new file put in the old one's place in one
    rename. Anything that fails (the database in use by another program, too little disk,
    a count that differs) raises :class:`DatabaseError` and leaves the database as it was.
    """
    path = resolve_db_path(path)
    if not path.exists():
        raise DatabaseError(f"no database at {path}")
    tmp = path.with_name(path.name + COMPACT_SUFFIX)
    _drop_copy(tmp)  # left by a compaction that was killed
    before = path.stat().st_size
    try:
        # Read-write: the exclusive lock keeps the app and imports out while copying.
        con = duckdb.connect(str(path))
    except (duckdb.Error, OSError) as exc:
        raise DatabaseError(f"cannot open database {path}: {storage_problem(exc)}") from exc
    try:
        con.execute("CHECKPOINT")  # whatever a WAL holds goes into the file first
        block, _, used, _ = _blocks(con)
        room = shutil.disk_usage(path.parent).free
        if room < block * used:
            raise DatabaseError(
                f"cannot compact {path}: the copy needs about {block * used / 1e6:,.0f} MB and "
                f"the disk has {room / 1e6:,.0f} MB free; nothing was changed")
        counts = table_counts(con)
        name = scalar(con, "SELECT current_database()")
        con.execute("SET preserve_insertion_order = true")  # rows keep their stored order
        con.execute("ATTACH ? AS cso_compact", [str(tmp)])
        # name comes from DuckDB's own catalog (an identifier: it cannot be bound)
        con.execute(f'COPY FROM DATABASE "{name}" TO cso_compact')
        con.execute("DETACH cso_compact")
        con.close()
        new = duckdb.connect(str(tmp))
        try:
            copied = table_counts(new)
            new.execute("CHECKPOINT")
        finally:
            new.close()
        if copied != counts:
            differ = sorted(t for t in set(counts) | set(copied) if counts.get(t) != copied.get(t))
            raise DatabaseError(f"cannot compact {path}: the copy differs in table(s) "
                                f"{', '.join(differ)}; nothing was changed")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (DatabaseError, duckdb.Error, OSError) as exc:
        con.close()
        _drop_copy(tmp)
        if isinstance(exc, DatabaseError):
            raise
        raise DatabaseError(f"cannot compact {path}: {storage_problem(exc)}; "
                            "nothing was changed") from exc
    return Compacted(before, path.stat().st_size, counts)


def _drop_copy(tmp: Path) -> None:
    """Remove the new file of :func:`compact` (and its WAL) where it exists."""
    for p in (tmp, Path(f"{tmp}.wal")):
        p.unlink(missing_ok=True)


def duckdb_connection(obj: object) -> duckdb.DuckDBPyConnection | None:
    """The DuckDB connection or cursor behind ``obj``: itself, an Ibis backend's ``con``,
    or what a wrapper's ``duckdb_cursor()`` returns (the app's ``ui.state.LiveCursor``)."""
    for _ in range(3):
        if isinstance(obj, duckdb.DuckDBPyConnection):
            return obj
        unwrap = getattr(obj, "duckdb_cursor", None)
        obj = unwrap() if callable(unwrap) else getattr(obj, "con", None)
    return obj if isinstance(obj, duckdb.DuckDBPyConnection) else None


#: Table schemas of read-only database files, per (file identity, table): see
#: :func:`ibis_backend`. Bounded: cleared when it reaches :data:`_SCHEMAS_MAX` entries.
_SCHEMAS: dict[tuple, Any] = {}
_SCHEMAS_MAX = 1024


def file_identity(path: str) -> tuple:
    """(path, size and modification time of the file and of its WAL): equal while the
    file's data are the same."""
    def stat(p: str) -> tuple[int, int] | None:
        try:
            st = os.stat(p)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    return path, stat(path), stat(path + ".wal")


def ibis_backend(con: duckdb.DuckDBPyConnection):  # noqa: ANN201 - ibis type is dynamic
    """Wrap a DuckDB connection (or cursor) as an Ibis backend.

    On a connection opened **read-only** the backend asks DuckDB for a table's schema
    once per version of the file (:func:`file_identity`), not on every ``table()`` call:
    each ask is a ``DESCRIBE`` query, and a page's filter change named ``call_facts`` and
    the histogram tables about twenty times (≈ 0.1 CPU-s at 10 M calls, issue 16). A
    read-only connection cannot change the file's tables, and the app creates no
    temporary tables on one (only imports do, on a read-write connection)."""
    import ibis

    backend = ibis.duckdb.from_connection(con)
    path = read_only_path(con)
    if path is not None:
        plain = backend.get_schema

        def get_schema(table_name: str, *, catalog: str | None = None,
                       database: str | None = None) -> Any:
            key = (file_identity(path), table_name, catalog, database)
            got = _SCHEMAS.get(key)
            if got is None:
                got = plain(table_name, catalog=catalog, database=database)
                if len(_SCHEMAS) >= _SCHEMAS_MAX:
                    _SCHEMAS.clear()
                _SCHEMAS[key] = got
            return got

        backend.get_schema = get_schema
    return backend


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every table in the database (canonical and derived)."""
    names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
    # Table names come from the catalog itself, not from users.
    return {n: scalar(con, f'SELECT count(*) FROM "{n}"') for n in names}


@contextmanager
def unordered_writes(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Let DuckDB write query results in any row order (``preserve_insertion_order =
    false``: parallel inserts, less memory) for statements whose order carries no meaning;
    the previous setting comes back afterwards. An explicit ``ORDER BY`` wants the default."""
    before = scalar(con, "SELECT current_setting('preserve_insertion_order')")
    con.execute("SET preserve_insertion_order = false")
    try:
        yield con
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if before else 'false'}")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction: commit on success, roll back everything on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")
