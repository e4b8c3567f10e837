"""The mapping assistant: suggest source → canonical columns, preview, history queries.

Suggestions score each (canonical column, source column) pair by header name (exact
canonical name, known vendor synonyms, shared words) and by sample values (do they parse
as times, numbers in a latitude range, small integers for priority ...). The best pair
per canonical column wins, each source column used once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from analytics.errors import InputDataError
from analytics.ingest import _readers
from analytics.ingest._presets import DEFAULT_TIME_FORMATS, Preset, parse_preset
from analytics.ingest._spec import SPECS
from analytics.ingest._transform import build_plan, ident

# Vendor header names seen in real exports (lower-case, words separated by single spaces).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "call_id": ("cad event number", "event number", "incident number", "incident id", "call id",
                "call number", "cad number", "event id", "caseno", "case number", "cfs number"),
    "received_at": ("original time queued", "time queued", "call received", "received",
                    "call timestamp", "call time", "date time", "call date time", "create time",
                    "created", "timestamp", "call datetime", "incident date", "event date"),
    "dispatched_at": ("dispatch time", "dispatched", "time dispatched", "first dispatched",
                      "dispatch datetime"),
    "enroute_at": ("enroute time", "en route", "time enroute", "enroute"),
    "arrived_at": ("arrived time", "arrival time", "on scene time", "arrived", "onscene",
                   "time arrived", "first arrived"),
    "cleared_at": ("cleared time", "close time", "closed", "cleared", "time closed",
                   "clear time"),
    "call_type": ("final call type", "call type final", "nature of call", "nature", "calldescription",
                  "call description", "offense", "type description", "final type",
                  "event type", "incident type", "problem", "call nature", "type"),
    "call_type_initial": ("initial call type", "call type initial", "original call type",
                          "initial type"),
    "priority": ("priority", "call priority", "prio", "priority code"),
    "source": ("call type", "call source", "source", "how received", "origin"),
    "self_initiated": ("officerinitiated", "officer initiated", "self initiated", "onview"),
    "disposition": ("event clearance description", "disposition", "clearance", "final disposition",
                    "close code"),
    "district": ("district", "precinct", "division", "district id", "zone", "sector", "area"),
    "beat": ("beat", "reporting area", "sca", "beat id", "patrol area"),
    "lat": ("latitude", "lat", "blurred latitude", "geo lat", "y"),
    "lon": ("longitude", "lon", "lng", "long", "blurred longitude", "geo lon", "x"),
    "unit_id": ("unit number", "unit id", "respondingunit", "responding unit", "unit", "unit name"),
    "incident_id": ("incident id", "incident number", "report number", "case number", "caseno"),
    "occurred_at": ("first occurrence date", "occurred", "occurrence date", "date occurred",
                    "offense date", "event date"),
    "reported_at": ("reported date", "reported", "date reported", "report date"),
    "offense": ("offense type id", "offense", "offense description", "crime type"),
    "offense_category": ("offense category id", "offense category", "category", "crime category",
                         "cvlegend"),
    "area_id": ("area id", "beat", "district", "area"),
    "start_date": ("start date", "start", "from", "began"),
    "end_date": ("end date", "end", "to", "until"),
    "cso_count": ("cso count", "csos", "number of csos", "officers"),
    "cso_tier": ("cso tier", "tier", "cso eligibility"),
    "category": ("category", "group", "call category"),
    "sensitive": ("sensitive", "confidential", "restricted"),
    "description": ("description", "call type description"),
    "activity_id": ("activity id", "log id", "id"),
    "activity_type": ("activity type", "activity", "type"),
    "started_at": ("start time", "started", "begin time"),
    "ended_at": ("end time", "ended", "stop time"),
    "contacts": ("contacts", "referrals", "people reached"),
    "on_duty_hours": ("on duty hours", "hours", "staffed hours"),
    "unit_type": ("unit type", "type"),
}


def _norm(name: str) -> str:
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", s.lower()).split())


@dataclass(frozen=True)
class MappingRow:
    """One line of the mapping table the user edits."""

    canonical: str
    source: str | None
    required: bool
    kind: str
    score: float
    example: str | None


def _looks(values: list[str], kind: str, canonical: str) -> float:
    vals = [v.strip() for v in values if v is not None and str(v).strip()][:50]
    if not vals:
        return 0.0
    if kind in ("timestamp", "date"):
        pat = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2})?")
        return sum(bool(pat.match(v)) for v in vals) / len(vals)
    nums = []
    for v in vals:
        try:
            nums.append(float(v))
        except ValueError:
            pass
    share = len(nums) / len(vals)
    if canonical == "lat":
        return share * (sum(-90 <= x <= 90 and x != 0 for x in nums) / max(len(nums), 1))
    if canonical == "lon":
        return share * (sum(-180 <= x <= 180 and abs(x) > 0 for x in nums) / max(len(nums), 1))
    if canonical == "priority":
        return share * (sum(float(x).is_integer() and 0 <= x <= 9 for x in nums) / max(len(nums), 1))
    if kind in ("int", "float"):
        return share
    return 0.5


def suggest_mapping(table: str, headers: list[str], sample: list[list[str | None]]) -> list[MappingRow]:
    """Best source column for each canonical column of ``table`` (None when nothing fits)."""
    spec = SPECS[table]
    cols = list(spec.names)
    if table == "calls":
        cols.append("unit_id")
    norm = {h: _norm(h) for h in headers}
    by_col = {h: [r[i] if i < len(r) else None for r in sample] for i, h in enumerate(headers)}
    scored: list[tuple[float, str, str]] = []
    for c in cols:
        kind = spec.column(c).kind if c in spec.names else "text"
        syn = SYNONYMS.get(c, ())
        for h in headers:
            n = norm[h]
            name_score = 0.0
            if n == _norm(c):
                name_score = 1.0
            elif n in syn:
                name_score = 0.95 - 0.02 * syn.index(n)
            else:
                words = set(n.split())
                best = max((len(words & set(s.split())) / len(set(s.split())) for s in syn),
                           default=0.0)
                name_score = 0.6 * best
            if c == "call_type" and "final" in n.split() and name_score > 0:
                name_score = 1.05  # a CAD's final type beats its "Call Type" (how received)
            if name_score <= 0:
                continue
            value_score = _looks(by_col[h], kind, c)
            if kind in ("timestamp", "date", "float", "int") and value_score < 0.5:
                name_score *= 0.3
            scored.append((name_score + 0.2 * value_score, c, h))
    scored.sort(key=lambda t: -t[0])
    chosen: dict[str, tuple[str, float]] = {}
    used: set[str] = set()
    for score, c, h in scored:
        if c in chosen or h in used or score < 0.35:
            continue
        chosen[c] = (h, score)
        used.add(h)
    out = []
    for c in cols:
        h, score = chosen.get(c, (None, 0.0))
        ex = next((v for v in by_col.get(h, []) if v not in (None, "")), None) if h else None
        kind = spec.column(c).kind if c in spec.names else "text"
        out.append(MappingRow(c, h, c in spec.required, kind, round(score, 2), ex))
    return out


def guess_time_formats(values: list[str | None]) -> list[str]:
    """The default formats that parse the sample's timestamps, best first."""
    import datetime as dt

    vals = [v.strip() for v in values if v and v.strip()][:50]
    hits = []
    for f in DEFAULT_TIME_FORMATS:
        pyf = f.replace("%g", "%f")
        n = 0
        for v in vals:
            try:
                dt.datetime.strptime(v, pyf)
                n += 1
            except ValueError:
                pass
        if n:
            hits.append((n, f))
    hits.sort(key=lambda t: -t[0])
    return [f for _, f in hits]


def mapping_to_preset(
    table: str,
    mapping: dict[str, str | None],
    *,
    name: str = "my_export",
    time_formats: list[str] | None = None,
    timezone: str | None = None,
    officer_initiated_column: str | None = None,
    officer_initiated_values: list[str] | None = None,
    unit_rules: list[dict] | None = None,
    delimiter: str | None = None,
) -> dict:
    """A preset dict (valid for :func:`parse_preset`/``save_preset``) from the edited table."""
    cols = {c: s for c, s in mapping.items() if s and c != "unit_id"}
    data: dict = {"name": name, "table": table, "description": f"saved from the Data page ({table})"}
    if delimiter:
        data["read"] = {"delimiter": delimiter}
    tsec: dict = {}
    if time_formats:
        tsec["formats"] = list(time_formats)
    if timezone:
        tsec["timezone"] = timezone
    if tsec:
        data["time"] = tsec
    data["columns"] = cols
    if officer_initiated_column:
        data["officer_initiated"] = {"column": officer_initiated_column,
                                     "values": list(officer_initiated_values or [])}
    if table == "calls" and mapping.get("unit_id"):
        units: dict = {"column": mapping["unit_id"], "default_type": "sworn"}
        if unit_rules:
            units["rules"] = unit_rules
        data["units"] = units
    parse_preset(data, where=f"{name}.toml")  # raises InputDataError when inconsistent
    return data


def read_sample(con: duckdb.DuckDBPyConnection, path: str | Path, preset: Preset,
                n: int = 20) -> tuple[list[str], list[list[str | None]]]:
    """Header and the first ``n`` rows of a file, as text."""
    stage = _readers.stage_file(con, Path(path), preset)
    try:
        rows = con.execute(f"SELECT * FROM ({stage.source_sql}) LIMIT {int(n)}",
                           stage.params).fetchall()
    except duckdb.Error as exc:
        raise InputDataError(_readers._reader_message(exc, stage.delimiter or "",
                                                      stage.encoding or ""),
                             file=Path(path).name) from None
    finally:
        _readers.release(con, stage)
    return stage.columns, [list(r) for r in rows]


def preview(con: duckdb.DuckDBPyConnection, path: str | Path, preset: Preset,
            n: int = 20) -> pd.DataFrame:
    """The first ``n`` rows of a file converted to the canonical columns (nothing saved).

    Cells that would be rejected show as empty; :func:`import_file` reports them.
    """
    path = Path(path)
    spec = SPECS[preset.table]
    stage = _readers.stage_file(con, path, preset)
    try:
        preset = preset.fit_to_header(stage.columns, spec.required)
        missing = sorted(c for c in preset.source_columns() if c not in stage.columns)
        if missing:
            raise InputDataError(f"column not in the file: {', '.join(map(repr, missing))}",
                                 file=path.name, row=1, column=missing[0])
        plan = build_plan(spec, preset)
        cols = list(spec.names) + (["unit_id", "_unit_type"] if preset.per_unit else [])
        sql = (f"SELECT {', '.join(ident(c) for c in cols)} FROM (SELECT {', '.join(plan.select)} "
               f"FROM {plan.from_sql(f'SELECT * FROM ({stage.source_sql}) LIMIT {int(n)}')})")
        try:
            df = con.execute(sql, {**plan.params.values, **stage.params}).df()
        except duckdb.Error as exc:
            raise InputDataError(_readers._reader_message(exc, stage.delimiter or "",
                                                          stage.encoding or ""),
                                 file=path.name) from None
    finally:
        _readers.release(con, stage)
    return df.rename(columns={"_unit_type": "unit_type"})


def import_history(con: duckdb.DuckDBPyConnection, limit: int = 200) -> pd.DataFrame:
    """The latest imports, newest first."""
    has_filtered = con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = "
                               "'imports' AND column_name = 'rows_filtered'").fetchall()[0][0]
    filtered = "rows_filtered" if has_filtered else "0 AS rows_filtered"  # fixed text
    return con.execute(
        "SELECT import_id, imported_at, table_name, file_name, preset, rows_read, rows_loaded, "
        f"rows_updated, rows_unchanged, rows_rejected, {filtered}, note FROM imports "
        "ORDER BY import_id DESC LIMIT $1", [limit]).df()


def import_rejects(con: duckdb.DuckDBPyConnection, import_id: int, limit: int = 5000) -> pd.DataFrame:
    """Rejected rows of one import (file, row, column, value, reason)."""
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'import_rejects'"
                         ).fetchall()[0][0]
    if not exists:
        return pd.DataFrame(columns=["file_name", "row", "column", "value", "reason"])
    return con.execute(
        'SELECT file_name, "row", "column", value, reason FROM import_rejects '
        'WHERE import_id = $1 ORDER BY "row" LIMIT $2', [import_id, limit]).df()


def table_frame(con: duckdb.DuckDBPyConnection, table: str, limit: int = 10_000) -> pd.DataFrame:
    """Current rows of a small reference table (deployments, call_types) for editing."""
    spec = SPECS[table]
    cols = ", ".join(ident(c) for c in spec.names)
    order = ", ".join(ident(k) for k in spec.key)
    # Table and column names from the fixed SPECS.
    return con.execute(f"SELECT {cols} FROM {table} ORDER BY {order} LIMIT $1", [limit]).df()


def area_choices(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Area ids (districts first, then beats) for pick lists."""
    rows = con.execute("SELECT area_id FROM areas ORDER BY level = 'beat', area_id").fetchall()
    return [r[0] for r in rows]


def area_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Count of areas per level, and how many have a polygon."""
    return con.execute("SELECT level, count(*) AS areas, count(geometry) AS with_polygon "
                       "FROM areas GROUP BY level ORDER BY level").df()


def geojson_properties(path: str | Path, n: int = 5) -> tuple[list[str], list[dict]]:
    """Property names of a GeoJSON's features and the first ``n`` property sets."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        feats = data["features"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputDataError(f"not a GeoJSON FeatureCollection: {exc}", file=Path(path).name) from None
    names: list[str] = []
    for f in feats[:50]:
        for k in (f.get("properties") or {}):
            if k not in names:
                names.append(k)
    return names, [dict(f.get("properties") or {}) for f in feats[:n]]


def user_preset_dir(db_file: str | Path) -> Path:
    """Where presets saved from the app live: ``presets/`` next to the database."""
    return Path(db_file).parent / "presets"


def list_user_presets(db_file: str | Path) -> list[Path]:
    """Preset files saved from the app."""
    d = user_preset_dir(db_file)
    return sorted(d.glob("*.toml")) if d.exists() else []
