"""What the database holds: choices for the global filters and the data's date span."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from analytics import engines
from analytics.core import options
from analytics.db import KIND_KEY, DatabaseKind, database_kind, scalar


@dataclass(frozen=True)
class FilterOptions:
    """Values offered by the sidebar filters."""

    min_date: dt.date | None
    max_date: dt.date | None
    districts: tuple[str, ...]
    beats: tuple[tuple[str, str | None], ...]  # (beat, its district)
    priorities: tuple[int, ...]
    categories: tuple[str, ...]

    def beats_in(self, districts: tuple[str, ...]) -> tuple[str, ...]:
        """Beats of the given districts (all beats when none is given)."""
        return tuple(b for b, d in self.beats if not districts or d in districts)


def to_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return getattr(value, "date", lambda: None)()


def filter_options(backend: Any) -> FilterOptions:
    """Distinct districts, beats, priorities, call categories and the call date span.

    Areas come from ``areas`` and from the calls themselves (imported calls may name beats
    the boundary file lacks), so every value present in the data can be selected. One
    grouped scan of the smallest table that has these columns: ``area_day_facts`` (calls
    per day × area × priority × category, about a tenth of ``call_facts`` at 10M calls)
    when it exists, else ``call_facts``.
    """
    if engines.has_table(backend, "area_day_facts"):
        f = backend.table("area_day_facts")
        day = f.day
    else:
        f = backend.table("call_facts")
        day = f.received_at
    combos = (f.group_by(["district", "beat", "priority", "category"])
              .aggregate(lo=day.min(), hi=day.max()).to_pandas())
    los = [v for v in combos["lo"] if v is not None and v == v]  # NaT check
    his = [v for v in combos["hi"] if v is not None and v == v]
    a = backend.table("areas").select("area_id", "level", "parent_id").to_pandas()
    beat_map: dict[str, str | None] = {}
    calls_beats = combos[combos["beat"].notna()][["beat", "district"]].drop_duplicates()
    area_beats = a[a["level"] == "beat"].rename(columns={"area_id": "beat",
                                                         "parent_id": "district"})
    for frame in (area_beats, calls_beats):
        for b, d in zip(frame["beat"], frame["district"], strict=True):
            if b not in beat_map or beat_map[b] is None:
                beat_map[b] = None if d is None or d != d else str(d)
    districts = {str(d) for d in combos["district"] if d is not None and d == d}
    districts |= {str(d) for d in a.loc[a["level"] == "district", "area_id"]}
    prios = {int(p) for p in combos["priority"] if p is not None and p == p}
    cats = {str(c) for c in combos["category"] if c is not None and c == c}
    return FilterOptions(
        min_date=to_date(min(los)) if los else None,
        max_date=to_date(max(his)) if his else None,
        districts=tuple(sorted(districts)),
        beats=tuple(sorted(beat_map.items())),
        priorities=tuple(sorted(prios)),
        categories=tuple(sorted(cats)),
    )


# -- what kind of database this is, and which tables hold data ------------------------------
#: Older demo databases carry only their planted truth under this key.
DEMO_TRUTH_KEY = "demo_truth"

#: Tables whose presence decides what a page can compute, in the order pages report them.
DataTable = Literal["calls", "assignments", "units", "incidents", "deployments", "staffing",
                    "activities", "areas"]
DATA_TABLES: tuple[DataTable, ...] = options.choices(DataTable)


def is_demo(backend_or_con: Any) -> bool:
    """True when the database is the synthetic demo city.

    Read from ``settings``: ``database_kind`` = ``demo`` (:func:`analytics.db.database_kind`),
    or, for a demo database built before that key existed, a stored ``demo_truth``. A
    department's own database has neither. Pages, downloads and reports print the
    synthetic-data notice when this is true.
    """
    if _other_engine(backend_or_con):  # e.g. Spark over a Parquet export: through Ibis
        st = backend_or_con.table("settings")
        got = st.filter(st.key.isin([KIND_KEY, DEMO_TRUTH_KEY])).select("key", "value").to_pandas()
        values = dict(zip(got["key"], got["value"], strict=True))
        if values.get(KIND_KEY) in options.choices(DatabaseKind):
            return values[KIND_KEY] == "demo"
        return DEMO_TRUTH_KEY in values
    con = getattr(backend_or_con, "con", backend_or_con)
    kind = database_kind(con)
    if kind is not None:
        return kind == "demo"
    return bool(scalar(con, "SELECT count(*) FROM settings WHERE key = ?", [DEMO_TRUTH_KEY]))


def _other_engine(backend_or_con: Any) -> bool:
    """True for an Ibis backend that is not DuckDB (its tables are reached through Ibis)."""
    return hasattr(backend_or_con, "list_tables") and getattr(backend_or_con, "name",
                                                               None) != "duckdb"


@dataclass(frozen=True)
class DataPresence:
    """Row counts of the tables pages depend on, to say *which* data are missing.

    ``assignments`` are the unit rows (one per unit per call); ``units`` give their types
    (sworn / CSO / other). ``typed_assignments`` counts unit rows whose unit has a type.
    """

    calls: int
    assignments: int
    units: int
    typed_assignments: int
    incidents: int
    deployments: int
    staffing: int
    activities: int
    areas: int

    def missing(self, *tables: str) -> tuple[str, ...]:
        """The named tables (in the order given) that hold no rows."""
        for t in tables:
            options.check("table", t, DataTable)
        return tuple(t for t in tables if getattr(self, t) == 0)

    @property
    def has_unit_types(self) -> bool:
        """True when some unit rows belong to a unit of known type (workload by type)."""
        return self.typed_assignments > 0


def data_presence(backend_or_con: Any) -> DataPresence:
    """Row counts of calls, unit rows, units, incidents, deployments, staffing, activities
    and areas, in one query (each ``count(*)`` is answered from DuckDB's row counts)."""
    if _other_engine(backend_or_con):
        return _data_presence_ibis(backend_or_con)
    con = getattr(backend_or_con, "con", backend_or_con)
    row = con.execute(
        "SELECT (SELECT count(*) FROM calls), (SELECT count(*) FROM assignments), "
        "(SELECT count(*) FROM units), "
        "(SELECT count(*) FROM (SELECT 1 FROM assignments a JOIN units u USING (unit_id) "
        "LIMIT 1)), "
        "(SELECT count(*) FROM incidents), (SELECT count(*) FROM deployments), "
        "(SELECT count(*) FROM staffing), (SELECT count(*) FROM activities), "
        "(SELECT count(*) FROM areas)").fetchall()[0]
    c, a, u, ta, i, d, s, act, ar = (int(v or 0) for v in row)
    return DataPresence(calls=c, assignments=a, units=u, typed_assignments=ta, incidents=i,
                        deployments=d, staffing=s, activities=act, areas=ar)


def _data_presence_ibis(backend: Any) -> DataPresence:
    """:func:`data_presence` on any Ibis engine, as one query (one job on Spark)."""
    t = {n: backend.table(n) for n in DATA_TABLES}
    typed = t["assignments"].semi_join(t["units"], "unit_id").limit(1)
    parts = [t[n].aggregate(**{n: t[n].count()}) for n in t]
    parts.append(typed.aggregate(typed_assignments=typed.count()))
    expr = parts[0]
    for p in parts[1:]:
        expr = expr.cross_join(p)
    row = expr.to_pandas().iloc[0]
    return DataPresence(**{k: int(row[k]) for k in (
        "calls", "assignments", "units", "typed_assignments", "incidents", "deployments",
        "staffing", "activities", "areas")})
