"""Every headline metric family as plain data: what ``python -m analytics metrics`` writes.

:func:`metrics_report` runs the same metric functions the pages call, on any Ibis backend
(DuckDB file, or Spark over a Parquet export: :mod:`analytics.engines`), for one set of
filters (date range and districts), and returns nested plain data — dicts, lists, strings,
ints, floats, ``None`` — in a fixed key order, so that it can be written as JSON, compared
between engines and filtered (a privacy tier can wrap the function and drop or coarsen
parts of the result).

Families (keys of the result, in this order):

- ``calls``: calls received (all, public, officer-initiated), by priority and by district;
- ``overview``: the Overview cards for the period against the same span a year earlier;
- ``response_times``: median and 90th percentile in minutes of queue, travel, total and
  sworn total, by priority, with the exclusion counts (PRODUCT.md section 3);
- ``workload``: committed unit-hours by unit type and by district, units per call,
  sworn utilization by hour of day, patrol time before/after deployment;
- ``offload``: the five offload measures for the selection;
- ``sworn_hours_freed``: the freed-hours estimate with its range (from the same offload
  computation, never computed twice);
- ``crime_trends``: monthly incident counts by offense category, the 28- and 365-day
  window comparisons and year to date;
- ``claims``: for each programme claim (PRODUCT.md section 4) the area × month panel its
  estimator runs on.

A family the data cannot support (e.g. no deployments, so no claims panel) carries
``{"unavailable": "<reason>"}`` instead of figures: never silently left out.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics import catalog, crime_trends, engines, offload, overview, response_times, workload
from analytics.core import options
from analytics.errors import InsufficientDataError, OptionError
from analytics.filters import Filters

FORMAT_VERSION = 1
Family = Literal["calls", "overview", "response_times", "workload", "offload",
                 "sworn_hours_freed", "crime_trends", "claims"]
FAMILIES: tuple[Family, ...] = options.choices(Family)


# -- plain data ------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """``value`` as JSON-ready plain data: numpy/pandas scalars to int/float/str, dates to
    ISO text, NaN/NaT/NA to ``None``; dicts and sequences converted recursively."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, pd.Timestamp):
        if value.tz is None and value == value.normalize():
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if value is pd.NA:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def records(df: pd.DataFrame, keys: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Rows of ``df`` as plain dicts, sorted by ``keys`` (missing last) so that row order
    does not depend on the engine."""
    if keys:
        df = df.sort_values(list(keys), na_position="last", kind="mergesort")
    cols = list(df.columns)
    return [dict(zip(cols, (plain(v) for v in row), strict=True))
            for row in df.itertuples(index=False, name=None)]


def _unavailable(exc: Exception) -> dict[str, str]:
    return {"unavailable": str(exc)}


# -- the families ------------------------------------------------------------------------------
def _calls(backend: Any, f: Filters) -> dict[str, Any]:
    t = response_times.facts(backend, f)
    by = (t.group_by(["district", "priority"])
          .aggregate(calls=t.count(), public_calls=t.count(where=~t.self_initiated)))
    df = engines.execute(backend, by)[0]
    df["calls"] = df["calls"].astype("int64")
    df["public_calls"] = df["public_calls"].astype("int64")
    df["officer_initiated_calls"] = df["calls"] - df["public_calls"]
    prio = df.groupby("priority", dropna=False, as_index=False)[
        ["calls", "public_calls", "officer_initiated_calls"]].sum()
    dist = df.groupby("district", dropna=False, as_index=False)[
        ["calls", "public_calls", "officer_initiated_calls"]].sum()
    return {
        "calls": int(df["calls"].sum()),
        "public_calls": int(df["public_calls"].sum()),
        "officer_initiated_calls": int(df["officer_initiated_calls"].sum()),
        "by_priority": records(prio, ["priority"]),
        "by_district": records(dist, ["district"]),
    }


def _overview(backend: Any, f: Filters, span: tuple[dt.date | None, dt.date | None]
              ) -> dict[str, Any]:
    period, kpis = overview.overview_kpis(backend, f, span[0], span[1])
    if period is None:
        return {"unavailable": "no calls in the database"}
    return {
        "period": {"start": plain(period.start), "end": plain(period.end)},
        "previous_period": {"start": plain(period.prev_start), "end": plain(period.prev_end)},
        "cards": [
            {"key": k.key, "label": k.label, "unit": k.unit, "value": plain(k.value),
             "previous": plain(k.previous), "delta": plain(k.delta),
             "delta_kind": k.delta_kind, "poisson_z": plain(k.z)}
            for k in kpis
        ],
    }


def _response_times(backend: Any, f: Filters) -> dict[str, Any]:
    rt = response_times.response_summary(backend, f, segments=response_times.SEGMENTS)
    return {
        "cap_min": response_times.DEFAULT_CAP_MIN,
        "by_priority": records(rt.frame, ["priority"]),
        "exclusions": records(rt.exclusions),
    }


def _workload(backend: Any, f: Filters) -> dict[str, Any]:
    ws = workload.workload_summary(backend, f)
    cu = workload.call_unit_stats(backend, f)
    out: dict[str, Any] = {
        "by_unit_type": records(ws.by_unit_type.frame, ["unit_type"]),
        "assignment_exclusions": records(ws.by_unit_type.exclusions),
        "by_district": records(ws.by_district.frame, ["district", "unit_type"]),
        "call_units": {
            "calls": cu.calls, "dispatched_calls": cu.dispatched_calls,
            "units_per_call": plain(cu.units_per_call), "backup_rate": plain(cu.backup_rate),
            "timed_assignments": cu.timed_assignments,
            "zero_on_scene_assignments": cu.zero_on_scene_assignments,
            "zero_on_scene_share": plain(cu.zero_on_scene_share),
            "by_priority": records(cu.by_priority, ["priority"]),
        },
    }
    if workload.has_staffing(backend):
        util = workload.utilization_by_hour(backend, f, "sworn")
        pt = workload.patrol_time(backend, f)
        out["sworn_utilization_by_hour"] = records(util.frame, ["hour"])
        out["patrol_time_before_after"] = records(pt.before_after, ["district", "period"])
        out["caveats"] = list(dict.fromkeys((*util.caveats, *pt.caveats)))
    else:
        out["sworn_utilization_by_hour"] = {"unavailable": "no staffing recorded"}
        out["patrol_time_before_after"] = {"unavailable": "no staffing recorded"}
    return out


def _offload(backend: Any, f: Filters) -> tuple[dict[str, Any], dict[str, Any]]:
    s = offload.offload_summary(backend, f)
    measures = {r.measure: plain(r.value) for r in s.to_frame().itertuples()}
    freed_keys = ("sworn_hours_freed", "sworn_hours_freed_low", "sworn_hours_freed_high",
                  "sworn_hours_freed_median_based", "freed_calls", "no_baseline_calls",
                  "baseline_start")
    freed = {k: measures[k] for k in freed_keys}
    return {k: v for k, v in measures.items() if k not in freed_keys}, freed


def _crime_trends(backend: Any, f: Filters) -> dict[str, Any]:
    monthly = crime_trends.monthly_counts(backend, f)
    windows = crime_trends.window_comparison(backend, f)
    ytd = crime_trends.ytd_comparison(backend, f)
    return {
        "anchor_date": plain(crime_trends.anchor_date(backend, f)),
        "monthly": records(monthly.frame, ["month", "offense_category"]),
        "windows": records(windows.frame, ["window", "offense_category"]),
        "year_to_date": records(ytd.frame, ["offense_category"]),
    }


_PANEL_COLUMNS = ("area", "district", "period", "value", "n", "first_treated", "treated", "post")


def _claims(backend: Any, f: Filters) -> dict[str, Any]:
    from analytics.evaluation.claims import CLAIMS
    from analytics.evaluation.panel import panel_from_metric

    out: dict[str, Any] = {}
    for c in CLAIMS:
        try:
            p = panel_from_metric(backend, c.metric, c.level, "month", f)
        except (InsufficientDataError, OptionError) as exc:
            # too little data, or an engine the panel cannot run on: say which, per claim
            out[c.key] = _unavailable(exc)
            continue
        p = p[[col for col in _PANEL_COLUMNS if col in p.columns]]
        out[c.key] = {
            "metric": c.metric, "level": c.level, "freq": "month",
            "label": p.attrs.get("label"), "unit": p.attrs.get("unit"),
            "areas": int(p["area"].nunique()),
            "treated_areas": int(p.loc[p["treated"], "area"].nunique()),
            "periods": int(p["period"].nunique()),
            "notes": list(p.attrs.get("notes", ())),
            "rows": records(p, ["area", "period"]),
        }
    return out


# -- the report ------------------------------------------------------------------------------
def metrics_report(backend: Any, filters: Filters | None = None,
                   families: Sequence[str] = FAMILIES) -> dict[str, Any]:
    """Every headline metric family for ``filters`` (dates and districts) as plain data.

    Parameters
    ----------
    backend
        An Ibis backend holding the canonical and derived tables (DuckDB or Spark).
    filters
        Date range and districts; other filters are not used by this report.
    families
        Which families to compute (default all, in :data:`FAMILIES` order).

    Returns
    -------
    dict
        ``format_version``, ``filters`` (``from``, ``to``, ``districts``), ``period``
        (the dates the figures cover and the data's span) and one key per family.
    """
    f = filters or Filters()
    if f.beats or f.priorities or f.categories:
        raise OptionError("the metrics report takes dates and districts only")
    for fam in families:
        options.check("family", fam, Family)
    opts = catalog.filter_options(backend)
    span = (opts.min_date, opts.max_date)
    out: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "filters": {"from": plain(f.start), "to": plain(f.end),
                    "districts": list(f.districts)},
        "period": {"start": plain(f.start or span[0]), "end": plain(f.end or span[1]),
                   "data_start": plain(span[0]), "data_end": plain(span[1])},
    }
    off = None
    for fam in families:
        if fam == "calls":
            out[fam] = _calls(backend, f)
        elif fam == "overview":
            out[fam] = _overview(backend, f, span)
        elif fam == "response_times":
            out[fam] = _response_times(backend, f)
        elif fam == "workload":
            out[fam] = _workload(backend, f)
        elif fam in ("offload", "sworn_hours_freed"):
            off = off or _offload(backend, f)
            out[fam] = off[0] if fam == "offload" else off[1]
        elif fam == "crime_trends":
            out[fam] = _crime_trends(backend, f)
        elif fam == "claims":
            out[fam] = _claims(backend, f)
    return out


# -- comparing two reports (engine parity) -----------------------------------------------------
#: Sums, means, shares and percentiles agree to this relative tolerance between engines
#: (they add floating-point numbers in a different order); counts, dates and text exactly.
REL_TOL = 1e-9
#: Absolute tolerance for figures that are zero on one engine and ~1e-15 on the other.
ABS_TOL = 1e-9


def differences(got: Any, want: Any, where: str = "", *, rel_tol: float = REL_TOL,
                abs_tol: float = ABS_TOL, limit: int = 20) -> list[str]:
    """Where two reports (plain data) differ: same keys in the same order, same lengths,
    exact ints, booleans, text and ``None``; floats within ``rel_tol`` (``abs_tol`` near 0).
    An int and a float compare as numbers. Returns at most ``limit`` descriptions."""
    out: list[str] = []

    def walk(g: Any, w: Any, at: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(w, dict):
            if not isinstance(g, dict):
                out.append(f"{at}: {g!r} is not an object")
            elif list(g) != list(w):
                out.append(f"{at}: keys {list(g)} != {list(w)}")
            else:
                for k in w:
                    walk(g[k], w[k], f"{at}.{k}")
        elif isinstance(w, list):
            if not isinstance(g, list):
                out.append(f"{at}: {g!r} is not a list")
            elif len(g) != len(w):
                out.append(f"{at}: {len(g)} rows != {len(w)}")
            else:
                for i, (a, b) in enumerate(zip(g, w, strict=True)):
                    walk(a, b, f"{at}[{i}]")
        elif isinstance(w, bool) or w is None or isinstance(w, str) or isinstance(g, bool):
            if g != w or type(g) is not type(w):
                out.append(f"{at}: {g!r} != {w!r}")
        elif isinstance(w, int) and isinstance(g, int):
            if g != w:
                out.append(f"{at}: {g} != {w} (counts are exact)")
        elif isinstance(w, (int, float)) and isinstance(g, (int, float)):
            if not math.isclose(g, w, rel_tol=rel_tol, abs_tol=abs_tol):
                out.append(f"{at}: {g!r} != {w!r} (relative tolerance {rel_tol})")
        else:
            out.append(f"{at}: {g!r} != {w!r}")

    walk(got, want, where)
    return out
