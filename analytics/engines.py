"""Where metric expressions run: the embedded DuckDB file, or Spark over Parquet.

Metric code is written once in Ibis (PRODUCT.md section 7). This module is the only place
that knows which engine is underneath:

- :func:`execute` runs an Ibis expression on its backend and returns the result frame with
  the SQL that ran. On DuckDB the SQL is compiled once per expression *shape* — the
  expression with its compared values (filter values and the constants rules compare
  with) as slots, :mod:`analytics.sql_shapes` — and each further expression of that shape
  gets its values written into the compiled text (compiling costs more than running on
  small data, and a filter change is a new set of values, not a new shape); the SQL is
  run on the connection. On any other Ibis backend the expression goes through the
  backend's own ``execute``, and the SQL shown is compiled in that backend's dialect, once
  per expression.
- A backend over a Parquet export is a read-only *snapshot* (:func:`mark_snapshot`):
  :func:`execute` keeps each small result (at most :data:`SNAPSHOT_ROWS_MAX` rows) per
  compiled SQL for the backend's life, so the lookups several metrics share (areas, first
  treated periods, the programme start, date spans) run once per snapshot instead of once
  per metric — on Spark each is a job.
- A DuckDB **file opened read-only** (the analyst server at rest, every command or public
  server) cannot change while it is open: :func:`execute` keeps each small result per
  compiled SQL under the file's identity (path, size and modification time of the file
  and of its WAL, :func:`read_only_file_key`), so the lookups and filter-independent
  queries a page repeats (the evaluation panels' values, periods and treatment timing,
  the programme start) run once per version of the file; a write changes the file, and
  with it the key. A read-write connection is never cached this way, except inside
  :func:`reusing_results`, a block whose caller promises that nothing writes.
- :func:`has_table` asks whether a table exists on any backend.
- :func:`spark_backend` opens the tables of a Parquet export (``python -m analytics export
  --parquet DIR``) as Spark temporary views behind an Ibis PySpark backend. Spark runs in
  local mode with a small configuration (two cores, four shuffle partitions, no UI, bound
  to 127.0.0.1) unless ``$CSO_SPARK_MASTER`` names a cluster; one session per process.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import ibis
import pandas as pd

from analytics import db, sql_shapes
from analytics.errors import DatabaseError, OptionError

log = logging.getLogger(__name__)

Engine = Literal["duckdb", "spark"]

_SQL_CACHE: dict[Any, str] = {}
_SQL_CACHE_MAX = 512
_TEMPLATES: dict[Any, str | None] = {}
_LITERALS: dict[Any, str] = {}
#: Whether a table exists, per read-only file version (:func:`has_table`).
_TABLES: dict[Any, bool] = {}
#: Dialects whose SQL is compiled once per expression shape (:mod:`analytics.sql_shapes`);
#: the others once per expression (their backend compiles again to execute).
SHAPED_DIALECTS = ("duckdb",)
#: When True, every SQL written from a shape is checked against the expression's own
#: compilation (tests; an AssertionError names both).
VERIFY_SHAPES = False
_COMPILATIONS = [0]


def backend_of(expr: Any) -> Any:
    """The Ibis backend an expression is bound to."""
    return expr._find_backend()


def as_backend(obj: Any) -> Any:
    """An Ibis backend: ``obj`` itself, or a DuckDB connection/cursor wrapped as one.

    Write paths (the call-type editor, stores) hold a DuckDB connection; their reads go
    through Ibis like every metric, so they are wrapped here rather than queried in SQL.
    """
    if hasattr(obj, "table") and hasattr(obj, "compile"):
        return obj
    con = db.duckdb_connection(obj)  # a connection, cursor or the app's LiveCursor
    if con is None:
        raise OptionError(f"need an Ibis backend or a DuckDB connection; got {type(obj).__name__}")
    return db.ibis_backend(con)


def _is_duckdb(backend: Any) -> bool:
    return getattr(backend, "name", None) == "duckdb"


def compile_sql(backend: Any, expr: Any) -> str:
    """The SQL of ``expr`` in ``backend``'s dialect, compiled once per expression shape.

    Two caches: per expression (the key is the expression's operation tree, which Ibis
    compares by structure — an expression object itself compares with ``==`` as a new
    expression, so an expression built again never matched), so the same query rebuilt
    on another session's cursor of the same database finds its SQL at once; and, on a
    miss, per shape (:data:`SHAPED_DIALECTS`): the expression with its compared values
    as slots (:func:`analytics.sql_shapes.shape_of`), compiled once with a token per
    slot, each value then written in its token's place as the compiler writes that
    literal. The text is the plain compilation's (checked when :data:`VERIFY_SHAPES`).
    """
    dialect = getattr(backend, "name", None)
    op = expr.op()
    key = (dialect, op)
    sql = _SQL_CACHE.get(key)
    if sql is None:
        sql = _shaped_sql(dialect, op) if dialect in SHAPED_DIALECTS else None
        if sql is None:
            sql = _compile(expr, dialect)
        elif VERIFY_SHAPES:
            plain = _compile(expr, dialect)
            if sql_shapes.normal_sql(plain) != sql_shapes.normal_sql(sql):
                raise AssertionError(f"SQL from the shape differs from the expression's own "
                                     f"compilation:\n{sql}\n--- expected ---\n{plain}")
        _remember(_SQL_CACHE, key, sql)
    return sql


def compilations() -> int:
    """How many expressions and shapes this process has compiled (a cache miss each)."""
    return _COMPILATIONS[0]


def _compile(expr: Any, dialect: str | None) -> str:
    _COMPILATIONS[0] += 1
    return str(ibis.to_sql(expr, dialect=dialect))


def _remember(cache: dict, key: Any, value: Any) -> None:
    if len(cache) >= _SQL_CACHE_MAX:
        cache.clear()
    cache[key] = value


def _shaped_sql(dialect: str, op: Any) -> str | None:
    """The SQL of ``op`` written from its shape's compiled template; None when it has no
    slot values or its shape does not compile to a template."""
    got = sql_shapes.shape_of(op)
    if got is None:
        return None
    shape, values = got
    import ibis.backends.sql.compilers as sc

    compiler = getattr(sc, dialect).compiler
    skey = (dialect, shape)
    if skey in _TEMPLATES:
        template = _TEMPLATES[skey]
    else:
        _COMPILATIONS[0] += 1
        template = sql_shapes.compile_template(compiler, shape, len(values))
        _remember(_TEMPLATES, skey, template)
    if template is None:
        return None
    texts = []
    for v in values:
        lkey = (dialect, v)
        text = _LITERALS.get(lkey)
        if text is None:
            text = sql_shapes.literal_sql(compiler, v)
            _remember(_LITERALS, lkey, text)
        texts.append(text)
    return sql_shapes.fill(template, tuple(texts))


#: Results of a snapshot backend kept per compiled SQL when they have at most this many rows.
SNAPSHOT_ROWS_MAX = 20_000
_SNAPSHOT_ATTR = "_cso_snapshot_results"


def mark_snapshot(backend: Any) -> Any:
    """Mark ``backend`` as a read-only snapshot (a Parquet export); returns it."""
    setattr(backend, _SNAPSHOT_ATTR, {})
    return backend


#: Small results of read-only DuckDB files kept at most, in number and in bytes (least
#: recently used dropped first): the server's memory bound (issue 16: RSS ≤ 1 GB) holds.
FILE_RESULTS_MAX = 256
FILE_RESULTS_MAX_BYTES = 64 * 2**20
_FILE_RESULTS: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
_FILE_BYTES: dict[tuple, int] = {}
_FILE_LOCK = threading.Lock()
_REUSE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("cso_reuse", default=None)


# A connection's mode and file never change: asked once per DuckDB connection or cursor.
_RO_PATHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def read_only_file_key(backend: Any) -> tuple | None:
    """The identity of the database file behind a DuckDB backend opened **read-only**:
    (path, size and modification time of the file, of its WAL); None for a read-write
    or in-memory connection, or another engine. Equal keys = the same data."""
    if not _is_duckdb(backend):
        return None
    con = db.duckdb_connection(backend.con)
    if con is None:
        return None
    try:
        path = _RO_PATHS[con]
    except KeyError:
        path = _RO_PATHS[con] = db.read_only_path(con)
    except TypeError:  # not weak-referenceable: ask every time
        path = db.read_only_path(con)
    if path is None:
        return None
    key = db.file_identity(path)
    return None if key[1] is None else key


#: Expressions kept per backend (:func:`planned`), most recent last, at most this many each.
PLANS_MAX = 256
_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PLANS_LOCK = threading.Lock()


def planned(backend: Any, key: tuple, build: Any) -> Any:
    """``build()`` — an Ibis expression (or a tuple holding one) for ``backend`` — kept
    per backend and ``key`` while the backend's read-only file is unchanged, so that a
    repeated question skips building the expression again (at 10 M calls, 0.016 of the
    0.10 CPU-s of a response-time trend; docs/performance.md). ``key`` must name every
    argument the expression depends on besides the backend and its file. Ibis backends on
    one database compare equal, so every session's cursor on the file shares the plans
    (:func:`execute` runs the SQL on the cursor it is given). A read-write,
    in-memory or other engine's backend gets ``build()`` every time (its data may change
    under the same key).

    Memory: an expression refers to its tables, hence to the backend it was built on, so
    the first backend of a database stays alive while its plans are kept — one per
    database, since equal backends share the entry — and at most :data:`PLANS_MAX`
    plans (the least recently used go first; a new version of the file starts new
    keys and lets the old ones age out)."""
    file_key = read_only_file_key(backend)
    if file_key is None:
        return build()
    full = (file_key, key)
    try:
        with _PLANS_LOCK:
            kept = _PLANS.setdefault(backend, OrderedDict())
            got = kept.get(full)
            if got is not None:
                kept.move_to_end(full)
                return got
    except TypeError:  # a backend that cannot be weakly referenced: no memory
        return build()
    got = build()
    with _PLANS_LOCK:
        kept[full] = got
        while len(kept) > PLANS_MAX:
            kept.popitem(last=False)
    return got


def forget_results() -> None:
    """Drop every kept result of read-only DuckDB files (a benchmark times the query, not
    the memory of an earlier run)."""
    with _FILE_LOCK:
        _FILE_RESULTS.clear()
        _FILE_BYTES.clear()  # else their sizes still count against the byte bound


@contextmanager
def reusing_results() -> Iterator[None]:
    """Within the block, :func:`execute` runs each compiled SQL once per DuckDB connection
    and returns a copy of its result on a repeat, also on a read-write connection. For a
    caller that runs many reads and no write (e.g. the claims for several date ranges,
    whose panels do not depend on the dates)."""
    token = _REUSE.set({})
    try:
        yield
    finally:
        _REUSE.reset(token)


def execute(backend: Any, expr: Any) -> tuple[pd.DataFrame, str]:
    """Run ``expr`` on ``backend``; return (frame, SQL). The SQL shown is the SQL that ran.

    DuckDB runs the cached compiled SQL on its connection (``DataFrame`` as DuckDB returns
    it); other engines run the expression through Ibis (``backend.execute``). On a
    snapshot backend or a read-only DuckDB file (module docstring) a small result is kept
    and a repeat returns a copy of it.
    """
    sql = compile_sql(backend, expr)
    kept = getattr(backend, _SNAPSHOT_ATTR, None)
    if kept is not None and sql in kept:
        return kept[sql].copy(), sql
    scope = _REUSE.get() if _is_duckdb(backend) else None
    skey = None if scope is None else (id(db.duckdb_connection(backend.con) or backend.con), sql)
    if skey is not None and skey in scope:
        return scope[skey].copy(), sql
    file_key = None
    if _is_duckdb(backend):
        file_key = read_only_file_key(backend)
        if file_key is not None:
            with _FILE_LOCK:
                got = _FILE_RESULTS.get((file_key, sql))
                if got is not None:
                    _FILE_RESULTS.move_to_end((file_key, sql))
            if got is not None:
                return got.copy(), sql
    df = backend.con.sql(sql).df() if _is_duckdb(backend) else backend.execute(expr)
    small = len(df) <= SNAPSHOT_ROWS_MAX
    if kept is not None and small:
        kept[sql] = df.copy()  # callers may change the frame they get
    if file_key is not None and small:
        size = int(df.memory_usage(index=True, deep=True).sum())
        with _FILE_LOCK:
            _FILE_RESULTS[(file_key, sql)] = df.copy()
            _FILE_BYTES[(file_key, sql)] = size
            while len(_FILE_RESULTS) > FILE_RESULTS_MAX or (
                    len(_FILE_RESULTS) > 1 and sum(_FILE_BYTES.values()) > FILE_RESULTS_MAX_BYTES):
                old_key, _ = _FILE_RESULTS.popitem(last=False)
                _FILE_BYTES.pop(old_key, None)
    elif skey is not None and small:
        scope[skey] = df.copy()
    return df, sql


def has_table(backend: Any, name: str) -> bool:
    """True when ``backend`` has a table or view called ``name`` (in DuckDB's main schema).

    (Ibis's ``list_tables`` does not work with DuckDB 2.0, so DuckDB's catalog is asked
    directly there.)
    """
    if _is_duckdb(backend):
        file_key = read_only_file_key(backend)  # a read-only file: asked once per version
        got = _TABLES.get((file_key, name)) if file_key is not None else None
        if got is None:
            rows = backend.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
                "AND table_schema = 'main'",
                [name],
            ).fetchall()
            got = bool(rows[0][0])
            if file_key is not None:
                _remember(_TABLES, (file_key, name), got)
        return got
    return name in backend.list_tables()


def duckdb_parquet_connection(parquet_dir: str | os.PathLike[str]) -> Any:
    """An in-memory DuckDB connection whose tables are read-only views over the Parquet
    export in ``parquet_dir`` (the same input the Spark engine reads)."""
    import duckdb

    from analytics import parquet

    manifest = parquet.read_manifest(parquet_dir)
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    for name in manifest["tables"]:
        path = str(parquet.table_path(parquet_dir, name)).replace("'", "''")
        # the name comes from the export's manifest and is quoted as an identifier
        quoted = '"' + name.replace('"', '""') + '"'
        con.execute(f"CREATE VIEW {quoted} AS SELECT * FROM read_parquet('{path}')")
    return con


def duckdb_parquet_backend(parquet_dir: str | os.PathLike[str]) -> Any:
    """An Ibis DuckDB backend over :func:`duckdb_parquet_connection`."""
    return mark_snapshot(ibis.duckdb.from_connection(duckdb_parquet_connection(parquet_dir)))


# -- Spark ---------------------------------------------------------------------------------
# Small on purpose: local mode on a shared machine. Shuffle partitions default to 200,
# which costs more in task overhead than the work itself at a few million rows.
SPARK_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "2g",
    "spark.sql.ansi.enabled": "false",
}

#: Local mode only: the driver listens on the loopback interface (no network needed).
LOCAL_CONF: dict[str, str] = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}

_SESSION: Any = None


def java_available() -> bool:
    """True when a ``java`` executable is on PATH or under ``$JAVA_HOME`` (Spark needs it)."""
    import shutil

    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def spark_session() -> Any:
    """The process's Spark session (created on first use).

    Local mode with two cores unless ``$CSO_SPARK_MASTER`` names another master (e.g.
    ``spark://host:7077`` or ``yarn`` for a cluster; then the driver is not bound to the
    loopback interface).
    """
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    if not java_available():
        raise DatabaseError("the Spark engine needs Java (17 or later); install a JRE "
                            "(e.g. apt-get install openjdk-17-jre-headless) or use DuckDB")
    # Local mode never needs the network; without this Spark resolves the host name.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    master = os.environ.get("CSO_SPARK_MASTER", "local[2]")
    builder = SparkSession.builder.master(master).appName("cso-impact")
    conf = dict(SPARK_CONF)
    if master.startswith("local"):
        conf.update(LOCAL_CONF)
    for k, v in conf.items():
        builder = builder.config(k, v)
    _SESSION = builder.getOrCreate()
    _SESSION.sparkContext.setLogLevel("ERROR")
    log.info("Spark %s session started (%s)", _SESSION.version, _SESSION.sparkContext.master)
    return _SESSION


def spark_backend(parquet_dir: str | os.PathLike[str]) -> Any:
    """An Ibis PySpark backend whose tables are the Parquet export in ``parquet_dir``.

    Each ``<table>.parquet`` file of the export becomes a temporary view named ``<table>``.
    Raises :class:`~analytics.errors.DatabaseError` when the folder is not an export.
    """
    from analytics import parquet

    manifest = parquet.read_manifest(parquet_dir)
    session = spark_session()
    for name in manifest["tables"]:
        path = parquet.table_path(parquet_dir, name)
        session.read.parquet(str(path)).createOrReplaceTempView(name)
    return mark_snapshot(ibis.pyspark.connect(session))
