"""Response-time metrics (PRODUCT.md section 3, "Response time").

Per call, public-initiated calls only (``self_initiated`` false):

- queue = received → first dispatched; travel = first dispatched → first arrived;
  total = received → first arrived, where "first" is the minimum over *all* units (not the
  primary's). Precomputed in ``call_facts`` (``queue_s``, ``travel_s``, ``total_s``).
- sworn total = received → first *sworn* unit on scene (``sworn_total_s``).
- The validity rule and its cap live in :mod:`analytics.core.calls`: **each segment is
  judged on its own** — a call counts for a segment whenever that segment's endpoints
  exist, are in order and are within the cap (default 24 h, configurable), so a call with
  no dispatch time still has a total. Exclusions are counted per segment, in step order:
  officer-initiated; missing time; out of order (negative segment); above the cap.
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

from analytics import engines, sql_shapes
from analytics import response_hist as rh
from analytics.core import calls as core_calls
from analytics.core import periods, treatment
from analytics.core.calls import (
    EXCLUSION_KEYS,
    EXCLUSION_LABELS,
    MAX_CAP_MIN,
    RESPONSE_CAP_MIN,
    SEGMENTS,
    Segment,
    check_cap,
)
from analytics.core.options import check, choices
from analytics.core.results import Table
from analytics.errors import OptionError
from analytics.filters import Filters

SEGMENT_LABELS: dict[str, str] = {
    "queue": "Queue (received → first dispatch)",
    "travel": "Travel (first dispatch → first on scene)",
    "total": "Total (received → first unit on scene)",
    "sworn_total": "Sworn total (received → first sworn unit on scene)",
}
Grain = periods.Freq
GRAINS: tuple[Grain, ...] = choices(Grain)
Split = Literal["none", "treatment", "responder"]
SPLITS: tuple[Split, ...] = choices(Split)
DEFAULT_CAP_MIN = RESPONSE_CAP_MIN
#: The largest cap the page offers (the histograms hold every kept time up to it).
MAX_CAP_MIN = MAX_CAP_MIN

#: The kept-call count column of each segment in a figures table.
KEPT_COLUMN: dict[str, str] = {"total": "calls", "queue": "calls_queue",
                               "travel": "calls_travel", "sworn_total": "calls_sworn_on_scene"}

TREATMENT_GROUPS: tuple[treatment.Group, ...] = choices(treatment.Group)
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


@dataclass(frozen=True, eq=False)
class ResponseTable(Table):
    """Median/P90 table plus the exclusion counts behind it and the SQL that made it.

    ``frame`` holds one row per group with the exclusion counts of that group beside the
    figures; ``exclusions`` is the step-by-step total over all groups (columns ``step``,
    ``label``, ``calls``, ``share``); ``sql`` the one query that ran.
    """


def facts(backend: Any, filters: Filters) -> ibis.Table:
    """``call_facts`` with the global filters applied (:func:`analytics.core.calls.calls`)."""
    return core_calls.calls(backend, filters)


def with_exclusion_reason(t: ibis.Table, cap_min: float = DEFAULT_CAP_MIN,
                          segments: tuple[Segment, ...] = ("total",)) -> ibis.Table:
    """Add ``x_<segment>`` = the first exclusion step that applies for that segment, or
    ``"kept"`` (the rule of :func:`analytics.core.calls.exclusion_step`)."""
    check_cap(cap_min)
    return t.mutate(**{f"x_{s}": core_calls.exclusion_step(t, s, cap_min) for s in segments})


def _long_exclusions(counts: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Step-by-step table: ``calls``/``share`` for the total, one column per other segment."""
    total = counts.get("total", {})
    rows = [(k, EXCLUSION_LABELS[k], int(total.get(k, 0))) for k in EXCLUSION_KEYS]
    rows.append(("kept", "Kept for response-time figures", int(total.get("kept", 0))))
    df = pd.DataFrame(rows, columns=["step", "label", "calls"])
    n = df["calls"].sum()
    df["share"] = df["calls"] / n if n else 0.0
    for seg, c in counts.items():
        if seg != "total":
            df[seg] = [int(c.get(k, 0)) for k in (*EXCLUSION_KEYS, "kept")]
    return df


def exclusion_counts(
    backend: Any, filters: Filters, cap_min: float = DEFAULT_CAP_MIN,
    segment: Segment = "total",
) -> Table:
    """Counts per exclusion step (and kept) of one segment, in step order, with the share
    of all calls. Columns: ``step``, ``label``, ``calls``, ``share``; ``calls`` sums to the
    filtered total."""
    check("segment", segment, Segment)
    t = with_exclusion_reason(facts(backend, filters), cap_min, (segment,))
    col = t[f"x_{segment}"]
    got, sql = _execute(backend, t.group_by(step=col).aggregate(calls=t.count()))
    return Table(_long_exclusions({"total": dict(zip(got["step"], got["calls"], strict=True))}),
                 sql=sql)


# -- the one grouped query behind every figure ---------------------------------------------


def _summary_expr(
    t: ibis.Table, by: tuple[str, ...], segments: tuple[Segment, ...], cap_min: float
) -> ibis.Table:
    """Group ``t`` by ``by``: per-segment exclusion counts and median/P90.

    The total's exclusion counts are the unprefixed columns (``no_arrival``, …,
    ``calls``); every other segment's are ``<step>__<segment>`` (folded into the
    exclusions table by :func:`_run`) and its kept count is ``KEPT_COLUMN[segment]``.
    """
    counted: tuple[Segment, ...] = tuple(dict.fromkeys(("total", *segments)))
    t = with_exclusion_reason(t, cap_min, counted)
    aggs: dict[str, Any] = {"calls_total": t.count(),
                            "officer_initiated": t.count(where=t.self_initiated)}
    for s in counted:
        step = t[f"x_{s}"]
        suffix = "" if s == "total" else f"__{s}"
        for key in EXCLUSION_KEYS[1:]:
            aggs[f"{key}{suffix}"] = t.count(where=step == key)
        aggs[KEPT_COLUMN[s]] = t.count(where=step == "kept")
    for s in segments:
        col = t[f"{s}_s"] / 60.0
        # one sort per segment gives both percentiles: quantile_cont(x, [0.5, 0.9])
        aggs[f"q_{s}_min"] = col.quantile([0.5, 0.9], where=t[f"x_{s}"] == "kept")
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
    for c in df.columns:
        if c in ("calls_total", *KEPT_COLUMN.values()) or c.split("__")[0] in EXCLUSION_KEYS:
            df[c] = df[c].astype("int64")
    if "priority" in df.columns:
        df["priority"] = df["priority"].astype("Int64")
    return df


def _summarize(
    backend: Any, filters: Filters, by: tuple[str, ...], segments: tuple[Segment, ...],
    cap_min: float, *, needs: tuple[str, ...] = (),
    extra: Any = None, extra_key: tuple | None = None,
) -> ResponseTable:
    """The one path of every response-time figure: from the 5-second histograms
    (:mod:`analytics.response_hist`, within 2.5 s of exact) when they can answer, else
    exact over ``call_facts``; the result's caveats say which ran.

    ``needs`` are the columns of the calls the grouping is made from (besides ``by``'s
    own, e.g. ``day`` for the deployment phase); ``extra(table, hist)`` adds grouping
    columns to a call-level table (``hist`` False) or to the histogram rows (True), and
    ``extra_key`` names what ``extra`` depends on: with it (or without ``extra``) the
    expression is built once per question and backend (:func:`analytics.engines.planned`).
    """
    if extra is not None and extra_key is None:
        return _run(backend, *_plan(backend, filters, by, segments, cap_min, needs, extra))
    return _run(backend, *engines.planned(
        backend, ("response_times", filters, by, segments, cap_min, needs, extra_key),
        lambda: _plan(backend, filters, by, segments, cap_min, needs, extra)))


#: Above this many days a city-wide trend takes the two-level quantile search.
MANY_GROUPS_DAYS = 400


def _many_groups(filters: Filters, by: tuple[str, ...]) -> bool:
    """Whether the histogram path should find its quantiles in two levels
    (:func:`analytics.response_hist.quantiles_expr`, the same numbers either way): it
    pays off for many groups of many bins — a city-wide trend over more than
    :data:`MANY_GROUPS_DAYS` — and costs more than it saves (a plan twice as long) for a
    district's, a year's or a summary's few groups. Measured at 10 M calls, CPU-s one
    level → two: whole-period trend 0.085 → 0.070, three segments 0.25 → 0.15, by
    responder 0.31 → 0.17; one year 0.046 → 0.054, one district 0.079 → 0.083, P1 median
    of one district 0.019 → 0.033 (docs/performance.md)."""
    if "period" not in by or filters.districts or filters.beats:
        return False
    if filters.start is None or filters.end is None:
        return True
    return (filters.end - filters.start).days > MANY_GROUPS_DAYS


def _plan(backend: Any, filters: Filters, by: tuple[str, ...], segments: tuple[Segment, ...],
          cap_min: float, needs: tuple[str, ...], extra: Any) -> tuple[ibis.Table, str]:
    """:func:`_summarize`'s expression and caveat."""
    derived = {"period", "treatment_group", "phase", "responder"}
    columns = tuple(dict.fromkeys((*needs, *(c for c in by if c not in derived))))
    reason = rh.reason_for_exact(backend, filters, cap_min, columns)
    if reason is None:
        h = rh.source(backend, filters, tuple(dict.fromkeys(("total", *segments))),
                      columns=columns)
        if extra is not None:
            h = extra(h, True)
        return (rh.summary_expr(h, by, segments, cap_min, KEPT_COLUMN,
                                by_minute=_many_groups(filters, by)), rh.HIST_CAVEAT)
    t = facts(backend, filters)
    if extra is not None:
        t = extra(t, False)
    return _summary_expr(t, by, segments, cap_min), rh.exact_caveat(reason)


def _run(backend: Any, expr: ibis.Table, caveat: str = "") -> ResponseTable:
    figures, sql = _execute(backend, expr)
    figures = _split_quantiles(figures)
    counts: dict[str, dict[str, int]] = {}
    for seg, kept_col in KEPT_COLUMN.items():
        if kept_col not in figures.columns:
            continue
        suffix = "" if seg == "total" else f"__{seg}"
        c = {k: int(figures[f"{k}{suffix}"].sum()) for k in EXCLUSION_KEYS[1:]}
        c["officer_initiated"] = int(figures["officer_initiated"].sum())
        c["kept"] = int(figures[kept_col].sum())
        counts[seg] = c
    figures = figures.drop(columns=[c for c in figures.columns if "__" in c])
    return ResponseTable(frame=figures, exclusions=_long_exclusions(counts), sql=sql,
                         caveats=(caveat,) if caveat else ())


def _check_segments(segments: tuple[Segment, ...]) -> None:
    if not segments:
        raise OptionError("choose at least one response-time segment")
    for s in segments:
        check("segment", s, Segment)


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
    >>> response_summary(db.ibis_backend(con), Filters()).frame.empty
    True
    """
    if "priority" not in by:
        raise OptionError("response times are always split by priority: include 'priority' in by")
    _check_segments(segments)
    check_cap(cap_min)
    return _summarize(backend, filters, tuple(by), segments, cap_min)


def priority_figures(
    backend: Any, filters: Filters, priority: int = 1, *, by: tuple[str, ...] = (),
    cap_min: float = DEFAULT_CAP_MIN,
) -> ResponseTable:
    """The total response of one priority (``median_total_min``, ``p90_total_min``,
    ``calls`` kept, …) split by ``by``: the "P1 median response" of the Overview card
    and table, the targets, the maps and the briefing, through the same path as
    :func:`response_summary` (so the same label shows the same number on every page).
    Only rows of ``priority``; none when the priority filter leaves it out."""
    if filters.priorities and priority not in filters.priorities:
        return ResponseTable(frame=pd.DataFrame(columns=[*by, "priority", "calls",
                                                         "median_total_min",
                                                         "p90_total_min"]))
    got = response_summary(backend, filters.with_(priorities=(priority,)),
                           segments=("total",), by=(*by, "priority"), cap_min=cap_min)
    frame = got.frame[got.frame["priority"] == priority].reset_index(drop=True)
    return ResponseTable(frame=frame, exclusions=got.exclusions, sql=got.sql,
                         caveats=got.caveats)


# -- treated vs comparison areas -----------------------------------------------------------


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
    """Add ``deployment_start``, ``treatment_group`` and ``phase`` to a call-level table
    (the treatment views of :func:`analytics.core.treatment.with_treatment`)."""
    return sql_shapes.without(treatment.with_treatment(t, backend, as_of),
                              "deployment_end", "deployed")


def area_groups(backend: Any, as_of: dt.date | None = None) -> pd.DataFrame:
    """Every beat with its district, first deployment start and treatment group.

    Beats come from ``areas`` (level beat) and from the calls themselves. Columns: ``beat``,
    ``district``, ``deployment_start`` (NaT when never deployed), ``treatment_group``.
    With ``as_of`` None every ever-deployed beat counts as treated.
    """
    beats = treatment.beat_districts(backend)
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
    check_cap(cap_min)
    by = ("treatment_group", "phase", "priority") if by_phase else ("treatment_group", "priority")
    # the phase of a call needs its day, unless every phase boundary is a month boundary
    # (then the monthly histograms hold it: the phase of the month's first day)
    by_day = by_phase and not treatment.phases_follow_months(backend)
    return _summarize(backend, filters, by, segments, cap_min,
                      needs=("beat", "district", *(("day",) if by_day else ())),
                      extra=_treatment_columns(backend, as_of), extra_key=("treatment", as_of))


def _treatment_columns(backend: Any, as_of: dt.date | None) -> Any:
    """``extra`` for :func:`_summarize`: the treatment group and the phase. The group
    depends on the beat only; on histogram rows the phase is that of the row's month
    (the right one only when :func:`analytics.core.treatment.phases_follow_months`:
    callers that split by phase send the other case to the exact path)."""
    def add(t: ibis.Table, hist: bool) -> ibis.Table:
        if hist:
            return sql_shapes.without(
                treatment.with_treatment(t, backend, as_of, day_col="month"),
                "deployment_end", "deployed")
        return with_treatment(t, backend, as_of)
    return add


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
    check_cap(cap_min)
    return _summarize(backend, filters, ("responder", "priority"), segments, cap_min,
                      needs=("primary_unit_type",), extra=lambda t, _h: _with_responder(t),
                      extra_key=("responder",))


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
    check("grain", grain, Grain)
    check("split", split, Split)
    check_cap(cap_min)
    _check_segments(segments)
    by: tuple[str, ...] = ("period", "priority")
    needs: tuple[str, ...] = (grain,)
    add: Any = None
    key: tuple = ("trend", grain, split)
    if split == "treatment":
        as_of = _as_of_date(backend, filters, as_of)
        add = _treatment_columns(backend, as_of)
        key += (as_of,)
        by, needs = ("treatment_group", "period", "priority"), (grain, "beat", "district")
    elif split == "responder":
        add = lambda t, _h: _with_responder(t)  # noqa: E731
        by, needs = ("responder", "period", "priority"), (grain, "primary_unit_type")

    def extra(t: ibis.Table, hist: bool) -> ibis.Table:
        t = t if add is None else add(t, hist)
        return t.mutate(period=t[grain])
    return _summarize(backend, filters, by, segments, cap_min, needs=needs, extra=extra,
                      extra_key=key)


# -- distribution --------------------------------------------------------------------------


def distribution_bin(seconds: ibis.Value, width_s: float, n_bins: int) -> ibis.Value:
    """The bin of a time in ``seconds`` among bins ``(k·w, (k+1)·w]`` of ``w = width_s``
    (0 s in the first bin), bins from ``n_bins`` on pooled into one: closed on the right
    so that a bin's cumulative share is the share of calls answered *within* its upper
    edge (the ECDF there)."""
    k = ibis.greatest((seconds / width_s).ceil() - 1, 0)
    return ibis.least(k, n_bins).cast("int64")


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

    Bins are ``(k·bin_min, (k+1)·bin_min]`` minutes (the first also holds 0) up to
    ``max_min`` (default: the cap, at most 120 min); longer times (still within the cap)
    share one overflow bin whose ``bin_start_min`` is ``max_min``. Columns:
    ``priority``, ``bin_start_min``, ``bin_end_min``, ``overflow``, ``calls``, ``share``
    (of the priority's kept calls) and ``cum_share`` (the ECDF at ``bin_end_min``: the
    share answered within it).

    When the bins are whole multiples of 5 s the counts come from the 5-second
    histograms (:mod:`analytics.response_hist`, whose bins nest in them: the same counts
    as from the calls), else from the calls (:func:`analytics.response_hist.reason_for_exact`).
    """
    check("segment", segment, Segment)
    check_cap(cap_min)
    if not bin_min > 0:
        raise OptionError(f"histogram bin width must be above 0 minutes; got {bin_min}")
    if max_min is None:
        max_min = min(cap_min, 120.0)
    if not max_min > 0:
        raise OptionError(f"histogram range must be above 0 minutes; got {max_min}")
    n_bins = int(-(-max_min // bin_min))  # ceil
    width_s = bin_min * 60.0
    nested = abs(width_s / rh.BIN_S - round(width_s / rh.BIN_S)) < 1e-9
    if nested and rh.reason_for_exact(backend, filters, cap_min) is None:
        h = rh.source(backend, filters, (segment,))
        exclusion = rh.capped_step(h, cap_min)
        # a histogram bin's upper edge (0 for bin 0) lies in the same distribution bin
        # as every time the bin holds
        edge_s = h.bin.cast("float64") * rh.BIN_S
        k = ibis.cases((exclusion == core_calls.KEPT, distribution_bin(edge_s, width_s, n_bins)),
                       else_=ibis.null("int64"))
        rows = h.mutate(exclusion=exclusion, bin=k)
        expr = (rows.group_by(["priority", "exclusion", "bin"])
                .aggregate(calls=rows.calls.sum().cast("int64"))
                .order_by(["priority", "exclusion", "bin"]))
    else:
        t = with_exclusion_reason(facts(backend, filters), cap_min, (segment,))
        t = t.mutate(exclusion=t[f"x_{segment}"])
        # One scan: excluded rows get bin NULL and still count towards the exclusion table.
        k = ibis.cases((t.exclusion == "kept",
                        distribution_bin(core_calls.segment_seconds(t, segment), width_s, n_bins)),
                       else_=ibis.null("int64"))
        expr = (
            t.mutate(bin=k)
            .group_by(["priority", "exclusion", "bin"])
            .aggregate(calls=lambda s: s.count())
            .order_by(["priority", "exclusion", "bin"])
        )
    got, sql = _execute(backend, expr)
    counts = got.groupby("exclusion")["calls"].sum().to_dict() if len(got) else {}
    excl = _long_exclusions({"total": {k_: int(v) for k_, v in counts.items()}})
    cols = ["priority", "bin_start_min", "bin_end_min", "overflow", "calls", "share",
            "cum_share"]
    df = got[got["bin"].notna()].drop(columns="exclusion") if len(got) else got
    if df.empty:
        return ResponseTable(frame=pd.DataFrame(columns=cols), exclusions=excl, sql=sql)
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
    return ResponseTable(frame=df[cols].reset_index(drop=True), exclusions=excl, sql=sql)


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
    seg_order = ("total", *(s for s in SEGMENTS if s != "total"))  # total first
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
