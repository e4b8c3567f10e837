"""Command-line interface: ``python -m analytics {init,demo,info,import,upgrade,compact,bench} ...``.

Exit codes: 0 success, 1 unexpected failure, 2 bad arguments, input that cannot be used, or
a database that cannot be used (disk full, read-only, in use by another program: one line).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb

from analytics import db, facts
from analytics.core import clock
from analytics.errors import CSOError
from analytics.privacy import TIERS
from analytics.progress import text_progress_bar

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad arguments already; keep the message plain."""


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value}")
    return value


# -- demo -------------------------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace) -> int:
    path = db.resolve_db_path(args.db)
    if path.exists() and not args.force:
        # Rebuilding silently would discard imported data; say so instead.
        print(f"{path} already exists; pass --force to replace it with a new demo city.",
              file=sys.stderr)
        return EXIT_USAGE
    from analytics import synthetic  # heavy imports only when building

    truth = synthetic.build_demo_database(
        path, n_calls=args.calls, seed=args.seed, progress=text_progress_bar()
    )
    print(f"demo city written to {path} ({truth['n_calls']:,} calls, seed {args.seed})")
    return EXIT_OK


# -- claims -----------------------------------------------------------------------------
def _cmd_claims(args: argparse.Namespace) -> int:
    from analytics.evaluation.claims_cache import store_claims

    path = db.resolve_db_path(args.db)
    if not path.exists():
        print(f"error: no database at {path}", file=sys.stderr)
        return EXIT_USAGE
    con = db.connect(path)
    try:
        seconds = store_claims(con)
    finally:
        con.close()
    if seconds is None:
        print(f"{path} has no calls or no deployments: the claims cannot be answered yet",
              file=sys.stderr)
        return EXIT_USAGE
    print(f"programme claims answered and stored in {path} ({seconds:.1f} s)")
    return EXIT_OK


# -- init -------------------------------------------------------------------------------
def _cmd_init(args: argparse.Namespace) -> int:
    path = db.resolve_db_path(args.db)
    facts.init_database(path)  # DatabaseError (exit 2) when the file exists
    print(f"empty database created at {path}")
    print(f"next: python -m analytics import calls YOUR_EXPORT.csv --preset NAME --db {path}")
    return EXIT_OK


def _cmd_upgrade(args: argparse.Namespace) -> int:
    path = db.resolve_db_path(args.db)
    if not path.exists():
        print(f"no database at {path}", file=sys.stderr)
        return EXIT_USAGE
    con = db.connect(path)  # opening for writing migrates (analytics.db.create_schema)
    try:
        version = db.scalar(con, "SELECT max(version) FROM schema_version")
        zone = db.department_timezone(con)
        built = facts.build_missing_derived(con)  # derived tables added since it was made
        dropped = facts.drop_retired_tables(con)  # derived tables this version no longer reads
        if built or dropped:
            con.execute("CHECKPOINT")
        free = db.free_bytes(con)
    finally:
        con.close()
    print(f"database {path} is at schema {version}"
          + (f"; event times are UTC, shown in {zone}" if zone else ""))
    if built:
        print("built the derived tables it lacked: " + ", ".join(built))
    if dropped:
        print("dropped the tables this version no longer uses: " + ", ".join(dropped))
    if free >= COMPACT_HINT_BYTES:
        print(f"{free / 1e6:,.0f} MB of the file are free space that DuckDB keeps for new "
              f"data; `python -m analytics compact --db {path}` gives it back to the disk")
    return EXIT_OK


#: ``upgrade`` suggests ``compact`` when the file holds at least this much free space.
COMPACT_HINT_BYTES = 64 << 20


def _cmd_compact(args: argparse.Namespace) -> int:
    path = db.resolve_db_path(args.db)
    t0 = time.perf_counter()
    done = db.compact(path)  # DatabaseError (exit 2): nothing was changed
    print(f"compacted {path}: {done.bytes_before / 1e6:,.0f} MB -> "
          f"{done.bytes_after / 1e6:,.0f} MB, {len(done.tables)} tables copied with their "
          f"row counts checked ({time.perf_counter() - t0:.1f} s)")
    return EXIT_OK


# -- info -------------------------------------------------------------------------------
_DATE_COLUMNS = {
    "calls": "received_at",
    "assignments": "dispatched_at",
    "incidents": "reported_at",
    "activities": "started_at",
    "staffing": "date",
    "deployments": "start_date",
    "imports": "imported_at",
}


def _cmd_info(args: argparse.Namespace) -> int:
    path = db.resolve_db_path(args.db)
    if not path.exists():
        print(f"no database at {path}; create an empty one for your own data with "
              f"`python -m analytics init --db {path}`, or the synthetic demo city with "
              f"`python -m analytics demo --db {path}`", file=sys.stderr)
        return EXIT_USAGE
    con = db.connect(path, read_only=True)
    try:
        counts = db.table_counts(con)
        zone = db.department_timezone(con)

        def local(expr: str, table: str) -> str:  # event times are UTC instants: show local
            return clock.local_sql(expr, zone) if table in db.EVENT_TIME_COLUMNS else expr

        print(f"database {path} ({db.database_kind(con) or 'kind not recorded'})")
        print(f"{'table':<20}{'rows':>14}  date range")
        for name, n in counts.items():
            rng = ""
            col = _DATE_COLUMNS.get(name)
            if col and n:
                # Table and column names come from the fixed mapping above.
                lo, hi = con.execute(f'SELECT {local(f"min({col})", name)}, {local(f"max({col})", name)} '
                                     f'FROM "{name}"').fetchall()[0]
                rng = f"{lo} .. {hi}"
            print(f"{name:<20}{n:>14,}  {rng}")
    finally:
        con.close()
    return EXIT_OK


# -- export -----------------------------------------------------------------------------
def _cmd_export(args: argparse.Namespace) -> int:
    from analytics import parquet

    path = db.resolve_db_path(args.db)
    con = db.connect(path, read_only=True)
    try:
        manifest = parquet.export_parquet(con, args.parquet, source=str(path))
    finally:
        con.close()
    rows = sum(t["rows"] for t in manifest["tables"].values())
    print(f"{len(manifest['tables'])} tables ({rows:,} rows) written to {args.parquet} "
          f"as Parquet, with {parquet.MANIFEST}")
    return EXIT_OK


# -- metrics ----------------------------------------------------------------------------
def _iso_date(text: str):  # noqa: ANN202 - returns datetime.date
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _cmd_metrics(args: argparse.Namespace) -> int:
    import json

    from analytics import engines
    from analytics.filters import Filters
    from analytics.metrics_report import metrics_report

    filters = Filters(start=args.date_from, end=args.date_to, districts=tuple(args.district or ()))
    from analytics import privacy

    server = privacy.server_policy()
    tier = privacy.strictest(server.tier, args.tier) if args.tier else server.tier
    con = None
    if args.engine == "spark":
        if args.db is not None:
            print("--engine spark reads a Parquet export: pass --parquet DIR (write one with "
                  "`python -m analytics export --parquet DIR`)", file=sys.stderr)
            return EXIT_USAGE
        if args.parquet is None:
            print("--engine spark needs --parquet DIR", file=sys.stderr)
            return EXIT_USAGE
        backend = engines.spark_backend(args.parquet)
        source = str(args.parquet)
    elif args.parquet is not None:
        backend = engines.duckdb_parquet_backend(args.parquet)
        source = str(args.parquet)
    else:
        path = db.resolve_db_path(args.db)
        con = db.connect(path, read_only=True)
        backend = db.ibis_backend(con)
        source = str(path)
    start = time.perf_counter()
    try:
        policy = privacy.Policy(tier, server.k, period_unit=server.period_unit)
        if tier != "analyst":  # the tier needs the crosswalk's flags, parents, date span
            policy = privacy.for_data(policy, backend)
        report = privacy.release_report(
            metrics_report(backend, privacy.scope_filters(filters, policy)), policy)
    finally:
        if con is not None:
            con.close()
    seconds = time.perf_counter() - start
    text = json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    Path(args.json).write_text(text, encoding="utf-8")
    print(f"metrics from {source} on {args.engine} written to {args.json} ({seconds:.1f} s)")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m analytics", description="CSO Impact command line")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="build the synthetic demo city database")
    d.add_argument("--calls", type=_positive_int, default=1_000_000,
                   help="number of calls for service (default 1,000,000)")
    d.add_argument("--seed", type=int, default=20220101, help="random seed (default 20220101)")
    d.add_argument("--db", type=Path, help="database file (default $CSO_DB or data/cso.duckdb)")
    d.add_argument("--force", action="store_true", help="replace an existing database file")
    d.set_defaults(func=_cmd_demo)

    n = sub.add_parser("init", help="create an empty database for your own data")
    n.add_argument("--db", type=Path, help="database file (default $CSO_DB or data/cso.duckdb)")
    n.set_defaults(func=_cmd_init)

    u = sub.add_parser("upgrade", help="convert a database made by an older version "
                                       "(pages refuse it until then)")
    u.add_argument("--db", type=Path, help="database file (default $CSO_DB or data/cso.duckdb)")
    u.set_defaults(func=_cmd_upgrade)

    k = sub.add_parser("compact", help="rewrite the database file without the free space "
                                       "that dropped and rebuilt tables left in it")
    k.add_argument("--db", type=Path, help="database file (default $CSO_DB or data/cso.duckdb)")
    k.set_defaults(func=_cmd_compact)

    i = sub.add_parser("info", help="print table row counts and date ranges")
    i.add_argument("--db", type=Path, help="database file (default $CSO_DB or data/cso.duckdb)")
    i.set_defaults(func=_cmd_info)

    e = sub.add_parser("export", help="write every table as Parquet (for Spark and other "
                                      "engines)")
    e.add_argument("--parquet", type=Path, required=True, metavar="DIR",
                   help="folder for <table>.parquet files and manifest.json")
    e.add_argument("--db", type=Path, help="database file (default $CSO_DB or data/cso.duckdb)")
    e.set_defaults(func=_cmd_export)

    m = sub.add_parser("metrics", help="compute every headline metric family and write JSON")

    from analytics.core import options
    from analytics.engines import Engine

    m.add_argument("--engine", choices=options.choices(Engine), default="duckdb",
                   help="where the metrics run (default duckdb)")
    src = m.add_mutually_exclusive_group()
    src.add_argument("--db", type=Path,
                     help="DuckDB database file (default $CSO_DB or data/cso.duckdb)")
    src.add_argument("--parquet", type=Path, metavar="DIR",
                     help="a Parquet export (`export --parquet DIR`); needed for spark")
    m.add_argument("--from", dest="date_from", type=_iso_date, metavar="DATE",
                   help="first day included (YYYY-MM-DD)")
    m.add_argument("--to", dest="date_to", type=_iso_date, metavar="DATE",
                   help="last day included (YYYY-MM-DD)")
    m.add_argument("--district", action="append", metavar="D",
                   help="restrict to a district (repeat for several)")
    m.add_argument("--json", type=Path, required=True, metavar="FILE",
                   help="where to write the metrics")
    m.add_argument("--tier", choices=TIERS,
                   help="privacy tier of the output; can only be stricter than the "
                        "server's own (CSO_TIER, default analyst)")
    m.set_defaults(func=_cmd_metrics)

    c = sub.add_parser("claims", help="answer the programme's claims and store them for the "
                                      "Evaluation page (imports and demo builds do it too)")
    c.add_argument("--db", type=Path, help="database file (default $CSO_DB or data/cso.duckdb)")
    c.set_defaults(func=_cmd_claims)

    # The importer adds its own sub-command.
    from analytics.ingest.cli import register as register_import

    register_import(sub)
    _register_bench(sub)
    _register_calibrate(sub)
    _register_briefing(sub)
    return p


def _cmd_calibrate(args: argparse.Namespace) -> int:
    import json

    from analytics.evaluation import calibration

    rows = [] if args.skip_panels else calibration.calibrate(args.panels, seed=args.seed)
    n_family = args.panels if args.family_panels is None else args.family_panels
    family = calibration.calibrate_family(n_family, seed=args.seed) if n_family else None
    jsonl = args.cities_jsonl

    def city_done(i: int, city: dict) -> None:
        print(f"city {i + 1}/{args.cities} (seed {city['seed']}): planted value covered: "
              + ", ".join(f"{k} {'yes' if v['covered'] else 'NO'}"
                          for k, v in city.items() if isinstance(v, dict)), flush=True)
        if jsonl is not None:  # one line per city as it finishes: a stopped run keeps them
            with jsonl.open("a", encoding="utf-8") as f:
                f.write(json.dumps(city) + "\n")

    if args.cities_from is not None:  # summarise cities computed before (JSON lines)
        lines = args.cities_from.read_text(encoding="utf-8").splitlines()
        cities = calibration.summarize_cities([json.loads(x) for x in lines if x.strip()])
    elif args.cities and args.generator_cities:  # counts from the generator, no database
        cities = calibration.summarize_cities(calibration.calibrate_generator(
            args.cities, n_calls=args.city_calls, seed0=args.city_seed, progress=city_done))
    else:
        cities = (calibration.calibrate_cities(args.cities, n_calls=args.city_calls,
                                               seed0=args.city_seed, progress=city_done)
                  if args.cities else None)
    for line in calibration.report_lines(rows, cities, family):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps({"panels": rows, "family": family,
                                               "cities": cities}, indent=2)
                                   + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


def _register_calibrate(sub: argparse._SubParsersAction) -> None:
    """``calibrate``: false-positive rates and coverage of the claims' inference
    (:mod:`analytics.evaluation.calibration`)."""
    c = sub.add_parser("calibrate", help="simulate demo-shaped panels (and demo cities) and "
                                         "report false positives, CI coverage, pre-trend size")
    c.add_argument("--panels", type=_positive_int, default=500,
                   help="simulated panels per claim and district-shock size (default 500)")
    c.add_argument("--family-panels", type=int, default=None,
                   help="simulated families of the 4 claims per shock size for the "
                        "family-wise error and power (default: --panels; 0 = skip)")
    c.add_argument("--skip-panels", action="store_true",
                   help="skip the per-claim panels (e.g. to run only the family or cities)")
    c.add_argument("--cities", type=int, default=0,
                   help="also build this many demo cities (different seeds; default 0)")
    c.add_argument("--city-calls", type=_positive_int, default=60_000,
                   help="calls per demo city (default 60,000)")
    c.add_argument("--city-seed", type=int, default=1000,
                   help="seed of the first demo city (default 1000; the next get +1, +2, …)")
    c.add_argument("--cities-jsonl", type=Path,
                   help="append each city's results to this file as it finishes")
    c.add_argument("--generator-cities", action="store_true",
                   help="take the cities' beat-month counts straight from the demo "
                        "generator (no database: ~0.4 CPU-s a city; no urgent response)")
    c.add_argument("--cities-from", type=Path,
                   help="summarise the cities in this --cities-jsonl file instead of "
                        "building new ones")
    c.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    c.add_argument("--json", type=Path, help="write the figures to this JSON file")
    c.set_defaults(func=_cmd_calibrate)


# -- briefing ---------------------------------------------------------------------------
def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _register_briefing(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("briefing", help="write the council briefing (public tier) as HTML "
                                        "or PDF")
    b.add_argument("--out", type=Path, required=True, metavar="FILE.{html,pdf}",
                   help="output file; its extension chooses HTML or PDF")
    b.add_argument("--from", dest="start", type=_iso_date, metavar="DATE",
                   help="a day in the reporting period; the briefing covers the whole "
                        "public period (calendar year, or quarter with CSO_PUBLIC_PERIOD) "
                        "that contains --to (else --from); default the latest one the data "
                        "cover")
    b.add_argument("--to", dest="end", type=_iso_date, metavar="DATE",
                   help="last day of the reporting period (see --from)")
    b.add_argument("--db", type=Path, help="database file (default $CSO_DB or data/cso.duckdb)")
    b.set_defaults(func=_cmd_briefing)


def _cmd_briefing(args: argparse.Namespace) -> int:
    from analytics import briefing

    kind = args.out.suffix.lower().lstrip(".")
    if kind not in ("html", "pdf"):
        print(f"--out must end in .html or .pdf, got {args.out}", file=sys.stderr)
        return EXIT_USAGE
    if args.start and args.end and args.start > args.end:
        print(f"--from {args.start} is after --to {args.end}", file=sys.stderr)
        return EXIT_USAGE
    path = db.resolve_db_path(args.db)
    if not path.exists():
        print(f"no database at {path}", file=sys.stderr)
        return EXIT_USAGE
    con = db.connect(path, read_only=True)
    try:
        b = briefing.build_briefing(con, start=args.start, end=args.end)
    finally:
        con.close()
    text = briefing.briefing_html(b)
    data = text.encode("utf-8") if kind == "html" else briefing.briefing_pdf(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    period = (f"period {b.period.start:%Y-%m-%d} – {b.period.end:%Y-%m-%d}; "
              if b.period is not None else "")
    print(f"briefing written to {args.out} ({len(data):,} bytes; {period}public tier; "
          f"{'synthetic demo data' if b.synthetic else 'real data'})")
    return EXIT_OK


def _cmd_bench_import(args: argparse.Namespace) -> int:
    from analytics import bench

    out = bench.run_bench_command(args.calls, args.workdir, keep=args.keep,
                                  baseline=not args.no_baseline,
                                  reimport=not args.no_reimport, csv=args.csv,
                                  profile=getattr(args, "profile", False),
                                  time_ordered=getattr(args, "time_ordered", False))
    for line in bench.report_lines(out):
        print(line)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


def _cmd_bench_metrics(args: argparse.Namespace) -> int:
    import json

    if args.parquet is None:  # the metric functions against pandas on the same rows
        from analytics import bench

        if not Path(args.db).exists():
            print(f"no database at {args.db}", file=sys.stderr)
            return EXIT_USAGE
        res = bench.run_metrics_bench(args.db, repeats=args.repeats)
        for line in bench.metrics_report_lines(res):
            print(line)
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
            print(f"figures written to {args.json}")
        return EXIT_OK
    if args.workdir is None:
        print("--parquet needs --workdir (the folder for the two metrics JSON files)",
              file=sys.stderr)
        return EXIT_USAGE
    from analytics import bench_engines

    out = bench_engines.bench_metrics(args.db, args.parquet, args.workdir)
    for line in bench_engines.report_lines(out):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    ok = all(r["returncode"] == 0 for r in out["runs"].values()) and out.get("same_json")
    return EXIT_OK if ok else EXIT_FAIL


def _cmd_bench_derived(args: argparse.Namespace) -> int:
    import json

    from analytics import bench

    if not args.db.exists():
        print(f"no database at {args.db}", file=sys.stderr)
        return EXIT_USAGE
    out = bench.run_derived_bench(args.db, repeats=args.repeats, workdir=args.workdir)
    for line in bench.derived_report_lines(out):
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return EXIT_OK


def _register_bench(sub: argparse._SubParsersAction) -> None:
    """``bench import`` and ``bench all`` (see :mod:`analytics.bench`)."""
    b = sub.add_parser("bench", help="benchmarks (import speed)")
    bsub = b.add_subparsers(dest="bench_command", required=True)
    i = bsub.add_parser("import", help="time the importer against a pandas baseline")
    i.add_argument("--calls", type=_positive_int, default=1_000_000,
                   help="number of demo calls to write and import (default 1,000,000)")
    i.add_argument("--json", type=Path, help="write the figures to this JSON file")
    i.add_argument("--workdir", type=Path, help="folder for the CSV and databases (default temp)")
    i.add_argument("--keep", action="store_true", help="keep the generated CSV and databases")
    i.add_argument("--csv", type=Path,
                   help="import this file (written earlier with the same --calls) instead of "
                        "writing a new one")
    i.add_argument("--no-baseline", action="store_true",
                   help="skip the baselines (DuckDB CREATE TABLE AS and pandas)")
    i.add_argument("--no-reimport", action="store_true",
                   help="skip the forced re-import of the same file")
    i.add_argument("--profile", action="store_true",
                   help="time every SQL statement (wall and CPU) and print the costliest")
    i.add_argument("--time-ordered", action="store_true",
                   help="write the rows in order of receipt, as a CAD export comes (default: "
                        "in no time order, the worst case for the derived tables; with --csv "
                        "the file's own order counts)")
    i.set_defaults(func=_cmd_bench_import)
    a = bsub.add_parser("all", help="every benchmark this checkout has (import at 1M calls)")
    a.add_argument("--json", type=Path, help="write the import figures to this JSON file")
    a.set_defaults(func=_cmd_bench_import, calls=1_000_000, workdir=None, keep=False,
                   no_baseline=False, no_reimport=False, csv=None)
    pg = bsub.add_parser("pages", help="time every page in headless chromium against a "
                                       "fresh server (wall, server CPU-s, RSS)")
    from ui import bench_browser

    bench_browser.add_arguments(pg)
    pg.set_defaults(func=bench_browser.run_command)
    sc = bsub.add_parser("scale", help="`bench pages` JSON files side by side as a Markdown "
                                       "table (how each page's cost grows with the calls)")
    sc.add_argument("files", nargs="+", type=Path,
                    help="--json files of `bench pages`, smallest database first")
    sc.set_defaults(func=bench_browser.scale_command)
    dv = bsub.add_parser("derived", help="time the derived refresh (every derived table, "
                                         "rebuilt whole) on a copy of a database")
    dv.add_argument("--db", type=Path, required=True, help="DuckDB database file (not written)")
    dv.add_argument("--repeats", type=_positive_int, default=1,
                    help="runs, each on a fresh copy (default 1)")
    dv.add_argument("--workdir", type=Path, help="folder for the copy (default temp)")
    dv.add_argument("--json", type=Path, help="write the figures to this JSON file")
    dv.set_defaults(func=_cmd_bench_derived)
    m = bsub.add_parser("metrics", help="time the response-time and workload functions "
                                         "against pandas on the same rows; with --parquet, "
                                         "the metrics command on DuckDB and on Spark")
    m.add_argument("--db", type=Path, required=True, help="DuckDB database file")
    m.add_argument("--repeats", type=_positive_int, default=3,
                   help="runs per side, the best reported (default 3; against pandas)")
    m.add_argument("--parquet", type=Path, metavar="DIR",
                   help="its Parquet export (`export --parquet DIR`): time DuckDB against "
                        "Spark instead")
    m.add_argument("--workdir", type=Path,
                   help="with --parquet: folder for the two metrics JSON files")
    m.add_argument("--json", type=Path, help="write the figures to this JSON file")
    m.set_defaults(func=_cmd_bench_metrics)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except CSOError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, duckdb.Error) as exc:
        # Disk full, read-only or locked file, file-size limit: one line, no traceback.
        log.debug("storage error", exc_info=True)
        print(f"error: {db.storage_problem(exc)}", file=sys.stderr)
        return EXIT_USAGE
