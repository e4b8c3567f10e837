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
from typing import Any

import duckdb
import pandas as pd

from analytics.core import clock
from analytics.errors import InputDataError
from analytics.ingest import _readers
from analytics.ingest._presets import DEFAULT_TIME_FORMATS, Preset, parse_preset
from analytics.ingest._spec import SEGMENT_ORDER, SPECS
from analytics.ingest._transform import build_plan, ident

# Vendor header names seen in real exports (lower-case, words separated by single spaces).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "call_id": ("cad event number", "event number", "call number", "incident number",
                "incident id", "call id", "cad number", "event id", "caseno", "case number",
                "cfs number", "incident", "event", "cad event"),
    "received_at": ("original time queued", "time queued", "call received", "received",
                    "call timestamp", "call time", "date time", "call date time", "create time",
                    "created", "timestamp", "call datetime", "incident date", "event date",
                    "queued", "received dt tm"),
    "dispatched_at": ("dispatch time", "dispatched", "time dispatched", "first dispatched",
                      "dispatch datetime", "dispatch", "dispatch dt tm"),
    "enroute_at": ("enroute time", "en route", "time enroute", "enroute", "response dt tm",
                   "responding"),
    "arrived_at": ("arrived time", "arrival time", "on scene time", "arrived", "onscene",
                   "time arrived", "first arrived", "on scene", "on scene dt tm"),
    "cleared_at": ("cleared time", "close time", "closed", "cleared", "time closed",
                   "clear time", "available", "available dt tm", "completed"),
    "call_type": ("final call type", "call type final", "nature of call", "nature",
                  "calldescription", "call description", "offense", "type description",
                  "final type", "event type", "incident type", "problem", "call nature",
                  "call type", "type"),
    "call_type_initial": ("initial call type", "call type initial", "original call type",
                          "initial type"),
    "priority": ("priority", "call priority", "prio", "priority code", "final priority"),
    "source": ("call type", "call source", "source", "how received", "origin"),
    "self_initiated": ("officerinitiated", "officer initiated", "self initiated", "onview"),
    "disposition": ("event clearance description", "disposition", "clearance",
                    "final disposition", "call final disposition", "close code"),
    "district": ("district", "precinct", "division", "district id", "zone", "sector", "area",
                 "battalion"),
    "beat": ("beat", "reporting area", "sca", "beat id", "patrol area", "station area",
             "precinct id"),
    "lat": ("latitude", "lat", "blurred latitude", "geo lat", "y", "location", "block location"),
    "lon": ("longitude", "lon", "lng", "long", "blurred longitude", "geo lon", "x", "location",
            "block location"),
    "unit_id": ("unit number", "unit id", "respondingunit", "responding unit", "unit", "unit name"),
    "incident_id": ("offense id", "incident id", "incident number", "report number",
                    "case number", "caseno"),
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

# Words too common in headers to suggest anything on their own ("Offense ID" is not a
# beat because "Beat ID" also ends in "id").
_GENERIC_WORDS = frozenset({"id", "number", "no", "num", "time", "date", "dt", "tm", "type",
                            "code", "call", "final", "initial", "original", "of", "the", "in",
                            "datetime", "timestamp", "first", "last", "group", "unit"})
# Text columns whose values are never plain numbers (a ZIP code is not a disposition).
_NON_NUMERIC_FIELDS = frozenset({"disposition", "call_type_initial", "source", "offense",
                                 "offense_category", "description", "call_type"})
# Words of call-source values (911, TELEPHONE OTHER, ONVIEW ...).
_SOURCE_WORDS = ("911", "phone", "telephone", "onview", "on view", "officer", "alarm",
                 "online", "radio", "walk", "self", "web", "text", "non emergency", "admin")
PROFILE_ROWS = 2000  # rows read to profile the columns' values
_POINT = re.compile(r"\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)")
# Joined "date + time" source, as the mapping table shows it.
COMBO_SEP = " + "
POINT_LAT_REGEX = r"\(\s*(-?[0-9.]+)\s*,"
POINT_LON_REGEX = r",\s*(-?[0-9.]+)\s*\)"


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


@dataclass(frozen=True)
class ColumnProfile:
    """What a column's values look like (from the first :data:`PROFILE_ROWS` rows)."""

    name: str
    filled: float           # share of rows with a value
    time_share: float       # of the values: parse as date/time
    midnight_share: float   # of the parsed: at 00:00:00 (a date written as a timestamp)
    clock_share: float      # of the values: a time of day only ("6:10:00 AM")
    num_share: float        # of the values: numbers
    small_int_share: float  # of the values: whole numbers 0-9
    lat_share: float        # of the values: numbers within -90..90, not 0
    lon_share: float
    point_share: float      # of the values: "(lat, lon)" text
    source_share: float     # of the distinct values: call-source words (911, ONVIEW ...)
    unique: bool            # no value repeats
    times: tuple[Any, ...] = ()  # parsed datetimes per row (None where absent), for order

    @property
    def timelike(self) -> bool:
        return self.filled > 0 and self.time_share >= 0.8

    @property
    def date_only(self) -> bool:
        return self.timelike and self.midnight_share >= 0.95


def _parse_times(vals: list[str | None]) -> tuple[list[Any], float, float, float]:
    """Parsed datetimes (None where not), share parsed, share at midnight, share that are
    a time of day only — over the non-empty values."""
    import datetime as dt

    present = [v.strip() for v in vals if v is not None and v.strip()]
    if not present:
        return [None] * len(vals), 0.0, 0.0, 0.0
    fmts = [f.replace("%g", "%f") for f in (*DEFAULT_TIME_FORMATS, "%Y-%m-%dT%H:%M:%S.%f",
                                             "%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d %H:%M:%S")]
    probe = present[:50]

    best = max(fmts, key=lambda f: _parse_hits(f, probe))
    clock = max((_parse_hits(f, probe) for f in ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")),
                default=0) / len(probe)
    out: list[Any] = []
    for v in vals:
        t = None
        if v is not None and v.strip():
            try:
                t = dt.datetime.strptime(v.strip(), best)
            except ValueError:
                try:
                    t = dt.datetime.fromisoformat(v.strip())
                except ValueError:
                    t = None
        out.append(t)
    parsed = [t for t in out if t is not None]
    share = len(parsed) / len(present)
    midnight = (sum(t.hour == 0 and t.minute == 0 and t.second == 0 for t in parsed)
                / len(parsed)) if parsed else 0.0
    return out, share, midnight, clock


# Markers exports write for a missing value; the profile reads them as empty (the import
# needs [read] null_values for them, which the Data page offers).
NULL_MARKERS = frozenset({"NULL", "N/A", "NA", "NONE", "-", "(NULL)", "NAN", "#N/A"})


def profile_column(name: str, vals: list[str | None]) -> ColumnProfile:
    """Profile one column's sample values (see :class:`ColumnProfile`)."""
    vals = [None if v is None or v.strip().upper() in NULL_MARKERS else v for v in vals]
    present = [v.strip() for v in vals if v is not None and v.strip()]
    n = len(present)
    times, tshare, midnight, clock = _parse_times(vals)
    nums = []
    for v in present:
        try:
            nums.append(float(v))
        except ValueError:
            pass

    def share(pred) -> float:
        return sum(1 for x in nums if pred(x)) / n if n else 0.0

    distinct = {v.upper() for v in present}
    src = (sum(any(w in _norm(v) or w in v.lower() for w in _SOURCE_WORDS) for v in distinct)
           / len(distinct)) if distinct else 0.0
    return ColumnProfile(
        name=name, filled=n / len(vals) if vals else 0.0, time_share=tshare,
        midnight_share=midnight, clock_share=clock, num_share=len(nums) / n if n else 0.0,
        small_int_share=share(lambda x: x.is_integer() and 0 <= x <= 9),
        lat_share=share(lambda x: -90 <= x <= 90 and x != 0),
        lon_share=share(lambda x: -180 <= x <= 180 and x != 0),
        point_share=sum(bool(_POINT.search(v)) for v in present) / n if n else 0.0,
        source_share=src, unique=n > 0 and len(set(present)) == n, times=tuple(times))


def _name_score(canonical: str, header_norm: str) -> float:
    syn = SYNONYMS.get(canonical, ())
    if header_norm == _norm(canonical):
        return 1.0
    if header_norm in syn:
        return 0.95 - 0.02 * syn.index(header_norm)
    words = set(header_norm.split()) - _GENERIC_WORDS
    best = 0.0
    for s_ in syn:
        sw = set(s_.split())
        content = sw - _GENERIC_WORDS
        if content and words & content:
            best = max(best, len(set(header_norm.split()) & sw) / len(sw))
    return 0.6 * best


def _fits(canonical: str, kind: str, prof: ColumnProfile) -> bool:
    """Can the column's values be this canonical field at all?"""
    if prof.filled == 0:
        return False
    if kind in ("timestamp", "date"):
        return prof.timelike
    if prof.timelike or prof.clock_share >= 0.8:
        return False  # a column of times is never a text, number or flag field
    if canonical in ("lat", "lon"):
        share = prof.lat_share if canonical == "lat" else prof.lon_share
        return share >= 0.8 or prof.point_share >= 0.8
    if canonical == "priority":
        return prof.num_share >= 0.8 or prof.small_int_share > 0
    if kind in ("int", "float"):
        return prof.num_share >= 0.8
    if canonical in _NON_NUMERIC_FIELDS and prof.num_share >= 0.9:
        return False
    if canonical == "source":
        return prof.source_share >= 0.5
    return True


def _earliest(cands: list[ColumnProfile]) -> ColumnProfile | None:
    """The column that is earliest (or tied) in the most rows where all have a value."""
    if not cands:
        return None
    if len(cands) == 1:
        return cands[0]
    wins = {c.name: 0 for c in cands}
    for row in zip(*(c.times for c in cands), strict=True):
        present = [(t, c.name) for t, c in zip(row, cands, strict=True) if t is not None]
        if len(present) < 2:
            continue
        lo = min(t for t, _ in present)
        for t, name in present:
            if t == lo:
                wins[name] += 1
    return max(cands, key=lambda c: (wins[c.name], c.filled))


def _combos(profiles: dict[str, ColumnProfile], by_col: dict[str, list[str | None]]
            ) -> dict[str, ColumnProfile]:
    """Date column + time-of-day column pairs (``EVENTDT + EVENTTM``) as virtual columns."""
    dates = [p for p in profiles.values() if p.date_only]
    clocks = [p for p in profiles.values() if p.clock_share >= 0.8 and not p.timelike]
    out = {}
    for d in dates:
        for c in clocks:
            joined = []
            for dv, cv in zip(by_col[d.name], by_col[c.name], strict=True):
                joined.append(None if not dv or not cv else dv.strip().split(" ")[0] + " " + cv.strip())
            name = f"{d.name}{COMBO_SEP}{c.name}"
            prof = profile_column(name, joined)
            if prof.timelike:
                out[name] = prof
    return out


def suggest_mapping(table: str, headers: list[str], sample: list[list[str | None]]) -> list[MappingRow]:
    """Best source column for each canonical column of ``table`` (None when nothing fits).

    Names and values both count: a column whose values are times is proposed only for time
    fields, and never for text, number or flag fields (and the reverse); a date column
    with a time-of-day column becomes one ``date + time`` source; ``received_at`` is the
    earliest well-filled time column; later segments must not precede it; coordinates may
    come from one ``(lat, lon)`` text column; a call-source column must hold source words
    (911, ONVIEW ...); a key column of a one-row-per-record table must not repeat.
    """
    spec = SPECS[table]
    cols = list(spec.names)
    if table == "calls":
        cols.append("unit_id")
    by_col = {h: [r[i] if i < len(r) else None for r in sample] for i, h in enumerate(headers)}
    profiles = {h: profile_column(h, by_col[h]) for h in headers}
    combos = _combos(profiles, by_col)
    covered = {p.split(COMBO_SEP)[0] for p in combos}
    allp = {**profiles, **combos}
    norm = {h: _norm(h) for h in allp}

    def kind_of(c: str) -> str:
        return spec.column(c).kind if c in spec.names else "text"

    chosen: dict[str, tuple[str, float]] = {}
    # received_at: the earliest plausible time column (well filled, times of day when any
    # column has them).
    if "received_at" in cols:
        timed = [p for p in allp.values() if p.timelike and p.filled >= 0.95
                 and p.name not in covered]
        real = [p for p in timed if not p.date_only]
        first = _earliest(real or timed)
        if first is not None:
            chosen["received_at"] = (first.name, 1.0)
    scored: list[tuple[float, str, str]] = []
    for c in cols:
        if c in chosen:
            continue
        kind = kind_of(c)
        for h, prof in allp.items():
            if h in covered and kind in ("timestamp", "date") and combos:
                continue  # the date part of a date + time pair
            if not _fits(c, kind, prof):
                continue
            name_score = _name_score(c, norm[h])
            words = norm[h].split()
            if c == "call_type" and "final" in words and "type" in words and name_score > 0:
                name_score = 1.05  # a CAD's final type beats its "Call Type" (how received)
            if c == "call_type_initial" and not ({"initial", "original"} & set(words)):
                name_score = 0.0
            if name_score <= 0:
                continue
            value_score = 0.0
            if c in ("lat", "lon"):
                value_score = max(prof.lat_share if c == "lat" else prof.lon_share,
                                  prof.point_share)
            elif c == "priority":
                value_score = prof.small_int_share
            elif kind in ("timestamp", "date"):
                value_score = prof.time_share
                rec = chosen.get("received_at")
                if rec and c in SEGMENT_ORDER:
                    before = _share_before(allp[rec[0]], prof)
                    if before > 0.1:
                        continue  # a later segment is not earlier than the call
            elif c in spec.key and table != "calls" and prof.unique:
                value_score = 1.0
            scored.append((name_score + 0.2 * value_score, c, h))
    scored.sort(key=lambda t: -t[0])
    used: set[str] = {h for h, _ in chosen.values()}
    for score, c, h in scored:
        if c in chosen or score < 0.35:
            continue
        shares_point = c in ("lat", "lon") and allp[h].point_share >= 0.8
        if h in used and not shares_point:
            continue
        chosen[c] = (h, score)
        used.add(h)
    if table != "calls" and len(spec.key) == 1 and spec.key[0] in chosen:
        key = spec.key[0]
        finer = _finer_key(chosen[key][0], by_col, headers, used)
        if finer is not None:
            chosen[key] = (finer, chosen[key][1])
    out = []
    for c in cols:
        h, score = chosen.get(c, (None, 0.0))
        ex = None
        if h:
            vals = by_col.get(h) or [" ".join(filter(None, v)) for v in zip(
                *(by_col[x] for x in h.split(COMBO_SEP)), strict=True)]
            ex = next((v for v in vals if v not in (None, "")), None)
        out.append(MappingRow(c, h, c in spec.required, kind_of(c), round(score, 2), ex))
    return out


def _finer_key(key: str, by_col: dict[str, list[str | None]], headers: list[str],
               used: set[str]) -> str | None:
    """A column whose every value extends the key column's value (``OFFENSE_ID`` =
    ``INCIDENT_ID`` + offense code): the file has one row per that finer key, so it is the
    row key (an incident with two offenses has two rows)."""
    base = by_col.get(key, [])
    for h in headers:
        if h == key or h in used:
            continue
        vals = by_col[h]
        pairs = [(a.strip(), b.strip()) for a, b in zip(base, vals, strict=True) if a and b]
        if pairs and len(pairs) == sum(1 for v in base if v) and all(
                b.startswith(a) and len(b) > len(a) for a, b in pairs):
            return h
    return None


def _share_before(received: ColumnProfile, other: ColumnProfile) -> float:
    """Share of rows (with both values) where ``other`` is before ``received``."""
    pairs = [(a, b) for a, b in zip(received.times, other.times, strict=True)
             if a is not None and b is not None]
    return sum(b < a for a, b in pairs) / len(pairs) if pairs else 0.0


_CSO_WORDS = ("CSO", "COMMUNITY SERVICE", "PSO", "CIVILIAN")
_OTHER_WORDS = ("PRIVATE", "TOW", "ANIMAL", "SUPPORT", "INVESTIGATION", "FIRE", "ENGINE",
                "TRUCK", "MEDIC", "EMS", "AMBULANCE", "RESCUE")


def guess_unit_type(value: str) -> str:
    """A first guess of the canonical unit type for a value of a unit-type column (the
    Data page shows it for the user to correct): CSO-like words → cso, fire/EMS/tow and
    support → other, else sworn."""
    v = str(value).upper()
    if any(w in v for w in _CSO_WORDS):
        return "cso"
    if any(w in v for w in _OTHER_WORDS):
        return "other"
    return "sworn"


def mapping_examples(headers: list[str], sample: list[list[str | None]],
                     mapping: dict[str, str | None], *, all_values: bool = False) -> dict:
    """For each mapped canonical column, the first non-empty sample value of its source (a
    ``date + time`` source joined); with ``all_values``, every sample value instead."""
    idx = {h: i for i, h in enumerate(headers)}

    def col(h: str) -> list[str | None]:
        return [r[idx[h]] if idx[h] < len(r) else None for r in sample]

    out: dict = {}
    for c, src in mapping.items():
        if not src:
            continue
        parts = src.split(COMBO_SEP) if COMBO_SEP in src else [src]
        if not all(p_ in idx for p_ in parts):
            continue
        vals = [" ".join(v.strip() for v in vs if v) or None
                for vs in zip(*(col(p_) for p_ in parts), strict=True)]
        out[c] = vals if all_values else next((v for v in vals if v), None)
    return out


def combo_headers(headers: list[str], sample: list[list[str | None]]) -> list[str]:
    """The ``date + time`` sources the mapping table offers besides the file's columns."""
    by_col = {h: [r[i] if i < len(r) else None for r in sample] for i, h in enumerate(headers)}
    profiles = {h: profile_column(h, by_col[h]) for h in headers}
    return list(_combos(profiles, by_col))


def _parse_hits(fmt: str, values: list[str]) -> int:
    """How many of ``values`` parse with the strptime format ``fmt``."""
    import datetime as dt

    n = 0
    for v in values:
        try:
            dt.datetime.strptime(v, fmt)
            n += 1
        except ValueError:
            pass
    return n


def guess_time_formats(values: list[str | None]) -> list[str]:
    """The default formats that parse the sample's timestamps, best first."""
    vals = [v.strip() for v in values if v and v.strip()][:50]
    hits = []
    for f in DEFAULT_TIME_FORMATS:
        n = _parse_hits(f.replace("%g", "%f"), vals)
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
    null_values: list[str] | None = None,
    keep: list[dict] | None = None,
    drop: list[dict] | None = None,
    unit_type_column: str | None = None,
    unit_type_map: dict[str, str] | None = None,
    primary: str | dict | None = None,
) -> dict:
    """A preset dict (valid for :func:`parse_preset`/``save_preset``) from the edited table.

    A ``date + time`` source (see :func:`combo_headers`) becomes ``{ date, time }``; lat and
    lon mapped to the same column read the ``(lat, lon)`` text in it. The other arguments
    are the preset keys of the same names (``docs/importing.md``).

    Raises
    ------
    InputDataError
        The result is not a valid preset, or an officer-initiated column was picked without
        any value (the preset would otherwise silently mark no call).
    """
    cols: dict = {}
    for c, src in mapping.items():
        if not src or c == "unit_id":
            continue
        if COMBO_SEP in src:
            d, t = src.split(COMBO_SEP, 1)
            cols[c] = {"date": d, "time": t}
        elif c in ("lat", "lon") and mapping.get("lon" if c == "lat" else "lat") == src:
            cols[c] = {"column": src, "regex": POINT_LAT_REGEX if c == "lat" else POINT_LON_REGEX}
        else:
            cols[c] = src
    data: dict = {"name": name, "table": table, "description": f"saved from the Data page ({table})"}
    read: dict = {}
    if delimiter:
        read["delimiter"] = delimiter
    if null_values:
        read["null_values"] = list(null_values)
    if read:
        data["read"] = read
    tsec: dict = {}
    if time_formats:
        tsec["formats"] = list(time_formats)
    if timezone:
        tsec["timezone"] = timezone
    if tsec:
        data["time"] = tsec
    data["columns"] = cols
    flt = {k: list(v) for k, v in (("keep", keep), ("drop", drop)) if v}
    if flt:
        data["filter"] = flt
    if officer_initiated_column:
        if not officer_initiated_values:
            raise InputDataError(f"pick the value(s) of {officer_initiated_column!r} that mark "
                                 "an officer-initiated call", column=officer_initiated_column)
        data["officer_initiated"] = {"column": officer_initiated_column,
                                     "values": list(officer_initiated_values)}
    if table == "calls" and mapping.get("unit_id"):
        units: dict = {"column": mapping["unit_id"], "default_type": "sworn"}
        if unit_type_column:
            units["type_column"] = unit_type_column
            if unit_type_map:
                units["type_map"] = dict(unit_type_map)
        if unit_rules:
            units["rules"] = unit_rules
        if primary:
            units["primary"] = primary
        data["units"] = units
    parse_preset(data, where=f"{name}.toml")  # raises InputDataError when inconsistent
    return data


def column_values(con: duckdb.DuckDBPyConnection, path: str | Path, preset: Preset,
                  column: str, limit: int = 200) -> pd.DataFrame:
    """Distinct values of a whole source column with their counts, most frequent first
    (``value``, ``rows``; at most ``limit``), for the value pickers of the Data page."""
    stage = _readers.stage_file(con, Path(path), preset)
    try:
        if column not in stage.columns:
            raise InputDataError("column not in the file", file=Path(path).name, column=column)
        col = ident(column)  # checked against the file's header above
        sql = (f"SELECT trim({col}) AS value, count(*) AS rows FROM ({stage.source_sql}) "
               f"WHERE nullif(trim({col}), '') IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 "
               f"LIMIT {int(limit)}")
        try:
            return con.execute(sql, stage.params).df()
        except duckdb.Error as exc:
            raise InputDataError(_readers._reader_message(exc, stage.delimiter or "",
                                                          stage.encoding or ""),
                                 file=Path(path).name) from None
    finally:
        _readers.release(con, stage)


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


OUTCOME_KEPT = "kept"
OUTCOME_FILTERED = "left out by the preset's filter"


def preview(con: duckdb.DuckDBPyConnection, path: str | Path, preset: Preset,
            n: int = 20) -> pd.DataFrame:
    """The first ``n`` rows of a file as they would be stored (nothing saved), times in
    the department's local time (as every page shows them).

    Columns: ``row`` (file row, the header is row 1), ``outcome`` — ``kept``, ``rejected:
    <reason> (<column> = <value>)``, ``left out by the preset's filter`` or ``kept; <column>
    set to missing: <reason>`` — then the canonical columns. The outcome comes from the
    importer's own validation of those rows (:func:`check_file`), so the preview marks
    exactly what an import would reject; values set to missing show as empty.
    """
    import tempfile
    from dataclasses import replace

    from analytics.ingest._load import check_file, with_department_zone

    path = Path(path)
    spec = SPECS[preset.table]
    preset = with_department_zone(con, preset, path.name)
    stage = _readers.stage_file(con, path, preset)
    try:
        fitted = preset.fit_to_header(stage.columns, spec.required)
        missing = sorted(c for c in fitted.source_columns() if c not in stage.columns)
        if missing:
            raise InputDataError(f"column not in the file: {', '.join(map(repr, missing))}",
                                 file=path.name, row=1, column=missing[0])
        plan = build_plan(spec, fitted)
        cols = list(spec.names) + (["unit_id", "_unit_type"] if fitted.per_unit else [])
        keep = ", _keep" if fitted.keep or fitted.drop else ""
        head = f"SELECT * FROM ({stage.source_sql}) LIMIT {int(n)}"
        # Times are stored as UTC instants; shown as the department's local time.
        zone = fitted.store_timezone if fitted.store_utc else None
        kinds = {c.name: c.kind for c in spec.columns}
        shown = [f"{clock.local_sql(ident(c), zone)} AS {ident(c)}"
                 if kinds.get(c) == "timestamp" else ident(c) for c in cols]
        # The whole typed stage (with its checks and DST notes, whose parameters the
        # plan holds: a SELECT without them fails on unused parameters).
        sql = (f"SELECT {', '.join(shown)}{keep} FROM (SELECT "
               f"{plan.stage_select()} FROM {plan.from_sql(head)})")
        with tempfile.TemporaryDirectory() as tmp:
            sample = Path(tmp) / "preview_sample.csv"  # our own name: nothing of the user's in SQL
            try:
                df = con.execute(sql, {**plan.params.values, **stage.params}).df()
                # The same rows as a plain CSV, validated by the importer itself.
                con.execute(f"COPY ({head}) TO '{_sql_path(sample)}' (HEADER, DELIMITER ',')",
                            stage.params)
            except duckdb.Error as exc:
                raise InputDataError(_readers._reader_message(exc, stage.delimiter or "",
                                                              stage.encoding or ""),
                                     file=path.name) from None
            plain = replace(preset, format="csv", delimiter=",", encoding="utf-8", quote='"',
                            escape='"', skip_rows=0, sheet=None)
            check = check_file(con, preset.table, sample, preset=plain, display_name=path.name)
    finally:
        _readers.release(con, stage)
    first = 2 + preset.skip_rows if stage.format != "parquet" else 1
    rows = [first + i for i in range(len(df))]
    outcome = {r: OUTCOME_KEPT for r in rows}
    shift = first - 2
    for r in check.flagged_values:
        detail = r.reason.split(": ", 1)[-1]
        if r.reason.startswith("value set to missing"):
            col = detail.split(" ", 1)[0]
            i = r.row + shift - first
            if 0 <= i < len(df) and col in df.columns:
                df.loc[i, col] = None
            outcome[r.row + shift] = f"kept; {r.column} set to missing: {detail}"
        else:
            outcome[r.row + shift] = f"kept; {r.column}: {r.reason}"
    if "_keep" in df.columns:
        for i, k in enumerate(df.pop("_keep")):
            if not k:
                outcome[rows[i]] = OUTCOME_FILTERED
    by_row: dict[int, list[str]] = {}
    for r in check.rejects:
        by_row.setdefault(r.row + shift, []).append(
            f"{r.reason} ({r.column} = {r.value!r})" if r.column else r.reason)
    for row, reasons in by_row.items():
        outcome[row] = "rejected: " + "; ".join(reasons)
    df.insert(0, "outcome", [outcome[r] for r in rows])
    df.insert(0, "row", rows)
    return df.rename(columns={"_unit_type": "unit_type"})


def _sql_path(path: Path) -> str:
    """A temp-file path we made, as a SQL string literal body (COPY TO takes no parameter)."""
    return str(path).replace("'", "''")


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
