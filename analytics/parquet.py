"""Parquet export of the database: the tables another engine (Spark) reads.

``python -m analytics export --parquet DIR [--db PATH]`` writes every table of the DuckDB
file — the canonical tables (PRODUCT.md section 2), the derived tables that
``facts.refresh_derived`` builds (``call_facts``, ``assignment_facts``,
``assignment_slots``, ``area_day_facts``) and the small bookkeeping tables (settings,
targets, call-type history, imports) — one ``<table>.parquet`` file each, plus
``manifest.json``:

- ``format``: ``"cso-impact-parquet"`` and ``format_version`` (this layout), so a reader
  can tell an export from any folder of Parquet files;
- ``schema_version``: the database schema version (``analytics.db.SCHEMA_VERSION``);
- ``source``: the database file, ``exported_at`` (UTC);
- ``tables``: per table the row count and the column names and DuckDB types, in the
  order written;
- ``settings``: the ``settings`` table as key → value (costs, privacy tier, demo truth).

An export is a snapshot: it is read-only for the engines that open it. Exporting into a
folder that already holds an export replaces it; a folder holding other files is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any

from analytics import db
from analytics.errors import DatabaseError

log = logging.getLogger(__name__)

FORMAT = "cso-impact-parquet"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def table_path(folder: str | os.PathLike[str], table: str) -> Path:
    """Where table ``table`` lives in an export folder."""
    return Path(folder) / f"{table}.parquet"


def _tables(con: Any) -> list[str]:
    rows = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                       "AND NOT temporary ORDER BY table_name").fetchall()
    return [r[0] for r in rows]


def _check_target(folder: Path) -> None:
    if not folder.exists():
        return
    if not folder.is_dir():
        raise DatabaseError(f"{folder} exists and is not a folder; choose another --parquet path")
    others = [p.name for p in folder.iterdir()
              if p.name != MANIFEST and not p.name.endswith(".parquet")]
    has_export = (folder / MANIFEST).exists()
    if others or (not has_export and any(folder.iterdir())):
        raise DatabaseError(f"{folder} is not empty and holds no CSO Impact export; "
                            "choose an empty or new folder")


def export_parquet(con: Any, folder: str | os.PathLike[str], *,
                   source: str | None = None) -> dict[str, Any]:
    """Write every table of ``con`` as ``<table>.parquet`` in ``folder``, plus the manifest.

    Parameters
    ----------
    con
        DuckDB connection to the canonical database (read-only is enough).
    folder
        Target folder; created when missing. An earlier export in it is replaced.
    source
        Text recorded as the export's source (the database path).

    Returns
    -------
    dict
        The manifest (also written to ``folder/manifest.json``).
    """
    out = Path(folder)
    _check_target(out)
    out.mkdir(parents=True, exist_ok=True)
    names = _tables(con)
    if "call_facts" not in names:
        raise DatabaseError("the database has no call_facts table; import data or build the "
                            "demo city first")
    for old in out.glob("*.parquet"):
        if old.stem not in names:
            old.unlink()
    tables: dict[str, Any] = {}
    for name in names:
        cols = con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                           "WHERE table_name = ? AND schema_name = 'main' ORDER BY column_index",
                           [name]).fetchall()
        path = table_path(out, name)
        # The table name comes from DuckDB's own catalog; the path is bound as a parameter
        # would be, but COPY takes no parameters, so quote it as an SQL string literal.
        target = "'" + str(path).replace("'", "''") + "'"
        con.execute(f'COPY "{name}" TO {target} (FORMAT parquet, COMPRESSION zstd)').fetchall()
        n = int(db.scalar(con, f'SELECT count(*) FROM "{name}"') or 0)
        tables[name] = {"rows": n, "columns": [{"name": c, "type": t} for c, t in cols]}
        log.info("exported %s (%d rows)", name, n)
    settings: dict[str, Any] = {}
    if "settings" in names:
        settings = {k: v for k, v in con.execute(
            "SELECT key, value FROM settings ORDER BY key").fetchall()}
    version = db.scalar(con, "SELECT max(version) FROM schema_version") \
        if "schema_version" in names else None
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema_version": int(version) if version is not None else None,
        "source": source,
        "exported_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "tables": tables,
        "settings": settings,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of an export folder, checked against this program's schema version."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise DatabaseError(f"{folder} holds no {MANIFEST}; write an export with "
                            "`python -m analytics export --parquet DIR`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatabaseError(f"cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatabaseError(f"{path} is not a CSO Impact export manifest")
    version = manifest.get("schema_version")
    if version is not None and version > db.SCHEMA_VERSION:
        raise DatabaseError(f"the export in {folder} has schema version {version}, newer than "
                            f"this program's ({db.SCHEMA_VERSION}); update CSO Impact")
    missing = [t for t in manifest.get("tables", {}) if not table_path(folder, t).exists()]
    if missing:
        raise DatabaseError(f"the export in {folder} lacks {', '.join(missing)}.parquet "
                            f"(listed in {MANIFEST}); export again")
    return manifest
