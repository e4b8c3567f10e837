"""CSO activity from the ``activities`` log (PRODUCT.md section 2, ``activities``).

Definitions as implemented (also in ``docs/offload.md``):

- CSO activity = rows of ``activities`` whose unit is a CSO (``units.unit_type = 'cso'``).
  Activities of other unit types or of unknown units are excluded and counted.
- Hours of an activity = started → ended. Activities without an end time, or ending
  before they start, have no hours (excluded from hour sums, counted) but still count as
  activities (events, referrals).
- **Patrol hours** = ``foot_patrol`` + ``vehicle_patrol`` hours: the treatment *dose* per
  beat and week (weeks start on Monday, by start time).
- **Community events** = ``community_event`` activities; their ``contacts`` = people
  reached. **Referrals** = Σ ``contacts`` of ``outreach_referral`` activities (referrals
  made; an activity with no count counts as none). **Traffic control hours** =
  ``traffic_control`` hours.
- Global filters: date (activity start), district and beat; priority and call category do
  not apply to activities.
- Per-week rates divide by the weeks in the period (the filter's dates, else the span of
  the CSO activity data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from analytics.core import clock
from analytics.core.periods import hours_between
from analytics.core.results import Result, Table
from analytics.filters import Filters
from analytics.workload import MetricTable, _df, _num, _sql

#: Activity types that count as CSO patrol hours: the treatment *dose* of the
#: dose-response design (PRODUCT.md section 2, `activities`) and this module's patrol figures.
PATROL_TYPES: tuple[str, ...] = ("foot_patrol", "vehicle_patrol")

EXCLUSIONS = (
    ("not_cso", "Unit is not a CSO (or unknown unit)"),
    ("no_end", "No end time (no hours)"),
    ("end_before_start", "Ends before it starts (no hours)"),
)


def _all(backend: Any, filters: Filters) -> ibis.Table:
    a = backend.table("activities")
    a = a.mutate(started_local=clock.local(a.started_at))  # dates, weeks: local time
    u = backend.table("units").select("unit_id", "unit_type")
    a = filters.apply(a, time_col="started_local", priority_col=None, category_col=None)
    j = a.left_join(u, "unit_id")
    t = j.select(
        *[j[c] for c in a.columns],
        unit_type=ibis.coalesce(j.unit_type, ibis.literal("unknown")),
    )
    reason = ibis.cases(
        (t.unit_type != "cso", "not_cso"),
        (t.ended_at.isnull(), "no_end"),
        (t.ended_at < t.started_at, "end_before_start"),
        else_="kept",
    )
    t = t.mutate(exclusion=reason)
    hours = hours_between(t.started_at, t.ended_at)
    return t.mutate(hours=ibis.ifelse(t.exclusion == "kept", hours, ibis.null("float64")))


def cso_activities(backend: Any, filters: Filters) -> ibis.Table:
    """Filtered CSO activities with ``hours`` (NULL when not computable) and ``week``."""
    t = _all(backend, filters)
    t = t.filter(t.unit_type == "cso")
    return t.mutate(week=t.started_local.truncate("W").date())


def exclusion_counts(backend: Any, filters: Filters) -> Table:
    """Activities per exclusion step (each counted once, at its first step) and kept.

    Columns: step, label, activities."""
    t = _all(backend, filters)
    expr = t.group_by("exclusion").aggregate(activities=t.count())
    got = _df(expr)
    counts = dict(zip(got["exclusion"], got["activities"], strict=True))
    rows = [(k, label, int(counts.get(k, 0))) for k, label in EXCLUSIONS]
    rows.append(("kept", "CSO activity with hours", int(counts.get("kept", 0))))
    return Table(pd.DataFrame(rows, columns=["step", "label", "activities"]), sql=_sql(expr))


def _weeks(t: ibis.Table, filters: Filters) -> float:
    span = t.aggregate(lo=t.started_local.min(), hi=t.started_local.max()).to_pandas()
    lo_v, hi_v = span["lo"].iloc[0], span["hi"].iloc[0]
    lo = filters.start or (pd.Timestamp(lo_v).date() if lo_v is not None and lo_v == lo_v else None)
    hi = filters.end or (pd.Timestamp(hi_v).date() if hi_v is not None and hi_v == hi_v else None)
    if lo is None or hi is None:
        return 0.0
    return ((hi - lo).days + 1) / 7.0


def hours_by_type(backend: Any, filters: Filters) -> MetricTable:
    """CSO hours by activity type. Columns: activity_type, activities, hours, contacts,
    share_of_hours (0–1)."""
    t = cso_activities(backend, filters)
    expr = (
        t.group_by("activity_type")
        .aggregate(activities=t.count(), hours=t.hours.sum(), contacts=t.contacts.sum())
        .order_by(ibis.desc("hours"))
    )
    df = _df(expr)
    df["hours"] = df["hours"].astype(float).fillna(0.0)
    df["contacts"] = df["contacts"].fillna(0).astype("int64")
    total = df["hours"].sum()
    df["share_of_hours"] = df["hours"] / total if total > 0 else 0.0
    excl = exclusion_counts(backend, filters)
    return MetricTable(df, sql=_sql(expr) + excl.sql, exclusions=excl.frame)


def monthly_by_type(backend: Any, filters: Filters) -> MetricTable:
    """CSO hours per month and activity type. Columns: month, activity_type, hours."""
    t = cso_activities(backend, filters)
    t = t.mutate(month=t.started_local.truncate("M").date())
    expr = (
        t.group_by(["month", "activity_type"])
        .aggregate(hours=t.hours.sum(), activities=t.count())
        .order_by(["month", "activity_type"])
    )
    df = _df(expr)
    df["hours"] = df["hours"].astype(float).fillna(0.0)
    return MetricTable(df, sql=_sql(expr))


def patrol_dose(backend: Any, filters: Filters) -> MetricTable:
    """CSO patrol hours (foot + vehicle) per beat and week: the treatment dose.

    Columns: beat, district, week (Monday), patrol_hours. Only beat-weeks with patrol.
    """
    t = cso_activities(backend, filters)
    t = t.filter(t.activity_type.isin(list(PATROL_TYPES)) & t.beat.notnull())
    expr = (
        t.group_by(["beat", "district", "week"])
        .aggregate(patrol_hours=t.hours.sum())
        .order_by(["beat", "week"])
    )
    df = _df(expr)
    df["patrol_hours"] = df["patrol_hours"].astype(float).fillna(0.0)
    return MetricTable(df, sql=_sql(expr))


def beat_table(backend: Any, filters: Filters) -> MetricTable:
    """Map-ready CSO activity per beat.

    Columns: beat, district, cso_hours, patrol_hours, patrol_hours_per_week,
    community_events, event_contacts, referrals, traffic_control_hours, weeks.
    """
    t = cso_activities(backend, filters)
    t = t.filter(t.beat.notnull())
    is_patrol = t.activity_type.isin(list(PATROL_TYPES))
    expr = (
        t.group_by(["beat", "district"])
        .aggregate(
            cso_hours=t.hours.sum(),
            patrol_hours=t.hours.sum(where=is_patrol),
            community_events=(t.activity_type == "community_event").sum(),
            event_contacts=t.contacts.sum(where=t.activity_type == "community_event"),
            referrals=t.contacts.sum(where=t.activity_type == "outreach_referral"),
            traffic_control_hours=t.hours.sum(where=t.activity_type == "traffic_control"),
        )
        .order_by("beat")
    )
    df = _df(expr)
    for c in ("cso_hours", "patrol_hours", "traffic_control_hours"):
        df[c] = df[c].astype(float).fillna(0.0)
    for c in ("community_events", "event_contacts", "referrals"):
        df[c] = df[c].fillna(0).astype("int64")
    weeks = _weeks(cso_activities(backend, filters), filters)
    df["patrol_hours_per_week"] = df["patrol_hours"] / weeks if weeks > 0 else float("nan")
    df["weeks"] = weeks
    cols = ["beat", "district", "cso_hours", "patrol_hours", "patrol_hours_per_week",
            "community_events", "event_contacts", "referrals", "traffic_control_hours", "weeks"]
    return MetricTable(df[cols], sql=_sql(expr))


@dataclass(frozen=True)
class CsoHeadline(Result):
    """The CSO activity totals for the period (the Activity tab's cards)."""

    activities: int
    cso_hours: float
    patrol_hours: float
    community_events: int
    event_contacts: int
    referrals: int
    traffic_control_hours: float
    weeks: float
    patrol_hours_per_week: float | None


def headline(backend: Any, filters: Filters) -> CsoHeadline:
    """Totals for the period: activities, cso_hours, patrol_hours, community_events,
    event_contacts, referrals, traffic_control_hours, weeks (days in the period ÷ 7) and
    patrol_hours_per_week (None when the period has no length)."""
    t = cso_activities(backend, filters)
    is_patrol = t.activity_type.isin(list(PATROL_TYPES))
    expr = t.aggregate(
        activities=t.count(),
        cso_hours=t.hours.sum(),
        patrol_hours=t.hours.sum(where=is_patrol),
        community_events=(t.activity_type == "community_event").sum(),
        event_contacts=t.contacts.sum(where=t.activity_type == "community_event"),
        referrals=t.contacts.sum(where=t.activity_type == "outreach_referral"),
        traffic_control_hours=t.hours.sum(where=t.activity_type == "traffic_control"),
    )
    r = _df(expr).iloc[0]
    v = {k: _num(r[k]) or 0.0 for k in r.index}
    weeks = _weeks(t, filters)
    return CsoHeadline(
        activities=int(v["activities"]), cso_hours=float(v["cso_hours"]),
        patrol_hours=float(v["patrol_hours"]), community_events=int(v["community_events"]),
        event_contacts=int(v["event_contacts"]), referrals=int(v["referrals"]),
        traffic_control_hours=float(v["traffic_control_hours"]), weeks=weeks,
        patrol_hours_per_week=float(v["patrol_hours"]) / weeks if weeks else None,
        sql=_sql(expr))
