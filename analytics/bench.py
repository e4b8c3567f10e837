"""Benchmarks: ``python -m analytics bench import --calls N [--json FILE]``.

Writes N demo-like calls as a CAD-style CSV (vendor column names, US ``MM/DD/YYYY
HH:MM:SS`` timestamps, one row per call with its primary unit), imports it with the real
importer into a fresh database (calls + assignments + units, validation, rejects,
idempotency bookkeeping) and, in the same run, times a plain baseline: ``pandas.read_csv``
of the same file and a DuckDB insert of the frame (no parsing, no validation). Prints
rows/s for both and their ratio, and times DuckDB's own one-statement load of the file
(``CREATE TABLE … AS SELECT * FROM read_csv``) as the machine's floor. PRODUCT.md
section 8 asks ≥ 500k rows/s at 10M calls.
"""

from __future__ import annotations

import gc
import logging
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from analytics import db, facts

log = logging.getLogger(__name__)

BENCH_PRESET = {
    "name": "bench_cad",
    "table": "calls",
    "description": "CAD-style benchmark export written by analytics.bench",
    "read": {"format": "csv", "delimiter": ","},
    "time": {"formats": ["%m/%d/%Y %H:%M:%S"]},
    "columns": {
        "call_id": "Incident Number",
        "received_at": "Call Received",
        "dispatched_at": "Dispatched",
        "enroute_at": "En Route",
        "arrived_at": "On Scene",
        "cleared_at": "Cleared",
        "call_type": "Nature",
        "call_type_initial": "Initial Nature",
        "priority": "Priority",
        "source": "Call Source",
        "disposition": "Disposition",
        "district": "District",
        "beat": "Beat",
        "lat": "Latitude",
        "lon": "Longitude",
    },
    "officer_initiated": {"column": "Call Source", "values": ["SELF"]},
    "units": {"column": "Unit", "default_type": "sworn",
              "rules": [{"prefix": "CSO", "type": "cso"}], "primary": "first_row"},
}

_NATURES = ["THEFT", "NOISE COMPLAINT", "TRAFFIC HAZARD", "SUSPICIOUS PERSON", "ALARM",
            "DISTURBANCE", "WELFARE CHECK", "PARKING", "BURGLARY REPORT", "VANDALISM",
            "ASSAULT", "DOMESTIC", "ACCIDENT NON-INJURY", "FOUND PROPERTY", "TRESPASS"]
_SOURCES = ["911", "911", "911", "NON-EMERGENCY", "NON-EMERGENCY", "SELF", "ONLINE"]
_DISPOS = ["REPORT TAKEN", "ADVISED", "GONE ON ARRIVAL", "ARREST", "NO ACTION", "CITATION"]


def write_cad_csv(path: Path, n_calls: int, seed: int = 20220101, *,
                  time_ordered: bool = False) -> float:
    """Write ``n_calls`` demo-like CAD rows to ``path`` with DuckDB (vectorised); seconds.

    The rows' received times are hashes of the row number, so the file is in no time
    order (the worst case for ``call_facts``, which must then be sorted). With
    ``time_ordered`` the same rows come in order of receipt, as a CAD system exports
    them: ``call_facts`` then keeps the calls' order and skips its sort
    (:func:`analytics.facts.calls_in_time_order`)."""
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if time_ordered:
        # The sort spills to disk beyond 1 GB: the process's peak RSS, which the import
        # benchmark reports for the import that follows, stays the import's own.
        con.execute("SET memory_limit = '1GB'")
        con.execute("SET temp_directory = ?", [str(path.parent / f"{path.name}.sort_tmp")])
    try:
        def lst(values: list[str]) -> str:
            return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"

        # Every value is a hash of the row number and the seed: deterministic, no Python loop.
        con.execute(f"""
            COPY (
              WITH base AS (
                SELECT i,
                       CAST(hash(i, {int(seed)}) % 1000000007 AS BIGINT) AS h1,
                       CAST(hash(i + 1, {int(seed)} * 7) % 1000000007 AS BIGINT) AS h2,
                       TIMESTAMP '2022-01-01' + to_seconds(CAST(hash(i, {int(seed)} + 3)
                           % 126230400 AS BIGINT)) AS rec
                FROM range({int(n_calls)}) t(i)
              ), seg AS (
                SELECT *, (h1 % 4) + 1 AS d, (h1 // 4) % 6 + 1 AS b,
                       rec + to_seconds(CAST(20 + h2 % 900 AS BIGINT)) AS disp,
                       (h2 // 1000) % 10 AS u
                FROM base
              )
              SELECT printf('%d-%09d', year(rec), i) AS "Incident Number",
                     strftime(rec, '%m/%d/%Y %H:%M:%S') AS "Call Received",
                     strftime(disp, '%m/%d/%Y %H:%M:%S') AS "Dispatched",
                     strftime(disp + to_seconds(CAST(15 + h1 % 90 AS BIGINT)),
                              '%m/%d/%Y %H:%M:%S') AS "En Route",
                     CASE WHEN h2 % 17 = 0 THEN NULL ELSE
                       strftime(disp + to_seconds(CAST(120 + h1 % 900 AS BIGINT)),
                                '%m/%d/%Y %H:%M:%S') END AS "On Scene",
                     strftime(disp + to_seconds(CAST(1500 + h2 % 5400 AS BIGINT)),
                              '%m/%d/%Y %H:%M:%S') AS "Cleared",
                     {lst(_NATURES)}[1 + (h1 // 31) % {len(_NATURES)}] AS "Nature",
                     {lst(_NATURES)}[1 + (h1 // 37) % {len(_NATURES)}] AS "Initial Nature",
                     1 + (h2 // 7) % 4 AS "Priority",
                     {lst(_SOURCES)}[1 + (h2 // 11) % {len(_SOURCES)}] AS "Call Source",
                     {lst(_DISPOS)}[1 + (h2 // 13) % {len(_DISPOS)}] AS "Disposition",
                     'D' || d AS "District",
                     printf('D%d-B%02d', d, b) AS "Beat",
                     round(38.5 + d * 0.02 + (h1 % 10000) / 1e6, 6) AS "Latitude",
                     round(-121.5 + b * 0.01 + (h2 % 10000) / 1e6, 6) AS "Longitude",
                     CASE WHEN u < 2 THEN printf('CSO%d-%02d', d, h1 % 12)
                          ELSE printf('%dP%02d', d, h2 % 40) END AS "Unit"
              FROM seg
              {"ORDER BY rec, i" if time_ordered else ""}
            ) TO '{str(path).replace("'", "''")}' (HEADER, DELIMITER ',')
        """)
    finally:
        con.close()
    return time.perf_counter() - t0


class TimedConnection:
    """A DuckDB connection that times every ``execute``/``executemany`` (wall and the
    process's CPU-seconds, all threads) under the phase set in :attr:`phase`:
    ``bench import --profile`` prints the costliest statements."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.phase = ""
        self.stats: dict[tuple[str, str], list[float]] = {}

    def _timed(self, name: str, sql: object, *args: object, **kw: object) -> object:
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            return getattr(self._con, name)(sql, *args, **kw)
        finally:
            key = (self.phase, " ".join(str(sql).split())[:150])
            s = self.stats.setdefault(key, [0, 0.0, 0.0])
            s[0] += 1
            s[1] += time.perf_counter() - w0
            s[2] += time.process_time() - c0

    def execute(self, sql: object, *args: object, **kw: object) -> object:
        self._timed("execute", sql, *args, **kw)
        return self

    def executemany(self, sql: object, *args: object, **kw: object) -> object:
        self._timed("executemany", sql, *args, **kw)
        return self

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)

    def top(self, n: int = 15) -> list[dict]:
        rows = sorted(self.stats.items(), key=lambda kv: -kv[1][1])[:n]
        return [{"phase": k[0], "sql": k[1], "count": int(v[0]), "wall_s": round(v[1], 3),
                 "cpu_s": round(v[2], 3)} for k, v in rows]

    def by_phase(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for (phase, _), v in self.stats.items():
            d = out.setdefault(phase, {"wall_s": 0.0, "cpu_s": 0.0})
            d["wall_s"] = round(d["wall_s"] + v[1], 3)
            d["cpu_s"] = round(d["cpu_s"] + v[2], 3)
        return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def duckdb_floor(csv_path: Path, db_path: Path) -> tuple[float, float, float, float, float]:
    """Seconds for DuckDB's simplest loads of the file into a fresh database file:
    (one table, two tables, the CPU-seconds of each, all threads, and the user
    CPU-seconds of the two tables).

    One table: ``CREATE TABLE … AS SELECT * FROM read_csv(…)`` with the reader's own type
    detection and the file's timestamp format — no keys, no checks. Two tables: that, plus
    a second ``CREATE TABLE … AS`` of the unit columns (call id, unit, four segment times)
    from the file, i.e. the same two writes the importer makes (``calls`` and
    ``assignments``). An importer that validates every row cannot be faster than these."""
    for p in (db_path, Path(f"{db_path}.wal")):
        p.unlink(missing_ok=True)
    cols = BENCH_PRESET["columns"]
    unit_cols = [cols["call_id"], BENCH_PRESET["units"]["column"], cols["dispatched_at"],
                 cols["enroute_at"], cols["arrived_at"], cols["cleared_at"]]
    # Column names from the fixed BENCH_PRESET (this module's own CSV), quoted.
    sel = ", ".join('"' + c.replace('"', '""') + '"' for c in unit_cols)
    params = {"p": str(csv_path), "f": BENCH_PRESET["time"]["formats"][0]}
    con = duckdb.connect(str(db_path))
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = false")
        start = _Stamp()
        con.execute("CREATE TABLE raw_calls AS SELECT * FROM read_csv($p, timestampformat = $f)",
                    params)
        one, one_cpu, _ = start.since()
        con.execute(f"CREATE TABLE raw_units AS SELECT {sel} FROM read_csv($p, timestampformat = $f)",
                    params)
        two, two_cpu, two_user = start.since()
        return one, two, one_cpu, two_cpu, two_user
    finally:
        con.close()


#: Deployments the benchmark city gets before its import (two districts with CSOs, two
#: without), so that the programme's claims — part of the file-to-dashboard time — have
#: something to answer; set once by a department, not part of any import.
BENCH_DEPLOYMENTS = (("D1", "2023-07-01", 4), ("D2", "2024-01-01", 4))


def _cpu() -> float:
    return time.process_time()  # this process, every thread (DuckDB's included)


def _user_cpu() -> float:
    """User CPU-seconds of this process, every thread. Steadier than user + system on this
    machine: the system part is mostly the first touch of fresh memory (page faults), whose
    cost varies with the host (the same statement took 2.3-12.5 system CPU-s at a steady
    17-19 user CPU-s; docs/performance.md, eleventh pass)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


class _Stamp:
    """Wall clock, CPU-seconds and user CPU-seconds at one moment; :meth:`since` gives
    the three elapsed since then."""

    def __init__(self) -> None:
        self.wall, self.cpu, self.user = time.perf_counter(), _cpu(), _user_cpu()

    def since(self) -> tuple[float, float, float]:
        now = _Stamp()
        return now.wall - self.wall, now.cpu - self.cpu, now.user - self.user


def run_import_bench(n_calls: int, workdir: Path, *, seed: int = 20220101,
                     baseline: bool = True, reimport: bool = True,
                     csv: Path | None = None, profile: bool = False,
                     time_ordered: bool = False) -> dict:
    """Time the importer, DuckDB's plain CSV load and the pandas baseline on one generated
    file (in time order with ``time_ordered``; or ``csv``, a file written earlier by
    :func:`write_cad_csv`); return figures.

    Order: the import (its peak RSS is read right after it, before anything else ran in
    this process), the derived tables, the programme's claims (file-to-dashboard = those
    three), the forced re-import, then DuckDB's loads and pandas."""
    from analytics.evaluation.claims_cache import store_claims
    from analytics.ingest import import_file, parse_preset

    load_before = os.getloadavg()
    if csv is not None:
        csv_path, write_s = Path(csv), 0.0
    else:
        csv_path = workdir / f"bench_cad_{n_calls}{'_time_ordered' if time_ordered else ''}.csv"
        write_s = write_cad_csv(csv_path, n_calls, seed, time_ordered=time_ordered)
    size_mb = csv_path.stat().st_size / 1e6
    preset = parse_preset(BENCH_PRESET, where="bench_cad")

    db_path = workdir / "bench_import.duckdb"
    for p in (db_path, Path(f"{db_path}.wal")):
        p.unlink(missing_ok=True)
    raw = db.connect(db_path)
    con: Any = TimedConnection(raw) if profile else raw
    raw.executemany("INSERT INTO deployments (area_id, start_date, cso_count, note) "
                    "VALUES (?, CAST(? AS DATE), ?, 'benchmark')",
                    [list(d) for d in BENCH_DEPLOYMENTS])
    gc.collect()
    start = _Stamp()
    if profile:
        con.phase = "import"
    res = import_file(con, "calls", csv_path, preset=preset, refresh=False)
    import_s, import_cpu, import_user = start.since()
    rss_import = _peak_rss_mb()
    # call_facts then skips its sort (a table of one row group is sorted anyway)
    calls_ordered = facts.calls_in_time_order(raw)
    start = _Stamp()
    if profile:
        con.phase = "derived"
    facts.refresh_derived(con)
    derived_s, derived_cpu, derived_user = start.since()
    start = _Stamp()
    if profile:
        con.phase = "claims"
    stored = store_claims(raw)
    claims_s, claims_cpu, claims_user = start.since()
    rss_dashboard = _peak_rss_mb()
    again = None
    if reimport:
        if profile:
            con.phase = "forced re-import"
        t3 = time.perf_counter()
        again = import_file(con, "calls", csv_path, preset=preset, refresh=False, force=True)
        reimport_s = time.perf_counter() - t3
    raw.close()
    rss_reimport = _peak_rss_mb()
    floor_s, floor2_s, floor_cpu, floor2_cpu, floor2_user = (
        duckdb_floor(csv_path, workdir / "bench_floor.duckdb") if baseline
        else (None, None, None, None, None))
    dash_s = import_s + derived_s + claims_s
    out = {
        "n_calls": n_calls,
        "csv_mb": round(size_mb, 1),
        "write_csv_s": round(write_s, 2),
        "import_s": round(import_s, 2),
        "import_cpu_s": round(import_cpu, 2),
        "import_rows_per_s": round(n_calls / import_s),
        "rows_loaded": res.rows_loaded,
        "calls_in_time_order": calls_ordered,
        "rows_rejected": res.rows_rejected,
        "assignments_loaded": res.also.get("assignments", (0, 0, 0))[0],
        "derived_refresh_s": round(derived_s, 2),
        "derived_refresh_cpu_s": round(derived_cpu, 2),
        "claims_s": round(claims_s, 2),
        "claims_cpu_s": round(claims_cpu, 2),
        "claims_stored": stored is not None,
        "file_to_dashboard_s": round(dash_s, 2),
        "ratio_file_to_dashboard_vs_import": round(dash_s / import_s, 2),
        "cpu_ratio_file_to_dashboard_vs_import": round(
            (import_cpu + derived_cpu + claims_cpu) / import_cpu, 2),
        "import_user_cpu_s": round(import_user, 2),
        "derived_refresh_user_cpu_s": round(derived_user, 2),
        "claims_user_cpu_s": round(claims_user, 2),
        "user_cpu_ratio_file_to_dashboard_vs_import": round(
            (import_user + derived_user + claims_user) / import_user, 2),
        "import_plus_derived_rows_per_s": round(n_calls / (import_s + derived_s)),
        "forced_reimport_s": round(reimport_s, 2) if again else None,
        "forced_reimport_unchanged": again.rows_unchanged if again else None,
        "peak_rss_mb_import": round(rss_import),
        "peak_rss_mb_file_to_dashboard": round(rss_dashboard),
        "peak_rss_mb_after_reimport": round(rss_reimport),
        "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores, "
                   f"duckdb {duckdb.__version__}",
        "load_average_1m_at_start": round(load_before[0], 1),
    }
    if profile:
        out["profile_by_phase"] = con.by_phase()
        out["profile_top_statements"] = con.top(20)
    if floor_s is not None and floor2_s is not None:
        out.update({
            "duckdb_ctas_s": round(floor_s, 2),
            "duckdb_ctas_cpu_s": round(floor_cpu, 2),
            "duckdb_two_tables_cpu_s": round(floor2_cpu, 2),
            "cpu_ratio_import_vs_duckdb_two_tables": round(floor2_cpu / import_cpu, 2),
            "duckdb_two_tables_user_cpu_s": round(floor2_user, 2),
            "user_cpu_ratio_import_vs_duckdb_two_tables": round(floor2_user / import_user, 2),
            "duckdb_ctas_rows_per_s": round(n_calls / floor_s),
            "ratio_import_vs_duckdb_ctas": round(floor_s / import_s, 2),
            "duckdb_two_tables_s": round(floor2_s, 2),
            "duckdb_two_tables_rows_per_s": round(n_calls / floor2_s),
            "ratio_import_vs_duckdb_two_tables": round(floor2_s / import_s, 2),
        })
    if baseline:
        import pandas as pd

        gc.collect()
        pandas_db = workdir / "bench_pandas.duckdb"
        for p in (pandas_db, Path(f"{pandas_db}.wal")):  # left by an earlier --keep run
            p.unlink(missing_ok=True)
        pcon = db.connect(pandas_db)
        start = _Stamp()
        df = pd.read_csv(csv_path)
        read_s = start.since()[0]
        pcon.register("bench_df", df)
        pcon.execute("CREATE TABLE raw_calls AS SELECT * FROM bench_df")
        pcon.unregister("bench_df")
        pandas_s, pandas_cpu, pandas_user = start.since()
        del df
        pcon.close()
        out.update({
            "pandas_read_s": round(read_s, 2),
            "pandas_read_insert_s": round(pandas_s, 2),
            "pandas_rows_per_s": round(n_calls / pandas_s),
            "pandas_read_insert_cpu_s": round(pandas_cpu, 2),
            "cpu_ratio_import_vs_pandas": round(pandas_cpu / import_cpu, 2),
            "pandas_read_insert_user_cpu_s": round(pandas_user, 2),
            "user_cpu_ratio_import_vs_pandas": round(pandas_user / import_user, 2),
            "ratio_import_vs_pandas": round(pandas_s / import_s, 2),
            "peak_rss_mb_with_pandas": round(_peak_rss_mb()),
        })
    out["load_average_1m_at_end"] = round(os.getloadavg()[0], 1)
    return out


def report_lines(out: dict) -> list[str]:
    """The figures of :func:`run_import_bench` as plain-language lines for the console."""
    order = ("call_facts kept the calls' time order" if out["calls_in_time_order"]
             else "call_facts sorted")
    lines = [
        f"calls: {out['n_calls']:,} ({out['csv_mb']:,} MB CSV, written in {out['write_csv_s']} s)",
        f"importer: {out['import_s']} s ({out['import_cpu_s']} CPU-s) = "
        f"{out['import_rows_per_s']:,} rows/s (calls + assignments + units, validated; "
        f"{out['rows_rejected']} rejected); peak RSS {out['peak_rss_mb_import']:,} MB",
        f"  + derived tables: {out['derived_refresh_s']} s ({out['derived_refresh_cpu_s']} "
        f"CPU-s; {order})",
        f"  + programme claims: {out['claims_s']} s ({out['claims_cpu_s']} CPU-s)"
        + ("" if out["claims_stored"] else " (not answerable: nothing stored)"),
        f"file to dashboard (import + derived + claims): {out['file_to_dashboard_s']} s = "
        f"{out['ratio_file_to_dashboard_vs_import']}x the import alone (CPU-s: "
        f"{out['cpu_ratio_file_to_dashboard_vs_import']}x); peak RSS "
        f"{out['peak_rss_mb_file_to_dashboard']:,} MB",
        f"  user CPU-s (steadier; the system part is mostly page faults): import "
        f"{out['import_user_cpu_s']}, derived {out['derived_refresh_user_cpu_s']}, claims "
        f"{out['claims_user_cpu_s']}: file to dashboard "
        f"{out['user_cpu_ratio_file_to_dashboard_vs_import']}x the import",
    ]
    if out["forced_reimport_s"] is not None:
        lines.append(f"  forced re-import of the same file: {out['forced_reimport_s']} s, "
                     f"{out['forced_reimport_unchanged']:,} rows already present")
    lines.append(f"load average (1 min) {out['load_average_1m_at_start']} at start, "
                 f"{out['load_average_1m_at_end']} at end, on {out['machine']}")
    if "duckdb_ctas_rows_per_s" in out:
        lines.append(f"DuckDB alone, the same two tables the importer writes (calls + unit "
                     f"rows): {out['duckdb_two_tables_s']} s ({out['duckdb_two_tables_cpu_s']} "
                     f"CPU-s) = {out['duckdb_two_tables_rows_per_s']:,} rows/s")
        lines.append(f"DuckDB alone, CREATE TABLE AS SELECT * FROM read_csv (one table, no "
                     f"checks): {out['duckdb_ctas_s']} s ({out['duckdb_ctas_cpu_s']} CPU-s) = "
                     f"{out['duckdb_ctas_rows_per_s']:,} rows/s")
    if "pandas_rows_per_s" in out:
        lines.append(f"pandas read_csv + DuckDB insert: {out['pandas_read_insert_s']} s "
                     f"({out['pandas_read_insert_cpu_s']} CPU-s) = "
                     f"{out['pandas_rows_per_s']:,} rows/s")
    ratios = [(k, out.get(f"ratio_import_vs_{k}")) for k in
              ("duckdb_two_tables", "pandas", "duckdb_ctas")]
    if any(v is not None for _, v in ratios):
        names = {"duckdb_two_tables": "DuckDB two tables", "pandas": "pandas",
                 "duckdb_ctas": "DuckDB one table"}
        lines.append("ratio (importer speed / baseline speed): " + ", ".join(
            f"÷ {names[k]} {v}x" for k, v in ratios if v is not None))
        cpu = [(k, out.get(f"cpu_ratio_import_vs_{k}")) for k in ("duckdb_two_tables", "pandas")]
        lines.append("CPU-seconds ratio (baseline CPU-s / importer CPU-s; steadier on a busy "
                     "machine): " + ", ".join(f"÷ {names[k]} {v}x" for k, v in cpu
                                              if v is not None))
        user = [(k, out.get(f"user_cpu_ratio_import_vs_{k}")) for k in
                ("duckdb_two_tables", "pandas")]
        lines.append("user CPU-seconds ratio (the same without the system part): " + ", ".join(
            f"÷ {names[k]} {v}x" for k, v in user if v is not None))
    for p in out.get("profile_top_statements", ()):
        lines.append(f"  profile {p['phase']:<16} {p['wall_s']:8.3f} s {p['cpu_s']:8.3f} "
                     f"CPU-s  x{p['count']:<3} {p['sql'][:90]}")
    return lines


def run_bench_command(calls: int, workdir: Path | None, *, keep: bool, baseline: bool,
                      reimport: bool, csv: Path | None, profile: bool = False,
                      time_ordered: bool = False) -> dict:
    """``bench import`` without the console: run in ``workdir`` (default a new temporary
    folder) and remove the generated files unless ``keep`` (a given ``csv`` is kept)."""
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="cso_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return run_import_bench(calls, work, baseline=baseline, reimport=reimport, csv=csv,
                                profile=profile, time_ordered=time_ordered)
    finally:
        if not keep:
            keep_csv = Path(csv).resolve() if csv else None
            for p in work.glob("bench_*"):
                if p.resolve() != keep_csv:
                    p.unlink(missing_ok=True)
            for p in work.glob("bench_*.wal"):
                p.unlink(missing_ok=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run: python -m analytics bench import --calls N")


# -- bench metrics: the project's metric functions against pandas on the same rows ----------
#: Runs per side; the best (least wall) of them is reported.
METRICS_REPEATS = 3


def _best_of(fn: Any, repeats: int) -> tuple[dict[str, float], Any]:
    """Run ``fn`` ``repeats`` times; the run with the least wall time: wall and CPU-s.
    Kept query results are dropped before each run (every run queries the database)."""
    from analytics import engines

    best: dict[str, float] | None = None
    result = None
    for _ in range(repeats):
        engines.forget_results()
        gc.collect()
        start = _Stamp()
        got = fn()
        wall, cpu, _ = start.since()
        if best is None or wall < best["wall_s"]:
            best, result = {"wall_s": round(wall, 4), "cpu_s": round(cpu, 4)}, got
    assert best is not None
    return best, result


def _response_rows(backend: Any) -> Any:
    """The pandas side's rows, loaded from DuckDB before any timing: every call's month,
    priority, total in seconds and its exclusion step from the one validity rule
    (:func:`analytics.core.calls.exclusion_step`, default cap), so pandas applies no rule
    of its own — it keeps the ``kept`` rows and groups them."""
    from analytics.core import calls as core_calls

    t = backend.table("call_facts")
    df = t.select(month=t.month, priority=t.priority, total_s=t.total_s,
                  step=core_calls.exclusion_step(t, "total")).to_pandas()
    df["step"] = df["step"].astype("category")
    return df


def _pandas_response(df: Any) -> Any:
    """Median and P90 (minutes, linear interpolation = ``quantile_cont``) and the kept
    count of the total response by month × priority, in pandas."""
    import pandas as pd

    kept = df[df["step"] == "kept"]
    g = (kept["total_s"] / 60.0).groupby([kept["month"], kept["priority"]], sort=True,
                                           dropna=False)
    q = g.quantile([0.5, 0.9]).unstack()
    out = pd.DataFrame({"calls": g.size(), "median_total_min": q[0.5], "p90_total_min": q[0.9]})
    return out.reset_index()


def _workload_rows(backend: Any) -> Any:
    """The pandas side's rows for unit-hours: every assignment's unit type, district,
    call received time, start, clear and exclusion step
    (:func:`analytics.workload.assignment_hours`), loaded before any timing; text columns
    as pandas categories (its fastest grouping)."""
    from analytics import workload
    from analytics.filters import Filters

    t = workload.assignment_hours(backend, Filters())
    df = t.select("unit_type", "district", "received_at", "start_at", "cleared_at",
                  "exclusion").to_pandas()
    for c in ("unit_type", "district", "exclusion"):
        df[c] = df[c].astype("category")
    return df


def _pandas_workload(df: Any) -> Any:
    """Committed unit-hours (start → clear, kept assignments) by unit type × district ×
    month of the call, in pandas."""
    kept = df[df["exclusion"] == "kept"]
    hours = (kept["cleared_at"] - kept["start_at"]).dt.total_seconds() / 3600.0
    month = kept["received_at"].dt.to_period("M").dt.start_time
    district = kept["district"].cat.add_categories(["(none)"]).fillna("(none)")
    return (hours.groupby([kept["unit_type"], district, month], observed=True, sort=True)
            .sum().rename("unit_hours").reset_index()
            .rename(columns={"received_at": "month"}))


def _max_abs(a: Any, b: Any) -> float:
    import numpy as np

    x, y = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    both = ~(np.isnan(x) | np.isnan(y))
    if (np.isnan(x) != np.isnan(y)).any():
        return float("inf")
    return float(np.abs(x[both] - y[both]).max()) if both.any() else 0.0


def run_metrics_bench(db_path: str | os.PathLike[str], *,
                      repeats: int = METRICS_REPEATS) -> dict[str, Any]:
    """``bench metrics --db PATH``: the project's response-time and workload functions
    against pandas on the same rows, side by side in one run.

    - *Response times*: median and P90 of the total response by month × priority —
      :func:`analytics.response_times.response_trend` (its path is named in
      ``response.path``: the 5-second histograms, within 2.5 s of exact, or exact) against
      pandas' ``groupby(...).quantile([0.5, 0.9])`` over every call's month, priority,
      total and exclusion step (from the one validity rule), loaded from DuckDB before the
      clock starts.
    - *Workload*: committed unit-hours by unit type × district × month —
      :func:`analytics.workload.workload_summary` (one grouped scan; its by-district and
      by-month tables) against pandas over every assignment's unit type, district, times
      and exclusion step, loaded beforehand.

    Each side runs ``repeats`` times; the fastest run's wall and CPU seconds (this
    process, every thread) are reported with the ratio pandas ÷ project, and the largest
    absolute difference between the two answers (minutes; unit-hours).
    """
    import pandas as pd

    from analytics import response_hist, response_times, workload
    from analytics.filters import Filters

    con = db.connect(db_path, read_only=True)
    try:
        backend = db.ibis_backend(con)
        f = Filters()
        out: dict[str, Any] = {"db": str(db_path), "repeats": repeats,
                               "calls": int(db.scalar(con, "SELECT count(*) FROM call_facts") or 0),
                               "load_before": os.getloadavg()[0]}

        # response times
        rows = _response_rows(backend)
        proj_t, proj = _best_of(lambda: response_times.response_trend(
            backend, f, grain="month", segments=("total",)), repeats)
        pd_t, pdr = _best_of(lambda: _pandas_response(rows), repeats)
        pf = proj.frame[proj.frame["calls"] > 0][["period", "priority", "calls",
                                                  "median_total_min", "p90_total_min"]]
        pf = pf.rename(columns={"period": "month"})
        pf["month"] = pd.to_datetime(pf["month"])
        pdr["month"] = pd.to_datetime(pdr["month"])
        pf["priority"] = pf["priority"].astype("float64")
        pdr["priority"] = pdr["priority"].astype("float64")
        m = pf.merge(pdr, on=["month", "priority"], how="outer", suffixes=("", "_pd"))
        hist = proj.caveats == (response_hist.HIST_CAVEAT,)
        out["response"] = {
            "what": "median and P90 of the total response (min) by month × priority",
            "path": "5-second histograms (within 2.5 s)" if hist else "exact",
            "rows_in": len(rows), "groups": len(m),
            "project": proj_t, "pandas": pd_t,
            "max_abs_diff_min": max(_max_abs(m["median_total_min"], m["median_total_min_pd"]),
                                    _max_abs(m["p90_total_min"], m["p90_total_min_pd"])),
            "bound_min": response_hist.ERROR_BOUND_S / 60.0 if hist else 0.0,
            "same_counts": bool((m["calls"].fillna(-1) == m["calls_pd"].fillna(-1)).all()),
        }
        del rows

        # workload
        rows = _workload_rows(backend)
        proj_t, proj_w = _best_of(lambda: workload.workload_summary(backend, f), repeats)
        pd_t, pdw = _best_of(lambda: _pandas_workload(rows), repeats)
        by_d = pdw.groupby(["district", "unit_type"], observed=True)["unit_hours"].sum()
        by_m = pdw.groupby(["month", "unit_type"], observed=True)["unit_hours"].sum()
        pd_d = proj_w.by_district.frame.set_index(["district", "unit_type"])["unit_hours"]
        pd_m = proj_w.monthly.frame.assign(month=lambda d: pd.to_datetime(d["month"])) \
            .set_index(["month", "unit_type"])["unit_hours"]
        by_d.index = by_d.index.set_levels([lv.astype(str) for lv in by_d.index.levels])
        by_m.index = by_m.index.set_levels([by_m.index.levels[0],
                                            by_m.index.levels[1].astype(str)])
        jd = pd.concat([pd_d.rename("p"), by_d.rename("q")], axis=1)
        jm = pd.concat([pd_m.rename("p"), by_m.rename("q")], axis=1)
        out["workload"] = {
            "what": "committed unit-hours by unit type × district × month",
            "rows_in": len(rows), "groups": len(pdw),
            "project": proj_t, "pandas": pd_t,
            "max_abs_diff_h": max(_max_abs(jd["p"], jd["q"]), _max_abs(jm["p"], jm["q"])),
        }
        for k in ("response", "workload"):
            r = out[k]
            r["ratio_wall"] = round(r["pandas"]["wall_s"] / max(r["project"]["wall_s"], 1e-9), 2)
            r["ratio_cpu"] = round(r["pandas"]["cpu_s"] / max(r["project"]["cpu_s"], 1e-9), 2)
        out["load_after"] = os.getloadavg()[0]
        return out
    finally:
        con.close()


def metrics_report_lines(out: dict[str, Any]) -> list[str]:
    """:func:`run_metrics_bench` as console lines."""
    lines = [f"bench metrics on {out['db']} ({out['calls']:,} calls), best of {out['repeats']}, "
             f"load {out['load_before']:.2f} → {out['load_after']:.2f}"]
    for key, unit in (("response", "min"), ("workload", "h")):
        r = out[key]
        diff = r.get(f"max_abs_diff_{unit}")
        lines.append(f"{r['what']}: {r['rows_in']:,} rows in, {r['groups']:,} groups"
                     + (f" ({r['path']})" if "path" in r else ""))
        lines.append(f"  project {r['project']['wall_s']:.3f} s wall, {r['project']['cpu_s']:.3f} CPU-s"
                     f" · pandas {r['pandas']['wall_s']:.3f} s wall, {r['pandas']['cpu_s']:.3f} CPU-s")
        lines.append(f"  pandas ÷ project: {r['ratio_wall']:.1f}× wall, {r['ratio_cpu']:.1f}× CPU"
                     f" · max |difference| {diff:.4g} {unit}"
                     + (f" (bound {r['bound_min']:.4g} min)" if key == "response" else ""))
    return lines


# -- bench derived: the derived refresh of a copy of a database ----------------------------
def run_derived_bench(db_path: str | os.PathLike[str], *, repeats: int = 1,
                      workdir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``bench derived --db PATH``: :func:`analytics.facts.refresh_derived` (every derived
    table, rebuilt whole, as after a first import) on a fresh copy of the database, timed
    statement by statement; the database itself is never written.

    Each of ``repeats`` runs copies the file anew, so that two checkouts can be compared
    side by side on the same data, alternated (docs/performance.md, sixth pass). Per run:
    wall, CPU-seconds and user CPU-seconds (this process, every thread), the costliest
    statements, the copy's size after a ``CHECKPOINT`` (DuckDB reuses the blocks of
    replaced tables but does not shrink the file, so this is larger than a fresh build's)
    and its tables."""
    src = Path(db_path)
    if not src.exists():
        raise FileNotFoundError(f"no database at {src}")
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="cso_bench_derived_")
        workdir = tmp.name
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    copy = work / "bench_derived.duckdb"
    mtime = src.stat().st_mtime_ns
    runs = []
    try:
        for _ in range(repeats):
            for p in (copy, Path(f"{copy}.wal")):
                p.unlink(missing_ok=True)
            shutil.copyfile(src, copy)
            if Path(f"{src}.wal").exists():
                shutil.copyfile(f"{src}.wal", f"{copy}.wal")
            load = os.getloadavg()[0]
            raw = db.connect(copy)
            con = TimedConnection(raw)
            con.phase = "derived"
            try:
                gc.collect()
                start = _Stamp()
                facts.refresh_derived(con)
                wall, cpu, user = start.since()
                raw.execute("CHECKPOINT")
                tables = [r[0] for r in raw.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                    "ORDER BY 1").fetchall()]
            finally:
                raw.close()
            runs.append({"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                         "user_cpu_s": round(user, 2),
                         "db_mb": round(copy.stat().st_size / 2**20),
                         "tables": tables, "load_1m": round(load, 2),
                         "top_statements": con.top(12)})
    finally:
        for p in (copy, Path(f"{copy}.wal")):
            p.unlink(missing_ok=True)
        if tmp is not None:
            tmp.cleanup()
    return {"db": str(src), "source_mb": round(src.stat().st_size / 2**20),
            "source_modified": src.stat().st_mtime_ns != mtime, "runs": runs,
            "peak_rss_mb": round(_peak_rss_mb()),
            "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores, "
                       f"duckdb {duckdb.__version__}"}


def derived_report_lines(out: dict[str, Any]) -> list[str]:
    """What ``bench derived`` prints."""
    lines = [f"derived refresh of a copy of {out['db']} ({out['source_mb']:,} MB), "
             f"{out['machine']}"]
    for i, r in enumerate(out["runs"], 1):
        lines.append(f"run {i}: {r['wall_s']} s, {r['cpu_s']} CPU-s ({r['user_cpu_s']} user); "
                     f"copy {r['db_mb']:,} MB "
                     f"after CHECKPOINT (rebuilt in place: with the blocks the replaced "
                     f"tables freed), {len(r['tables'])} tables; load {r['load_1m']}")
    if out["runs"]:
        for p in out["runs"][-1]["top_statements"]:
            lines.append(f"  {p['wall_s']:8.3f} s {p['cpu_s']:8.3f} CPU-s  x{p['count']}  "
                         f"{p['sql'][:80]}")
    lines.append(f"peak RSS {out['peak_rss_mb']:,} MB")
    if out["source_modified"]:
        lines.append("WARNING: the source database was modified during the run")
    return lines
