"""What the database holds: choices for the global filters and the data's date span."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from analytics import engines
from analytics.core import options
from analytics.core.results import Result
from analytics.db import KIND_KEY, DatabaseKind


@dataclass(frozen=True)
class FilterOptions(Result):
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
    synthetic-data notice when this is true. One Ibis query on every engine.
    """
    backend = engines.as_backend(backend_or_con)
    st = backend.table("settings")
    got = engines.execute(backend, st.filter(st.key.isin([KIND_KEY, DEMO_TRUTH_KEY]))
                          .select("key", "value"))[0]
    values = dict(zip(got["key"], got["value"], strict=True))
    if values.get(KIND_KEY) in options.choices(DatabaseKind):
        return values[KIND_KEY] == "demo"
    return DEMO_TRUTH_KEY in values


@dataclass(frozen=True)
class DataPresence(Result):
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
    and areas, as one Ibis query on any engine (one job on Spark; on DuckDB each
    ``count(*)`` is answered from the table's row count)."""
    backend = engines.as_backend(backend_or_con)
    t = {n: backend.table(n) for n in DATA_TABLES}
    typed = t["assignments"].semi_join(t["units"], "unit_id").limit(1)
    parts = [t[n].aggregate(**{n: t[n].count()}) for n in t]
    parts.append(typed.aggregate(typed_assignments=typed.count()))
    expr = parts[0]
    for p in parts[1:]:
        expr = expr.cross_join(p)
    row = engines.execute(backend, expr)[0].iloc[0]
    return DataPresence(**{k: int(row[k]) for k in (*DATA_TABLES, "typed_assignments")})
