"""Synthetic demo city "Riverton": every canonical table with known planted CSO effects.

Deterministic from a seed, vectorised (NumPy) and loaded into DuckDB through Arrow.
See ``docs/demo_city.md`` for the calibration (``CALIBRATION.md`` rows) and the planted
effects; the truth (every effect's definition, parameter and expected value) is returned,
stored in the ``settings`` table under key ``demo_truth`` and written to a JSON file.

Example
-------
>>> from analytics import db, synthetic
>>> con = db.connect(":memory:")
>>> truth = synthetic.build_demo(con, n_calls=20_000, seed=1)
>>> truth["n_calls"]
20000
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import duckdb

from analytics import db
from analytics.errors import OptionError

__all__ = ["build_demo", "build_demo_database", "truth_path_for", "DEFAULT_SEED",
           "DEFAULT_N_CALLS"]

log = logging.getLogger(__name__)

DEFAULT_SEED = 20220101
DEFAULT_N_CALLS = 1_000_000
DEFAULT_TRUTH_PATH = db.PROJECT_ROOT / "data" / "demo_truth.json"


def build_demo(
    con: duckdb.DuckDBPyConnection,
    *,
    n_calls: int = DEFAULT_N_CALLS,
    seed: int = DEFAULT_SEED,
    progress: Callable[[float, str], None] | None = None,
) -> dict:
    """Fill an open, empty canonical database with the demo city; return the truth dict.

    Parameters
    ----------
    con
        Connection with the schema created (``db.connect``); the canonical tables must be
        empty.
    n_calls
        Exact number of rows in ``calls`` (officer-initiated included).
    seed
        Random seed; the same seed and ``n_calls`` give identical tables.
    progress
        Optional callback ``progress(fraction 0..1, message)``.
    """
    from analytics.synthetic._build import build

    if int(n_calls) < 1000:
        raise OptionError(f"n_calls must be at least 1,000; got {n_calls}")
    nonempty = [t for t in db.CANONICAL_TABLES
                if db.scalar(con, f'SELECT count(*) FROM "{t}"')]  # fixed table names
    if nonempty:
        raise OptionError(f"the demo city needs empty tables; these have rows: {nonempty}")
    return build(con, int(n_calls), int(seed), progress)


def truth_path_for(path: str | os.PathLike[str]) -> Path:
    """Where the truth JSON of a demo database goes: ``data/demo_truth.json`` for the
    default database, else ``<stem>_truth.json`` next to the database."""
    p = Path(path)
    if p.resolve() == db.DEFAULT_DB_PATH.resolve():
        return DEFAULT_TRUTH_PATH
    return p.with_name(f"{p.stem}_truth.json")


def build_demo_database(
    path: str | os.PathLike[str],
    *,
    n_calls: int = DEFAULT_N_CALLS,
    seed: int = DEFAULT_SEED,
    progress: Callable[[float, str], None] | None = None,
) -> dict:
    """Build the demo city into a new database file at ``path`` (replacing it atomically).

    The database is built in a temporary file next to ``path`` and renamed over it only
    when complete, so a failure leaves no half-built database. The truth JSON is written
    by :func:`truth_path_for` and also stored in the ``settings`` table (``demo_truth``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.building-{os.getpid()}.duckdb")
    for f in (tmp, Path(str(tmp) + ".wal")):
        f.unlink(missing_ok=True)
    try:
        con = db.connect(tmp)
        try:
            truth = build_demo(con, n_calls=n_calls, seed=seed, progress=progress)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        Path(str(path) + ".wal").unlink(missing_ok=True)
        os.replace(tmp, path)
    except BaseException:
        for f in (tmp, Path(str(tmp) + ".wal")):
            f.unlink(missing_ok=True)
        raise
    out = truth_path_for(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_json = out.with_name(out.name + ".tmp")
    tmp_json.write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp_json, out)
    log.info("demo city written to %s, truth to %s", path, out)
    return truth
