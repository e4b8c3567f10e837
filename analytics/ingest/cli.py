"""``python -m analytics import TABLE FILE [--preset NAME | --preset-file PATH] [--db PATH]``.

Prints rows read / loaded / updated / already present / rejected. Exit 0 on success (also
when some rows were rejected: they are listed in the rejects CSV), 2 when the file cannot
be imported at all (the message names the file and the column).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics import db
from analytics.errors import CSOError
from analytics.ingest._load import import_file, rejects_dir_for
from analytics.ingest._presets import list_presets
from analytics.ingest._spec import TABLE_NAMES
from analytics.progress import text_progress_bar

EXIT_OK, EXIT_USAGE = 0, 2


def _cmd_import(args: argparse.Namespace) -> int:
    path = db.resolve_db_path(args.db)
    try:
        con = db.connect(path)
    except CSOError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = import_file(
            con, args.table, args.file, preset=args.preset, preset_file=args.preset_file,
            rejects_dir=rejects_dir_for(path), force=args.force,
            progress=None if args.quiet else text_progress_bar(),
        )
        claims_s = _store_claims(con)
    except CSOError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("nothing was imported; the database is unchanged.", file=sys.stderr)
        return EXIT_USAGE
    finally:
        con.close()
    print(result.summary())
    if claims_s:
        print(f"programme claims answered and stored for the Evaluation page ({claims_s:.1f} s)")
    print(f"database {path} (import #{result.import_id}, {result.seconds:.1f} s)")
    return EXIT_OK


def _store_claims(con: object) -> float | None:
    """The last step of an import: the programme's claims for the Evaluation page, stored
    (skipped when they are current, e.g. a repeated file). The import itself is committed
    already; a failure here is reported and leaves the page to compute them."""
    from analytics.evaluation.claims_cache import refresh_stored

    try:
        return refresh_stored(con)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - the import stands; say what did not happen
        print(f"note: the programme claims were not stored ({type(exc).__name__}: "
              f"{str(exc).splitlines()[0][:200]}); the Evaluation page computes them on "
              "its next visit", file=sys.stderr)
        return None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import`` sub-command to the main CLI."""
    p = subparsers.add_parser(
        "import", help="import a CSV/Excel/Parquet/GeoJSON file into a canonical table",
        description="Import one file. Shipped presets: " + ", ".join(list_presets()),
    )
    p.add_argument("table", choices=TABLE_NAMES, help="canonical table to fill")
    p.add_argument("file", type=Path, help="file to import")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", help="shipped preset name (default: canonical)")
    g.add_argument("--preset-file", type=Path, help="your own preset TOML file")
    p.add_argument("--db", type=Path, help="database file (default $CSO_DB or data/cso.duckdb)")
    p.add_argument("--force", action="store_true",
                   help="import even if this exact file was imported before")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_import)
