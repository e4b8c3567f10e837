"""Which areas are treated (have CSOs): one treatment table, three named views.

The table (:func:`area_windows`) has one row per deployed area id — a beat or a
district, as written in ``deployments`` — with its first start and its last end (NULL
when any of its deployments is open-ended). A beat is *covered* by its own deployments
and by its district's; gaps between two deployments of the same area are not modelled
(the area counts as deployed from the first start to the last end).

Views (every module uses these; none re-derives them):

- :func:`with_treatment` — per call (or any row with ``beat``, ``district`` and a day):
  ``deployment_start`` / ``deployment_end`` of the covering deployments, ``deployed``
  (*deployed on the day*: start ≤ day and, when it ended, day ≤ end), ``phase``
  (``before`` / ``during`` / ``ended``; ``never`` for areas never covered) and
  ``treatment_group`` as of a date (``treated`` started on or before it,
  ``not_yet_treated`` later, ``comparison`` never).
- :func:`first_treated` — *intent to treat by area*: each beat's or district's first
  start (a beat from its own or its district's deployment, a district from its own or
  its first beat's), end dates ignored: the evaluation panels' rule.
- :func:`programme_start` — the first deployment start (else the first CSO-primary call).
- :func:`phases_follow_months` — whether every phase boundary falls on a month boundary
  (then a month's calls share one phase).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import ibis
import pandas as pd

from analytics import db, sql_shapes
from analytics.core.options import check
from analytics.engines import execute, has_table

Level = db.AreaLevel
Phase = Literal["never", "before", "during", "ended"]
Group = Literal["treated", "not_yet_treated", "comparison"]


def area_windows(backend: Any) -> ibis.Table:
    """The treatment table: ``area_id``, ``dep_start`` (first), ``dep_end`` (last, NULL
    when open-ended), one row per deployed area id."""
    d = backend.table("deployments")
    return d.group_by("area_id").aggregate(
        dep_start=d.start_date.min(),
        dep_end=ibis.cases((d.end_date.isnull().any(), ibis.null("date")),
                           else_=d.end_date.max()),
    )


def with_treatment(t: ibis.Table, backend: Any, as_of: dt.date | None = None, *,
                   day_col: str = "day") -> ibis.Table:
    """Add ``deployment_start``, ``deployment_end``, ``deployed``, ``phase`` and
    ``treatment_group`` to a table with ``beat``, ``district`` and ``day_col``.

    The covering deployments are the row's beat's and its district's (the earlier start
    wins; open-ended if either is). With ``as_of`` None every covered area is
    ``treated``.
    """
    w = area_windows(backend)
    by_beat = w.select(b_area=w.area_id, b_start=w.dep_start, b_end=w.dep_end)
    by_dist = w.select(d_area=w.area_id, d_start=w.dep_start, d_end=w.dep_end)
    j = t.left_join(by_beat, t.beat == by_beat.b_area).left_join(
        by_dist, t.district == by_dist.d_area)
    j = sql_shapes.without(j, "b_area", "d_area")
    start = ibis.least(j.b_start, j.d_start)  # LEAST skips NULLs (DuckDB and Spark)
    end = ibis.cases(
        ((j.b_start.notnull() & j.b_end.isnull()) | (j.d_start.notnull() & j.d_end.isnull()),
         ibis.null("date")),
        else_=ibis.greatest(j.b_end, j.d_end),
    )
    day = j[day_col]
    if as_of is None:
        group = ibis.cases((start.isnull(), "comparison"), else_="treated")
    else:
        group = ibis.cases((start.isnull(), "comparison"),
                           (start <= ibis.literal(as_of), "treated"),
                           else_="not_yet_treated")
    phase = ibis.cases((start.isnull(), "never"), (day < start, "before"),
                       (end.notnull() & (day > end), "ended"), else_="during")
    out = j.mutate(deployment_start=start, deployment_end=end, treatment_group=group,
                   phase=phase)
    out = out.mutate(deployed=out.phase == "during")
    return sql_shapes.without(out, "b_start", "b_end", "d_start", "d_end")


def phases_follow_months(backend: Any) -> bool:
    """True when every deployment starts on the first day of a month and ends (when it
    ends) on the last day of one, so that :func:`with_treatment`'s ``phase`` is the same
    on every day of a calendar month and can be computed from the month's first day
    (the monthly response-time histograms use it)."""
    d = backend.table("deployments")
    mid = (d.start_date.day() != 1) | (
        d.end_date.notnull() & ((d.end_date + ibis.interval(days=1)).day() != 1))
    got = execute(backend, d.aggregate(n=d.count(where=mid)))[0]["n"].iloc[0]
    return not int(got or 0)


def beat_districts(backend: Any) -> ibis.Table:
    """Every known beat with its district: ``areas`` (level beat) and the calls' beats
    (read from the small ``area_day_facts``, one row per day × area × …, when the
    database has it: the same beats and districts as ``call_facts``)."""
    a = backend.table("areas")
    f = backend.table(db.AREA_DAY_TABLE if has_table(backend, db.AREA_DAY_TABLE)
                      else "call_facts")
    from_areas = a.filter(a.level == "beat").select(
        beat=a.area_id.cast("string"), district=a.parent_id.cast("string"))
    from_calls = f.filter(f.beat.notnull()).select(
        beat=f.beat.cast("string"), district=f.district.cast("string")).distinct()
    u = from_areas.union(from_calls)
    return u.group_by("beat").aggregate(district=u.district.max())


def first_treated(backend: Any, level: Level) -> pd.DataFrame:
    """:func:`first_treated_expr`, run: columns ``area``, ``first_start`` (date)."""
    out = execute(backend, first_treated_expr(backend, level).order_by("area"))[0]
    out["first_start"] = pd.to_datetime(out["first_start"]).dt.date
    return out


def first_treated_expr(backend: Any, level: Level) -> ibis.Table:
    """Intent to treat: each area's first deployment start at ``level``.

    Columns ``area``, ``first_start`` (date); areas never deployed are absent. A beat is
    treated from its own start or its district's, whichever is first; a district from its
    own start or its first beat's. An area id that is neither a known beat nor a district
    of known beats is taken to name an area at ``level``.
    """
    check("level", level, Level)
    d = backend.table("deployments").select("area_id", "start_date")
    bd = beat_districts(backend)
    districts = bd.filter(bd.district.notnull()).select(dist=bd.district).distinct()
    as_beat = d.inner_join(bd, d.area_id == bd.beat)
    as_dist = d.inner_join(districts, d.area_id == districts.dist)
    known = as_beat.select(k=as_beat.area_id).union(as_dist.select(k=as_dist.area_id))
    unknown = d.anti_join(known, d.area_id == known.k)
    if level == "beat":
        via_district = as_dist.inner_join(bd, as_dist.dist == bd.district)
        parts = [as_beat.select(area=as_beat.beat, start_date=as_beat.start_date),
                 via_district.select(area=via_district.beat,
                                     start_date=via_district.start_date)]
    else:
        parts = [as_beat.filter(as_beat.district.notnull()).select(
                     area=as_beat.district, start_date=as_beat.start_date),
                 as_dist.select(area=as_dist.dist, start_date=as_dist.start_date)]
    parts.append(unknown.select(area=unknown.area_id, start_date=unknown.start_date))
    u = ibis.union(*parts)
    return u.group_by("area").aggregate(first_start=u.start_date.min())


def beat_treatment(backend: Any) -> pd.DataFrame:
    """Every known beat with its covering deployment window (the treatment table per beat).

    Columns: ``beat``, ``district``, ``start_date`` (None when never deployed),
    ``end_date`` (None when open-ended or never deployed).
    """
    beats = beat_districts(backend).mutate(day=ibis.literal(dt.date(1900, 1, 1)))
    t = with_treatment(beats, backend, None)
    expr = t.select("beat", "district", start_date=t.deployment_start,
                    end_date=t.deployment_end).order_by("beat")
    out = execute(backend, expr)[0]
    for c in ("start_date", "end_date"):
        out[c] = [None if v is None or v != v else pd.Timestamp(v).date() for v in out[c]]
    return out


def programme_start(backend: Any) -> dt.date | None:
    """The first deployment start date; else the first day a CSO was primary on a call."""
    d = backend.table("deployments")
    f = backend.table("call_facts")
    got = execute(backend, d.aggregate(lo=d.start_date.min()))[0]["lo"].iloc[0]
    if got is None or got != got:
        got = execute(backend, f.filter(f.cso_primary).aggregate(lo=f.day.min()))[0]["lo"].iloc[0]
    if got is None or got != got:
        return None
    return pd.Timestamp(got).date()
