"""Response-time medians and 90th percentiles from monthly 5-second histograms.

``response_hist`` (built by :mod:`analytics.facts` at import, demo build and app writes)
holds, per local month × district × beat × priority × sensitive × primary unit type
(``primary_unit_type``: sworn / cso / other / NULL) × segment, the number
of calls at each exclusion step of :func:`analytics.core.calls.exclusion_step` — the
one validity rule — judged with the largest cap a user may choose
(:data:`~analytics.core.calls.MAX_CAP_MIN`, 7 days), and for the calls that rule keeps,
their count per 5-second bin:

- bin ``k = ceil(seconds / 5)``: bin 0 holds exactly 0 s, bin ``k ≥ 1`` holds
  ``(5k − 5, 5k]`` seconds (closed on the right, so a cap that is a whole multiple of
  5 s — every whole-minute cap — is a bin boundary: a call is kept for cap ``c`` exactly
  when its bin is ``≤ c / 5``, the rule's ``seconds ≤ cap``).
- Each bin stands for its centre: 0 for bin 0, ``5k − 2.5`` s otherwise, so every value
  in a bin is within 2.5 s of it.

**Days, not only months.** A date filter is whole local days. The months it covers
whole are read from ``response_hist``; the days of a month it covers only in part are
binned on the fly from ``call_facts`` with the same expression (:func:`build_expr`) —
``call_facts`` is in time order, so that reads only those days. The result is the
per-day histogram of exactly the filtered days. (Per-day rows were measured first: at
5-second bins a day × area × priority cell holds about one call per bin, so a per-day
table is as long as ``call_facts`` and no faster; docs/metrics.md.)

**Estimator and error bound.** With ``n`` kept values in a group, DuckDB's exact
``quantile_cont(p)`` is ``x_(a) + f·(x_(b) − x_(a))`` where ``h = (n − 1)·p``,
``a = ⌊h⌋ + 1``, ``b = ⌈h⌉ + 1``, ``f = h − ⌊h⌋`` and ``x_(i)`` is the i-th smallest
value. The histogram finds the bins of the a-th and b-th smallest values from the
cumulative counts and returns ``c_a + f·(c_b − c_a)`` with their centres ``c``. Since
``|c_a − x_(a)| ≤ 2.5 s`` and ``|c_b − x_(b)| ≤ 2.5 s``, the difference is
``(1 − f)(c_a − x_(a)) + f(c_b − x_(b))``: **at most 2.5 s (1/24 min ≈ 0.042 min) from the
exact figure**, for every group, filter and ``p`` (tests/test_response_hist.py checks it
against ``quantile_cont`` on random data). The counts (kept, each exclusion step) are
exact.

**When the histogram is used.** The date, district, beat and priority filters and the
public tier's sensitive-call exclusion are columns of the table, and so are the
groupings the pages use (priority, district, beat, month, primary responder,
treatment group, which depends on the beat only, and deployment phase when every
deployment starts on a month's first day and ends on a month's last day,
:func:`analytics.core.treatment.phases_follow_months`, so that a month's calls share
one phase). The exact path (``quantile_cont`` over ``call_facts``) runs
instead when the table does not exist or lacks a key column (a database made before
it, until
``python -m analytics upgrade`` or the next import builds it; a Parquet export), when a
call-category filter is set, when the cap is not a whole multiple of 5 s or is above
:data:`~analytics.core.calls.MAX_CAP_MIN`, or when a grouping is not a column of the
table (week; the phase when a deployment starts or ends inside a month).
:func:`reason_for_exact` says which;
the result's caveats say which path ran.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from analytics import engines, sql_shapes
from analytics.core import calls as core_calls
from analytics.core import treatment
from analytics.core.calls import EXCLUSION_KEYS, MAX_CAP_MIN, SEGMENTS, Segment
from analytics.core.options import choices
from analytics.filters import Filters

TABLE = "response_hist"
#: The same histograms summed over districts and beats (city-wide views read it).
CITY_TABLE = "response_hist_city"
BIN_S = 5
#: Half a bin: the largest distance of a value from the centre of its bin (seconds).
ERROR_BOUND_S = BIN_S / 2.0
#: The filter and grouping columns the table holds (besides segment, step, bin, calls).
KEYS: tuple[str, ...] = ("month", "district", "beat", "priority", "sensitive",
                         "primary_unit_type")
#: The area columns, which :data:`CITY_TABLE` sums over.
AREA_KEYS: tuple[str, ...] = choices(treatment.Level)
#: ``call_facts`` columns the build reads, with their types (the build compiles against it).
SOURCE_SCHEMA = {
    "month": "date", "district": "string", "beat": "string", "priority": "int16",
    "sensitive": "boolean", "primary_unit_type": "string", "self_initiated": "boolean",
    **{f"{s}_s": "float64" for s in SEGMENTS},
}

HIST_CAVEAT = (f"Medians and 90th percentiles from {BIN_S}-second histograms (table "
               f"{TABLE}, whole months; other days binned from the calls): each within "
               f"{ERROR_BOUND_S:g} s (0.04 min) of the exact figure; the call counts are exact.")


def build_expr(t: ibis.Table | str = "call_facts",
               segments: tuple[Segment, ...] = SEGMENTS) -> ibis.Table:
    """The rows of ``response_hist`` from ``t`` (an Ibis table with ``call_facts``'
    columns, or the name of such a table or view): one per key × segment × exclusion
    step × bin, with ``calls`` (only the rows of ``segments``)."""
    if isinstance(t, str):
        t = ibis.table(SOURCE_SCHEMA, name=t)
    parts = []
    for s in segments:
        # One integer per call: its bin when kept (>= 0), else minus its step's code.
        # Grouping 10M calls by it is cheaper than by the step's name and the bin (the
        # names come back on the grouped rows).
        code = core_calls.exclusion_code(t, s, MAX_CAP_MIN)
        secs = core_calls.segment_seconds(t, s)
        k = ibis.cases((code == 0, (secs / BIN_S).ceil().cast("int32")),
                       else_=-code.cast("int32"))
        one = t.mutate(_k=k)
        g = one.group_by([*KEYS, "_k"]).aggregate(calls=one.count())
        parts.append(g.select(
            *KEYS, segment=ibis.literal(s),
            step=core_calls.exclusion_name(ibis.cases((g._k < 0, -g._k), else_=0)),
            bin=ibis.cases((g._k >= 0, g._k), else_=ibis.null("int32")),
            calls=g.calls))
    return ibis.union(*parts)


def build_sql(source: str = "call_facts") -> str:
    """DuckDB SQL of :func:`build_expr` (the derived-table DDL in analytics.facts runs it)."""
    return str(ibis.to_sql(build_expr(source), dialect="duckdb"))


def cap_bin(cap_min: float) -> int | None:
    """The last kept bin for ``cap_min``, or None when the cap is not a bin boundary
    (not a whole multiple of 5 s) or is above :data:`MAX_CAP_MIN`."""
    core_calls.check_cap(cap_min)
    cap_s = cap_min * 60.0
    k = round(cap_s / BIN_S)
    if cap_min > MAX_CAP_MIN or abs(k * BIN_S - cap_s) > 1e-9:
        return None
    return k


def reason_for_exact(backend: Any, filters: Filters, cap_min: float,
                     columns: tuple[str, ...] = ()) -> str | None:
    """Why the exact path must run (``None``: the histogram can answer). ``columns`` are
    the grouping columns the summary needs from the calls."""
    if filters.categories:
        return f"a call-category filter is set ({TABLE} is not split by category)"
    if cap_bin(cap_min) is None:
        return (f"the cap ({cap_min:g} min) is not a whole multiple of {BIN_S} s or is above "
                f"{MAX_CAP_MIN:g} min")
    missing = [c for c in columns if c not in KEYS]
    if missing:
        return "grouped by " + ", ".join(missing) + f", which {TABLE} does not hold"
    if not engines.has_table(backend, TABLE):
        return (f"this database has no {TABLE} table yet (run `python -m analytics upgrade` "
                "or import again to build it)")
    old = [c for c in columns if c not in backend.table(TABLE).columns]
    if old:
        return (f"this database's {TABLE} was built before it held " + ", ".join(old)
                + " (run `python -m analytics upgrade` or import again to rebuild it)")
    return None


def exact_caveat(reason: str) -> str:
    """The caveat of a result computed on the exact path."""
    return ("Medians and 90th percentiles exact (quantile_cont over every kept call) "
            f"because {reason}.")


def _centre_s(k: ibis.Value) -> ibis.Value:
    return ibis.cases((k == 0, 0.0), else_=k.cast("float64") * BIN_S - ERROR_BOUND_S)


def capped_step(h: ibis.Table, cap_min: float) -> ibis.Value:
    """The exclusion step of histogram rows ``h`` for the cap ``cap_min`` (a bin
    boundary, :func:`cap_bin`): ``kept`` up to the cap's bin, ``above_cap`` beyond."""
    return _capped(h.step, h.bin > cap_bin(cap_min))


def _capped(step: ibis.Value, over: ibis.Value) -> ibis.Value:
    """:func:`capped_step` from a row's stored step and whether its bin is beyond the
    cap's (NULL for a call the table does not keep, whose step stands)."""
    return ibis.cases(((step == core_calls.KEPT) & ~over, core_calls.KEPT),
                      (step == core_calls.KEPT, "above_cap"), else_=step)


#: 5-second bins per coarse bin of the quantile search (:func:`quantiles_expr`): a minute.
COARSE_BINS = 12


def _kept_rows(h: ibis.Table, segments: tuple[Segment, ...], cap_min: float) -> ibis.Table:
    """The histogram rows of the calls the cap keeps (``step`` kept and bin within the
    cap's, :func:`capped_step`), for ``segments`` only: the rows the quantiles are read
    from. The excluded calls never enter the quantiles'
    groupings (their counts are one small aggregate of their own in :func:`summary_expr`).
    Counts as doubles (exact below 2**53 calls): DuckDB sums integers into 128-bit ones,
    which the running sums would then carry row by row."""
    k = cap_bin(cap_min)
    kept = h.filter(h.step == core_calls.KEPT, h.bin <= k, h.segment.isin(list(segments)))
    return kept.mutate(calls=kept.calls.cast("float64"))


def _segment_key(segments: tuple[Segment, ...]) -> list[str]:
    """``["segment"]``, or none when there is one segment: a string key the groupings,
    the sort and the join need not carry for one value (the 10 M month × priority trend:
    0.129 → 0.110 CPU-s in all; docs/performance.md)."""
    return [] if len(segments) == 1 else ["segment"]


def _running(t: ibis.Table, part: list[str], order: str) -> ibis.Table:
    """``t`` (one row per ``part`` × ``order`` value) with ``cum``, the running sum of
    ``calls`` within ``part`` in ``order``, and ``total``, the part's sum: one running sum
    over all rows in (part, order) order minus the running sum just before the part's
    first row — a single sort instead of a window partitioned by part (measured at 10 M
    calls: 0.080 → 0.067 CPU-s; docs/performance.md)."""
    t = t.mutate(_run=t.calls.sum().over(ibis.cumulative_window(order_by=[*part, order])))
    start = t.group_by(part).aggregate(_before=(t._run - t.calls).min(), total=t.calls.sum())
    start = start.rename({f"_s_{c}": c for c in part})
    # NULL-safe keys: a call with no priority (or no district) is a group of its own
    j = t.inner_join(start, [t[c].identical_to(start[f"_s_{c}"]) for c in part])
    j = j.mutate(cum=j._run - j._before)
    return sql_shapes.without(j, "_run", "_before", *[f"_s_{c}" for c in part])


def _ranks(total: ibis.Value, p: float) -> tuple[ibis.Value, ibis.Value, ibis.Value]:
    """The estimator's ranks a and b and weight f (module docstring) for ``total`` kept."""
    pos = (total - 1).cast("float64") * p
    return pos.floor() + 1, pos.ceil() + 1, pos - pos.floor()


def _rank_bins(g: ibis.Table, part: list[str], probs: tuple[float, ...]) -> ibis.Table:
    """One level: per ``part``, ``n`` and the bins ``a<p>``/``b<p>`` of the estimator's
    ranks and its weight ``f<p>``, from cumulative counts over every 5-second bin of
    ``g`` (calls per ``part`` × bin)."""
    c = _running(g, part, "bin")
    aggs: dict[str, Any] = {"n": c.total.max()}
    for p in probs:
        a, b, f = _ranks(c.total, p)
        aggs[f"a{p}"] = c.bin.min(where=c.cum >= a)
        aggs[f"b{p}"] = c.bin.min(where=c.cum >= b)
        aggs[f"f{p}"] = f.max()
    return c.group_by(part).aggregate(**aggs)


def _rank_bins_by_minute(kept: ibis.Table, part: list[str],
                         probs: tuple[float, ...]) -> ibis.Table:
    """:func:`_rank_bins` in two levels, same result: (1) cumulative counts over minute
    bins (:data:`COARSE_BINS`) give the minute holding each rank and the count of the
    calls before it; (2) cumulative counts over the 5-second bins of only those minutes
    give the bin. The sorts then cover a few thousand rows instead of every (group, bin)
    — 145 k rows for the month × priority trend at 10 M calls — at the price of a plan
    twice as long (docs/performance.md: it pays off for trends, not for a few groups)."""
    kept = kept.mutate(cb=kept.bin // COARSE_BINS)  # the minute of each row's bin
    c = _running(kept.group_by([*part, "cb"]).aggregate(calls=kept.calls.sum()), part, "cb")
    names = [f"{x}{p}" for p in probs for x in "ab"]
    aggs: dict[str, Any] = {"n": c.total.max()}
    for p in probs:
        a, b, f = _ranks(c.total, p)
        for x, rank in ((f"a{p}", a), (f"b{p}", b)):
            aggs[f"cb_{x}"] = c.cb.min(where=c.cum >= rank)
            aggs[f"pre_{x}"] = (c.cum - c.calls).min(where=c.cum >= rank)
            aggs[f"r_{x}"] = rank.max()
        aggs[f"f{p}"] = f.max()
    t = c.group_by(part).aggregate(**aggs)
    t = t.rename({f"_t_{k}": k for k in part})
    j = kept.inner_join(t, [kept[k].identical_to(t[f"_t_{k}"]) for k in part])
    j = j.filter(ibis.or_(*[j.cb == j[f"cb_{x}"] for x in names]))
    carried = [k for k in t.columns if not k.startswith("_t_")]
    fine = j.group_by([*part, "cb", "bin"]).aggregate(
        calls=j.calls.sum(), **{k: j[k].max() for k in carried})
    fine = _running(fine, [*part, "cb"], "bin")  # cum: within the minute
    out: dict[str, Any] = {
        x: fine.bin.min(where=(fine.cb == fine[f"cb_{x}"])
                        & (fine[f"pre_{x}"] + fine.cum >= fine[f"r_{x}"])) for x in names}
    out |= {k: fine[k].max() for k in ("n", *(f"f{p}" for p in probs))}
    return fine.group_by(part).aggregate(**out)


def quantiles_expr(kept: ibis.Table, by: tuple[str, ...], segments: tuple[Segment, ...],
                   probs: tuple[float, ...] = (0.5, 0.9), *,
                   by_minute: bool = False) -> ibis.Table:
    """Per ``by`` group and segment: ``n`` kept and, per ``p`` in ``probs``, ``q<p>_s``
    (the estimator of the module docstring, seconds). ``kept`` is :func:`_kept_rows`.
    ``by_minute``: find the ranks' bins in two levels (:func:`_rank_bins_by_minute`)
    instead of one (:func:`_rank_bins`); the same bins either way."""
    part = [*by, *_segment_key(segments)]
    if by_minute:
        q = _rank_bins_by_minute(kept, part, probs)
    else:
        q = _rank_bins(kept.group_by([*part, "bin"]).aggregate(calls=kept.calls.sum()),
                       part, probs)
    out = {f"q{p}_s": _centre_s(q[f"a{p}"])
           + q[f"f{p}"] * (_centre_s(q[f"b{p}"]) - _centre_s(q[f"a{p}"])) for p in probs}
    if "segment" not in part:
        q = q.mutate(segment=ibis.literal(segments[0]))
    return q.select(*by, "segment", "n", **out)


def summary_expr(h: ibis.Table, by: tuple[str, ...], segments: tuple[Segment, ...],
                 cap_min: float, kept_column: dict[str, str], *,
                 by_minute: bool = False) -> ibis.Table:
    """The columns of the exact summary (:func:`analytics.response_times._summary_expr`
    after its quantiles are split) from histogram rows ``h`` (:func:`source`): per
    ``by`` group the total's counts (``calls_total``, ``officer_initiated``,
    ``no_arrival``, ``out_of_order``, ``above_cap``, ``calls``), every other segment's as
    ``<step>__<segment>`` and its kept count ``kept_column[segment]``, and
    ``median_<seg>_min`` / ``p90_<seg>_min``. ``by`` is never empty (response times are
    always split by priority). ``by_minute``: :func:`quantiles_expr`'s two-level search.

    Two branches over ``h``: the counts, with the cap applied (:func:`capped_step`); the
    quantiles, from the kept calls' bins only (:func:`_kept_rows`, :func:`quantiles_expr`).
    The counts are summed per stored step and side of the cap first, the cap's step is
    read on those few rows, and they are spread into columns after: summing ``h``
    straight into the filtered columns hit a DuckDB 2.0.1 fault (compressed
    materialisation cast a sum of 208 into an 8-bit integer;
    tests/test_response_hist.py's treatment grouping found it)."""
    counted: tuple[Segment, ...] = tuple(dict.fromkeys(("total", *segments)))
    c = h.mutate(over=h.bin > cap_bin(cap_min))
    c = c.group_by([*by, "segment", "step", "over"]).aggregate(calls=c.calls.sum())
    c = c.mutate(step=_capped(c.step, c.over))  # the cap's step, on the grouped rows
    is_total = c.segment == "total"
    aggs: dict[str, Any] = {
        "calls_total": c.calls.sum(where=is_total),
        "officer_initiated": c.calls.sum(where=is_total & (c.step == "officer_initiated")),
    }
    for s in counted:
        on = c.segment == s
        suffix = "" if s == "total" else f"__{s}"
        for key in EXCLUSION_KEYS[1:]:
            aggs[f"{key}{suffix}"] = c.calls.sum(where=on & (c.step == key))
        aggs[kept_column[s]] = c.calls.sum(where=on & (c.step == core_calls.KEPT))
    counts = c.group_by(list(by)).aggregate(**{k: v.fill_null(0) for k, v in aggs.items()})
    q = quantiles_expr(_kept_rows(h, segments, cap_min), by, segments, by_minute=by_minute)
    figs: dict[str, Any] = {}
    for s in segments:
        on = q.segment == s
        figs[f"median_{s}_min"] = (q["q0.5_s"] / 60.0).max(where=on)
        figs[f"p90_{s}_min"] = (q["q0.9_s"] / 60.0).max(where=on)
    wide = q.group_by(list(by)).aggregate(**figs)
    wide = wide.rename({f"_k_{c}": c for c in by})
    # NULL-safe keys: a call with no priority (or no district) is a group of its own
    j = counts.left_join(wide, [counts[c].identical_to(wide[f"_k_{c}"]) for c in by])
    return sql_shapes.without(j, *[f"_k_{c}" for c in by]).order_by(list(by))


def _next_month(d: dt.date) -> dt.date:
    return (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _whole_months(filters: Filters) -> tuple[dt.date | None, dt.date | None] | None:
    """(first, last) month start the date filter covers whole (None = unbounded), or
    None when it covers no whole month."""
    try:
        return _whole_months_of(filters)
    except OverflowError:  # a date at the end of the calendar: no whole month to read
        return None


def _whole_months_of(filters: Filters) -> tuple[dt.date | None, dt.date | None] | None:
    first = None
    if filters.start is not None:
        s = filters.start
        first = s if s.day == 1 else _next_month(s)
    last = None
    if filters.end is not None and filters.end < dt.date.max:
        e = filters.end
        nxt = e + dt.timedelta(days=1)
        last = e.replace(day=1) if nxt.day == 1 else (e.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    if first is not None and last is not None and last < first:
        return None
    return first, last


def source(backend: Any, filters: Filters,
           segments: tuple[Segment, ...] = SEGMENTS, *,
           columns: tuple[str, ...] = ()) -> ibis.Table:
    """The histogram rows of ``segments`` for exactly the filtered days:
    ``response_hist`` for the months the date filter covers whole, unioned with the
    other days' calls binned by :func:`build_expr`. ``filters`` must have no category
    filter. When neither the filters nor ``columns`` (the grouping's columns of the
    calls) name a district or beat, the city-wide rollup :data:`CITY_TABLE` (the same
    rows summed over the areas, an eighth as long) is read instead, without those two
    columns."""
    t = core_calls.calls(backend, filters)
    months = _whole_months(filters)
    if months is None:
        return build_expr(t, segments)
    first, last = months
    city = (not filters.districts and not filters.beats
            and not set(AREA_KEYS) & set(columns)
            and engines.has_table(backend, CITY_TABLE))
    h = filters.with_(start=None, end=None).apply(
        backend.table(CITY_TABLE if city else TABLE), time_col=None,
        district_col=None if city else "district", beat_col=None if city else "beat")
    if set(segments) != set(SEGMENTS):
        h = h.filter(h.segment.isin(list(segments)))
    in_months = []
    if first is not None:
        in_months.append(h.month >= first)
    if last is not None:
        in_months.append(h.month <= last)
    h = h.filter(in_months) if in_months else h
    if first is None and last is None:
        return h
    edge = ibis.literal(False)
    if first is not None:
        edge |= t.month < first
    if last is not None:
        edge |= t.month > last
    rows = build_expr(t.filter(edge), segments)
    # a table built before a key was added lacks it: the binned days drop it too
    return ibis.union(h, rows.select(*h.columns))


def city_expr(h: ibis.Table) -> ibis.Table:
    """:data:`CITY_TABLE`'s rows from ``response_hist`` rows ``h``: summed over the
    areas."""
    keys = [c for c in (*KEYS, "segment", "step", "bin") if c not in AREA_KEYS]
    return h.group_by(keys).aggregate(calls=h.calls.sum())


def city_sql(source_table: str = TABLE) -> str:
    """DuckDB SQL of :func:`city_expr` over the table ``source_table``."""
    schema = {**{k: SOURCE_SCHEMA[k] for k in KEYS}, "segment": "string", "step": "string",
              "bin": "int32", "calls": "int64"}
    return str(ibis.to_sql(city_expr(ibis.table(schema, name=source_table)),
                           dialect="duckdb"))


__all__ = ["BIN_S", "CITY_TABLE", "ERROR_BOUND_S", "HIST_CAVEAT", "KEYS", "TABLE",
           "build_expr", "build_sql", "cap_bin", "capped_step", "city_expr", "city_sql", "exact_caveat", "quantiles_expr", "reason_for_exact",
           "source", "summary_expr"]
