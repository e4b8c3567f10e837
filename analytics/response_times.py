"""Response-time metrics (PRODUCT.md section 3, "Response time").

Per call, public-initiated calls only (``self_initiated`` false):

- queue = received → first dispatched; travel = first dispatched → first arrived;
  total = received → first arrived, where "first" is the minimum over *all* units (not the
  primary's). Precomputed in ``call_facts`` (``queue_s``, ``travel_s``, ``total_s``).
- sworn total = received → first *sworn* unit on scene (``sworn_total_s``), computed over
  the kept calls that had a sworn unit on scene, with a non-negative time within the cap.
- Exclusions, applied in this order and each counted (a call is counted at the first
  step that excludes it): officer-initiated; no valid arrival (no dispatch or no arrival
  time); out-of-order or negative segment (queue < 0 or travel < 0); total above the cap
  (default 24 h, configurable).
- Figures are the median and the 90th percentile in minutes (``quantile_cont``: linear
  interpolation between order statistics), always split by priority. Segment
  percentiles are never added together.

Every summary is one grouped query that returns the figures *and* the exclusion counts of
each group side by side (columns ``calls_total``, one per exclusion step, ``calls`` kept),
so a figure is never shown without the counts behind it. All aggregation runs in the
database through Ibis; only aggregated rows reach pandas. Results carry the SQL
(``ibis.to_sql``) that produced them.

Treated vs comparison areas (:func:`area_groups`, :func:`treated_vs_comparison`): a beat is
*treated* when a deployment covers it (deployment ``area_id`` is the beat, or the beat's
district) with ``start_date`` on or before the "as of" date (default: end of the filter
period, else the latest call date); *comparison* beats have never had a deployment;
beats whose first deployment starts after the as-of date are *not yet treated* and are
reported separately, never pooled with either side.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import pandas as pd

from analytics import engines
from analytics.errors import OptionError, check_option
from analytics.filters import Filters

Segment = Literal["queue", "travel", "total", "sworn_total"]
SEGMENTS: tuple[Segment, ...] = ("queue", "travel", "total", "sworn_total")
SEGMENT_LABELS: dict[str, str] = {
    "queue": "Queue (received → first dispatch)",
    "travel": "Travel (first dispatch → first on scene)",
    "total": "Total (received → first unit on scene)",
    "sworn_total": "Sworn total (received → first sworn unit on scene)",
}
Grain = Literal["week", "month"]
GRAINS: tuple[Grain, ...] = ("week", "month")
Split = Literal["none", "treatment", "responder"]
SPLITS: tuple[Split, ...] = ("none", "treatment", "responder")
DEFAULT_CAP_MIN = 24 * 60.0

EXCLUSION_STEPS = (
    ("officer_initiated", "Officer-initiated (no public wait)"),
    ("no_arrival", "No valid dispatch or arrival time"),
    ("out_of_order", "Out-of-order or negative segment"),
    ("above_cap", "Total above the cap"),
)
EXCLUSION_KEYS: tuple[str, ...] = tuple(k for k, _ in EXCLUSION_STEPS)

TREATMENT_GROUPS = ("treated", "not_yet_treated", "comparison")
AREA_PHASE_LABELS = {
    ("treated", "before"): "CSO beats, before CSOs",
    ("treated", "during"): "CSO beats, with CSOs",
    ("treated", "ended"): "CSO beats, after CSOs left",
    ("comparison", "never"): "Comparison beats (never CSOs)",
}
RESPONDER_LABELS = {
    "sworn": "Sworn primary",
    "cso": "CSO primary",
    "other": "Other primary",
    "none": "No unit recorded",
}


@dataclass(frozen=True)
class ResponseTable:
    """Median/P90 table plus the exclusion counts behind it and the SQL that made it.

    ``figures`` holds one row per group with the exclusion counts of that group beside the
    figures; ``exclusions`` is the step-by-step total over all groups (columns ``step``,
    ``label``, ``calls``, ``share``).
    """

    figures: pd.DataFrame
    exclusions: pd.DataFrame
    sql: str


def facts(backend: Any, filters: Filters) -> ibis.Table:
    """``call_facts`` with the global filters applied."""
    return filters.apply(backend.table("call_facts"))


def _exclusion_reason(t: ibis.Table, cap_min: float) -> ibis.Value:
    cap_s = cap_min * 60.0
    return (
        ibis.cases(
            (t.self_initiated, "officer_initiated"),
            (t.first_dispatched_at.isnull() | t.first_arrived_at.isnull(), "no_arrival"),
            ((t.queue_s < 0) | (t.travel_s < 0), "out_of_order"),
            (t.total_s > cap_s, "above_cap"),
            else_="kept",
        )
    )


def _check_cap(cap_min: float) -> None:
    if not cap_min > 0:
        raise OptionError(f"response-time cap must be above 0 minutes; got {cap_min}")


def with_exclusion_reason(t: ibis.Table, cap_min: float = DEFAULT_CAP_MIN) -> ibis.Table:
    """Add a column ``exclusion`` = the first exclusion step that applies, or ``"kept"``."""
    _check_cap(cap_min)
    return t.mutate(exclusion=_exclusion_reason(t, cap_min))


def valid_calls(t: ibis.Table, cap_min: float = DEFAULT_CAP_MIN) -> ibis.Table:
    """Calls that survive every exclusion step."""
    return with_exclusion_reason(t, cap_min).filter(lambda x: x.exclusion == "kept")


def _long_exclusions(counts: dict[str, int]) -> pd.DataFrame:
    rows = [(k, label, int(counts.get(k, 0))) for k, label in EXCLUSION_STEPS]
    rows.append(("kept", "Kept for response-time figures", int(counts.get("kept", 0))))
    df = pd.DataFrame(rows, columns=["step", "label", "calls"])
    total = df["calls"].sum()
    df["share"] = df["calls"] / total if total else 0.0
    return df


def exclusion_counts(
    backend: Any, filters: Filters, cap_min: float = DEFAULT_CAP_MIN
) -> pd.DataFrame:
    """Counts per exclusion step (and kept), in step order, with the share of all calls.

    Columns: ``step``, ``label``, ``calls``, ``share``. ``calls`` sums to the filtered total.
    """
    t = with_exclusion_reason(facts(backend, filters), cap_min)
    got = t.group_by("exclusion").aggregate(calls=t.count()).to_pandas()
    return _long_exclusions(dict(zip(got["exclusion"], got["calls"], strict=True)))


# -- the one grouped query behind every figure ---------------------------------------------


def _summary_expr(
    t: ibis.Table, by: tuple[str, ...], segments: tuple[Segment, ...], cap_min: float
) -> ibis.Table:
    """Group ``t`` (already carrying ``exclusion``) by ``by``: counts and median/P90."""
    cap_s = cap_min * 60.0
    kept = t.exclusion == "kept"
    aggs: dict[str, Any] = {"calls_total": t.count()}
    for key in EXCLUSION_KEYS:
        aggs[key] = t.count(where=t.exclusion == key)
    aggs["calls"] = t.count(where=kept)
    sworn_ok = kept & t.sworn_total_s.notnull() & (t.sworn_total_s >= 0) & (
        t.sworn_total_s <= cap_s
    )
    if "sworn_total" in segments:
        aggs["calls_sworn_on_scene"] = t.count(where=sworn_ok)
    for s in segments:
        col = t[f"{s}_s"] / 60.0
        where = sworn_ok if s == "sworn_total" else kept
        # one sort per segment gives both percentiles: quantile_cont(x, [0.5, 0.9])
        aggs[f"q_{s}_min"] = col.quantile([0.5, 0.9], where=where)
    return t.group_by(list(by)).aggregate(**aggs).order_by(list(by))


def _execute(backend: Any, expr: ibis.Expr) -> tuple[pd.DataFrame, str]:
    """Run on any Ibis engine; (frame, SQL): the SQL shown is the SQL that ran."""
    return engines.execute(backend, expr)


def _split_quantiles(df: pd.DataFrame) -> pd.DataFrame:
    for c in [c for c in df.columns if c.startswith("q_") and c.endswith("_min")]:
        seg = c[2:-4]
        # a group with no kept call has NULL instead of a [p50, p90] list
        pairs = [tuple(q) if hasattr(q, "__len__") and len(q) == 2 else (None, None)
                 for q in df[c]]
        df[f"median_{seg}_min"] = pd.to_numeric(pd.Series([p[0] for p in pairs],
                                                          dtype="float64", index=df.index))
        df[f"p90_{seg}_min"] = pd.to_numeric(pd.Series([p[1] for p in pairs],
                                                       dtype="float64", index=df.index))
        df = df.drop(columns=c)
    for c in ("calls_total", *EXCLUSION_KEYS, "calls", "calls_sworn_on_scene"):
        if c in df.columns:
            df[c] = df[c].astype("int64")
    if "priority" in df.columns:
        df["priority"] = df["priority"].astype("Int64")
    return df


def _run(backend: Any, expr: ibis.Table) -> ResponseTable:
    figures, sql = _execute(backend, expr)
    figures = _split_quantiles(figures)
    counts = {k: int(figures[k].sum()) for k in (*EXCLUSION_KEYS, "calls")}
    counts["kept"] = counts.pop("calls")
    return ResponseTable(figures=figures, exclusions=_long_exclusions(counts), sql=sql)


def _check_segments(segments: tuple[Segment, ...]) -> None:
    if not segments:
        raise OptionError("choose at least one response-time segment")
    for s in segments:
        check_option("segment", s, SEGMENTS)


def response_summary(
    backend: Any,
    filters: Filters,
    *,
    segments: tuple[Segment, ...] = ("queue", "travel", "total"),
    by: tuple[str, ...] = ("priority",),
    cap_min: float = DEFAULT_CAP_MIN,
) -> ResponseTable:
    """Median and 90th percentile (minutes) of each segment, grouped by ``by``.

    ``by`` must include ``priority`` (PRODUCT.md: always split by priority) and names
    ``call_facts`` columns. Columns: the ``by`` columns, ``calls_total``, one count per
    exclusion step (``officer_initiated``, ``no_arrival``, ``out_of_order``,
    ``above_cap``), ``calls`` (kept), ``calls_sworn_on_scene`` when ``sworn_total`` is
    asked for, then ``median_<seg>_min`` and ``p90_<seg>_min`` per segment.

    Examples
    --------
    >>> from analytics import db, facts as f
    >>> con = db.connect(":memory:"); f.refresh_derived(con)
    >>> response_summary(db.ibis_backend(con), Filters()).figures.empty
    True
    """
    if "priority" not in by:
        raise OptionError("response times are always split by priority: include 'priority' in by")
    _check_segments(segments)
    t = with_exclusion_reason(facts(backend, filters), cap_min)
    return _run(backend, _summary_expr(t, by, segments, cap_min))


# -- treated vs comparison areas -----------------------------------------------------------


def _deployment_starts(backend: Any) -> ibis.Table:
    """First start (and last end, NULL when open-ended) per deployed area id."""
    d = backend.table("deployments")
    return d.group_by("area_id").aggregate(
        dep_start=d.start_date.min(),
        # an open-ended deployment (end_date NULL) keeps the area treated
        dep_end=ibis.cases((d.end_date.isnull().any(), ibis.null("date")),
                           else_=d.end_date.max()),
    )


def _as_of_date(backend: Any, filters: Filters, as_of: dt.date | None) -> dt.date | None:
    if as_of is not None:
        return as_of
    if filters.end is not None:
        return filters.end
    f = backend.table("call_facts")
    v = f.aggregate(hi=f.day.max()).to_pandas()["hi"].iloc[0]
    if v is None or v != v:  # NULL / NaT: no calls
        return None
    return pd.Timestamp(v).date()


def with_treatment(t: ibis.Table, backend: Any, as_of: dt.date | None) -> ibis.Table:
    """Add ``deployment_start``, ``treatment_group`` and ``phase`` to a call-level table.

    A call's beat is covered by a deployment of the beat itself or of its district (the
    earlier start wins). ``treatment_group``: ``treated`` (start ≤ ``as_of``),
    ``not_yet_treated`` (start later) or ``comparison`` (never deployed). ``phase``:
    ``before`` / ``during`` / ``ended`` relative to the covering deployment's own dates
    (``never`` for comparison beats).
    """
    starts = _deployment_starts(backend)
    by_beat = starts.select(b_area=starts.area_id, b_start=starts.dep_start, b_end=starts.dep_end)
    by_dist = starts.select(d_area=starts.area_id, d_start=starts.dep_start, d_end=starts.dep_end)
    j = t.left_join(by_beat, t.beat == by_beat.b_area).left_join(
        by_dist, t.district == by_dist.d_area
    )
    j = j.drop("b_area", "d_area")
    start = ibis.least(j.b_start, j.d_start)  # DuckDB LEAST skips NULLs
    # End of the covering deployment: open-ended if either covering deployment is.
    end = ibis.cases(
        ((j.b_start.notnull() & j.b_end.isnull()) | (j.d_start.notnull() & j.d_end.isnull()),
         ibis.null("date")),
        else_=ibis.greatest(j.b_end, j.d_end),
    )
    if as_of is None:
        group = ibis.cases((start.isnull(), "comparison"), else_="treated")
    else:
        group = ibis.cases(
            (start.isnull(), "comparison"),
            (start <= ibis.literal(as_of), "treated"),
            else_="not_yet_treated",
        )
    phase = ibis.cases(
        (start.isnull(), "never"),
        (j.day < start, "before"),
        (end.notnull() & (j.day > end), "ended"),
        else_="during",
    )
    return j.mutate(deployment_start=start, treatment_group=group, phase=phase).drop(
        "b_start", "b_end", "d_start", "d_end"
    )


def area_groups(backend: Any, as_of: dt.date | None = None) -> pd.DataFrame:
    """Every beat with its district, first deployment start and treatment group.

    Beats come from ``areas`` (level beat) and from the calls themselves. Columns: ``beat``,
    ``district``, ``deployment_start`` (NaT when never deployed), ``treatment_group``.
    With ``as_of`` None every ever-deployed beat counts as treated.
    """
    a = backend.table("areas")
    f = backend.table("call_facts")
    from_areas = a.filter(a.level == "beat").select(
        beat=a.area_id.cast("string"), district=a.parent_id.cast("string")
    )
    from_calls = f.filter(f.beat.notnull()).select(
        beat=f.beat.cast("string"), district=f.district.cast("string")
    ).distinct()
    beats = from_areas.union(from_calls).group_by("beat").aggregate(
        district=lambda x: x.district.max()
    )
    beats = beats.mutate(day=ibis.literal(as_of or dt.date(1900, 1, 1)))
    g = with_treatment(beats, backend, as_of).select(
        "beat", "district", "deployment_start", "treatment_group"
    )
    return _execute(backend, g.order_by(["treatment_group", "beat"]))[0]


def treated_vs_comparison(
    backend: Any,
    filters: Filters,
    *,
    as_of: dt.date | None = None,
    by_phase: bool = False,
    segments: tuple[Segment, ...] = ("queue", "travel", "total"),
    cap_min: float = DEFAULT_CAP_MIN,
) -> ResponseTable:
    """Median/P90 by ``treatment_group`` (× ``phase`` when ``by_phase``) × priority.

    ``as_of`` defaults to the end of the filter period, else the latest call date. With
    ``by_phase`` the treated beats' calls are split into before/during/ended their own
    deployment (the comparison beats' phase is ``never``).
    """
    _check_segments(segments)
    as_of = _as_of_date(backend, filters, as_of)
    t = with_exclusion_reason(with_treatment(facts(backend, filters), backend, as_of), cap_min)
    by = ("treatment_group", "phase", "priority") if by_phase else ("treatment_group", "priority")
    return _run(backend, _summary_expr(t, by, segments, cap_min))


# -- sworn vs CSO responders ---------------------------------------------------------------


def _with_responder(t: ibis.Table) -> ibis.Table:
    return t.mutate(responder=t.primary_unit_type.fill_null("none"))


def responder_summary(
    backend: Any,
    filters: Filters,
    *,
    segments: tuple[Segment, ...] = ("total", "sworn_total"),
    cap_min: float = DEFAULT_CAP_MIN,
) -> ResponseTable:
    """Median/P90 by primary responder type (``responder``: sworn / cso / other / none) ×
    priority, so CSO-handled calls get their own figures.

    ``total`` is to the first unit of any type on scene; ``sworn_total`` to the first sworn
    unit (for CSO calls: the sworn backup, when one came).
    """
    _check_segments(segments)
    t = with_exclusion_reason(_with_responder(facts(backend, filters)), cap_min)
    return _run(backend, _summary_expr(t, ("responder", "priority"), segments, cap_min))


# -- trend ---------------------------------------------------------------------------------


def response_trend(
    backend: Any,
    filters: Filters,
    *,
    grain: Grain = "month",
    segments: tuple[Segment, ...] = ("total",),
    split: Split = "none",
    as_of: dt.date | None = None,
    cap_min: float = DEFAULT_CAP_MIN,
) -> ResponseTable:
    """Median/P90 per week or month (``period`` column = first day) × priority.

    ``split`` adds ``treatment_group`` (see :func:`with_treatment`) or ``responder``.
    Weeks start on Monday. Each row carries its own exclusion counts.
    """
    check_option("grain", grain, GRAINS)
    check_option("split", split, SPLITS)
    _check_segments(segments)
    t = facts(backend, filters)
    by: tuple[str, ...] = ("period", "priority")
    if split == "treatment":
        t = with_treatment(t, backend, _as_of_date(backend, filters, as_of))
        by = ("treatment_group", "period", "priority")
    elif split == "responder":
        t = _with_responder(t)
        by = ("responder", "period", "priority")
    t = with_exclusion_reason(t.mutate(period=t[grain]), cap_min)
    return _run(backend, _summary_expr(t, by, segments, cap_min))


# -- distribution --------------------------------------------------------------------------


def response_distribution(
    backend: Any,
    filters: Filters,
    *,
    segment: Segment = "total",
    bin_min: float = 1.0,
    max_min: float | None = None,
    cap_min: float = DEFAULT_CAP_MIN,
) -> ResponseTable:
    """Histogram of a segment over kept calls, binned in the database, by priority.

    Bins are ``[k·bin_min, (k+1)·bin_min)`` minutes up to ``max_min`` (default: the cap,
    at most 120 min); longer times (still within the cap) share one overflow bin whose
    ``bin_start_min`` is ``max_min``. Columns: ``priority``, ``bin_start_min``,
    ``bin_end_min``, ``overflow``, ``calls``, ``share`` (of the priority's kept calls) and
    ``cum_share`` (the ECDF at ``bin_end_min``).
    """
    check_option("segment", segment, SEGMENTS)
    _check_cap(cap_min)
    if not bin_min > 0:
        raise OptionError(f"histogram bin width must be above 0 minutes; got {bin_min}")
    if max_min is None:
        max_min = min(cap_min, 120.0)
    if not max_min > 0:
        raise OptionError(f"histogram range must be above 0 minutes; got {max_min}")
    n_bins = int(-(-max_min // bin_min))  # ceil
    t = with_exclusion_reason(facts(backend, filters), cap_min)
    x = t[f"{segment}_s"] / 60.0
    in_hist = t.exclusion == "kept"
    if segment == "sworn_total":
        in_hist = in_hist & t.sworn_total_s.notnull() & (t.sworn_total_s >= 0) & (
            t.sworn_total_s <= cap_min * 60.0)
    # One scan: excluded rows (and kept calls without the segment) get bin NULL and
    # still count towards the exclusion table.
    k = ibis.cases((in_hist, ibis.least((x / bin_min).floor(), n_bins)), else_=ibis.null("int64"))
    expr = (
        t.mutate(bin=k)
        .group_by(["priority", "exclusion", "bin"])
        .aggregate(calls=lambda s: s.count())
        .order_by(["priority", "exclusion", "bin"])
    )
    got, sql = _execute(backend, expr)
    counts = got.groupby("exclusion")["calls"].sum().to_dict() if len(got) else {}
    excl = _long_exclusions({k_: int(v) for k_, v in counts.items()})
    cols = ["priority", "bin_start_min", "bin_end_min", "overflow", "calls", "share",
            "cum_share"]
    df = got[got["bin"].notna()].drop(columns="exclusion") if len(got) else got
    if df.empty:
        return ResponseTable(figures=pd.DataFrame(columns=cols), exclusions=excl, sql=sql)
    df = df.groupby(["priority", "bin"], dropna=False, as_index=False)["calls"].sum()
    df = df.sort_values(["priority", "bin"]).reset_index(drop=True)
    df["priority"] = df["priority"].astype("Int64")
    df["calls"] = df["calls"].astype("int64")
    df["overflow"] = df["bin"] >= n_bins
    df["bin_start_min"] = df["bin"].astype(float) * bin_min
    df.loc[df["overflow"], "bin_start_min"] = float(max_min)
    df["bin_end_min"] = (df["bin"].astype(float) + 1) * bin_min
    df.loc[df["overflow"], "bin_end_min"] = float(cap_min)
    grp = df.groupby("priority", dropna=False)["calls"]
    df["share"] = df["calls"] / grp.transform("sum")
    df["cum_share"] = grp.cumsum() / grp.transform("sum")
    return ResponseTable(figures=df[cols].reset_index(drop=True), exclusions=excl, sql=sql)


# -- presentation helpers (pure pandas on aggregated rows) ---------------------------------


def priority_label(value: Any) -> str:
    """``1`` → ``"P1"``; missing → ``"No priority"``."""
    if value is None or value != value or value is pd.NA:
        return "No priority"
    return f"P{int(value)}"


def display_figures(df: pd.DataFrame) -> pd.DataFrame:
    """Figures with readable headers: priority as ``P1``…, groups labelled, minutes rounded."""
    out = df.copy()
    if "priority" in out.columns:
        out["priority"] = [priority_label(v) for v in out["priority"]]
    if "responder" in out.columns:
        out["responder"] = out["responder"].map(lambda r: RESPONDER_LABELS.get(r, r))
    if "treatment_group" in out.columns and "phase" in out.columns:
        out["treatment_group"] = [
            AREA_PHASE_LABELS.get((g, ph), f"{g.replace('_', ' ')}, {ph}")
            for g, ph in zip(out["treatment_group"], out["phase"], strict=True)
        ]
        out = out.drop(columns="phase")
    elif "treatment_group" in out.columns:
        out["treatment_group"] = out["treatment_group"].str.replace("_", " ")
    rename = {
        "priority": "Priority", "responder": "Primary responder",
        "treatment_group": "Areas", "phase": "Phase", "period": "Period",
        "calls_total": "Calls (all)", "officer_initiated": "Excl. officer-initiated",
        "no_arrival": "Excl. no arrival", "out_of_order": "Excl. out-of-order",
        "above_cap": "Excl. above cap", "calls": "Calls kept",
        "calls_sworn_on_scene": "Calls with sworn on scene",
    }
    for s in SEGMENTS:
        name = s.replace("_", " ")
        rename[f"median_{s}_min"] = f"Median {name} (min)"
        rename[f"p90_{s}_min"] = f"P90 {name} (min)"
    for c in out.columns:
        if c.endswith("_min"):
            out[c] = out[c].astype("float64").round(1)
    # group keys, then the figures, then the counts behind them (kept, then each exclusion)
    keys = [c for c in ("treatment_group", "phase", "responder", "period", "priority")
            if c in out.columns]
    seg_order = ("total", "queue", "travel", "sworn_total")
    figs = [f"{stat}_{seg}_min" for seg in seg_order for stat in ("median", "p90")
            if f"{stat}_{seg}_min" in out.columns]
    figs += [c for c in out.columns if c.endswith("_min") and c not in figs]
    rest = [c for c in out.columns if c not in keys and c not in figs]
    front = [c for c in ("calls", "calls_sworn_on_scene") if c in rest]
    out = out[keys + figs + front + [c for c in rest if c not in front]]
    return out.rename(columns={k: v for k, v in rename.items() if k in out.columns})


def table_figures(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`display_figures` for a table: minutes as text with one decimal, and "—"
    where a group kept no call (so no cell reads NaN or None)."""
    out = display_figures(df)
    for c in out.columns:
        if c.endswith("(min)"):
            out[c] = ["—" if v != v else f"{v:.1f}" for v in out[c]]
    if "Period" in out.columns:
        out["Period"] = [str(pd.Timestamp(v).date()) for v in out["Period"]]
    return out


def display_groups(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`area_groups` for a table: readable headers, "never" for no deployment."""
    out = df.copy()
    out["deployment_start"] = [
        "never" if v is None or v != v else str(pd.Timestamp(v).date())
        for v in out["deployment_start"]
    ]
    out["district"] = out["district"].fillna("—")
    out["treatment_group"] = out["treatment_group"].str.replace("_", " ")
    return out.rename(columns={"beat": "Beat", "district": "District",
                               "deployment_start": "First deployment",
                               "treatment_group": "Group"})
