"""Derived per-call fact table, rebuilt after every import or demo build.

``call_facts`` has one row per call with the segments already in seconds, the first
arrival across all units (not the primary's), the first sworn arrival, unit-hours by unit
type and the CSO flags, so that pages query precomputed columns (PRODUCT.md section 7).

Definitions (PRODUCT.md section 3):

- ``first_dispatched_at`` = earliest dispatch of any unit (``calls.dispatched_at`` and every
  assignment's ``dispatched_at``); ``first_arrived_at`` likewise for arrival.
- ``queue_s`` = received → first dispatched; ``travel_s`` = first dispatched → first
  arrived; ``total_s`` = received → first arrived. Differences of the stored UTC
  instants (exact across DST): they may be NULL or negative here; the response-time
  metric excludes and counts those.
- Time model (:mod:`analytics.core.clock`): the canonical tables store UTC instants;
  ``call_facts``' ``received_at``, ``first_dispatched_at``, ``first_arrived_at``,
  ``cleared_at``, ``day``, ``week``, ``month``, ``hour``, ``weekday`` are **local** (the
  department's zone, ``settings.timezone``). The workload aggregates compare and
  subtract an assignment's UTC ``start_at`` / ``arrived_at`` / ``cleared_at``, key it by
  its call's local ``day``, and spread the committed time over UTC clock hours, each
  labelled by its local start (``date``, ``hour``, ``weekday`` of ``slot_hour_facts``):
  exact unit-hours, and in the fall-back night the local 01:00 hour sums two UTC hours.
- ``sworn_total_s`` = received → first *sworn* unit on scene.
- committed time of an assignment = (dispatched, else en route) → cleared, counted only
  when both exist and cleared ≥ start; ``*_unit_hours`` sum it over the call's units.
- ``primary_unit_type`` = type of the assignment flagged ``is_primary`` (else of the first
  dispatched unit; between assignments equal on both, sworn before CSO before other);
  ``cso_primary`` = that type is ``cso``.
- ``eligible`` = the call type's CSO tier is anything but ``sworn_only`` (unmapped call
  types are not eligible); ``diverted`` = eligible, at least one unit assigned, and no
  sworn unit ever assigned; ``cso_backup`` = CSO-primary call where a sworn unit was
  also assigned.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb

from analytics import db, response_hist
from analytics.core import clock
from analytics.db import scalar
from analytics.errors import DatabaseError

log = logging.getLogger(__name__)

CALL_FACTS_SELECT = """
WITH a AS (
    SELECT
        a.call_id,
        a.unit_id,
        a.dispatched_at,
        a.arrived_at,
        a.is_primary,
        -- the unit type as a small code (0 sworn, 1 CSO, 2 other or unknown): the
        -- per-call aggregate below compares and keeps codes instead of strings
        CAST(CASE u.unit_type WHEN 'sworn' THEN 0 WHEN 'cso' THEN 1 ELSE 2 END
             AS UTINYINT) AS t,
        CASE
            WHEN a.cleared_at IS NOT NULL
             AND coalesce(a.dispatched_at, a.enroute_at) IS NOT NULL
             AND a.cleared_at >= coalesce(a.dispatched_at, a.enroute_at)
            THEN epoch(a.cleared_at - coalesce(a.dispatched_at, a.enroute_at)) / 3600.0
        END AS committed_h
    FROM assignments a
    LEFT JOIN units u USING (unit_id)
    {where_a}
),
per_call AS (
    SELECT
        call_id,
        min(dispatched_at) AS a_first_dispatched_at,
        min(arrived_at) AS a_first_arrived_at,
        min(arrived_at) FILTER (WHERE t = 0) AS first_sworn_arrived_at,
        count(*) AS n_units,
        count(*) FILTER (WHERE t = 0) AS n_sworn_units,
        count(*) FILTER (WHERE t = 1) AS n_cso_units,
        coalesce(sum(committed_h) FILTER (WHERE t = 0), 0) AS sworn_unit_hours,
        coalesce(sum(committed_h) FILTER (WHERE t = 1), 0) AS cso_unit_hours,
        coalesce(sum(committed_h) FILTER (WHERE t = 2), 0) AS other_unit_hours,
        -- primary: the flagged assignment, else the first dispatched unit; among
        -- assignments equal on both, sworn before CSO before other (a tie never
        -- credits a CSO with a call). One BIGINT orders all three: the flag 2^60
        -- apart, the dispatch time in microseconds since year 1 (clamped to years
        -- 1-9999: under 2^59), times 4, plus the type code; its minimum's last two bits
        -- are the primary's type (a min over integers aggregates faster than an
        -- arg_min keeping a string per call)
        min((CASE WHEN is_primary THEN 0 ELSE 1152921504606846976 END
             + epoch_us(greatest(least(coalesce(dispatched_at, TIMESTAMP '9999-01-01'),
                                       TIMESTAMP '9999-01-01'),
                                 TIMESTAMP '0001-01-01'))
             + 62135596800000000) * 4 + t)
            AS primary_key
    FROM a
    GROUP BY call_id
)
SELECT
    c.call_id,
    c.local_received_at AS received_at,                       -- local wall clock
    CAST(c.local_received_at AS DATE) AS day,
    CAST(date_trunc('month', c.local_received_at) AS DATE) AS month,
    CAST(date_trunc('week', c.local_received_at) AS DATE) AS week,
    CAST(hour(c.local_received_at) AS SMALLINT) AS hour,
    CAST(isodow(c.local_received_at) AS SMALLINT) AS weekday,       -- 1 = Monday
    c.priority,
    c.call_type,
    ct.category,
    ct.cso_tier,
    coalesce(ct.sensitive, false) AS sensitive,
    c.source,
    c.self_initiated,
    c.disposition,
    c.district,
    c.beat,
    c.lat,
    c.lon,
    cso_local(least(c.dispatched_at, p.a_first_dispatched_at)) AS first_dispatched_at,
    cso_local(least(c.arrived_at, p.a_first_arrived_at)) AS first_arrived_at,
    cso_local(c.cleared_at) AS cleared_at,
    -- durations: differences of the stored UTC instants (exact across DST)
    epoch(least(c.dispatched_at, p.a_first_dispatched_at) - c.received_at) AS queue_s,
    epoch(least(c.arrived_at, p.a_first_arrived_at)
          - least(c.dispatched_at, p.a_first_dispatched_at)) AS travel_s,
    epoch(least(c.arrived_at, p.a_first_arrived_at) - c.received_at) AS total_s,
    epoch(p.first_sworn_arrived_at - c.received_at) AS sworn_total_s,
    coalesce(p.n_units, 0) AS n_units,
    coalesce(p.n_sworn_units, 0) AS n_sworn_units,
    coalesce(p.n_cso_units, 0) AS n_cso_units,
    coalesce(p.sworn_unit_hours, 0) AS sworn_unit_hours,
    coalesce(p.cso_unit_hours, 0) AS cso_unit_hours,
    coalesce(p.other_unit_hours, 0) AS other_unit_hours,
    ['sworn', 'cso', 'other'][CAST(p.primary_key % 4 AS INTEGER) + 1] AS primary_unit_type,
    coalesce(p.primary_key % 4 = 1, false) AS cso_primary,
    coalesce(ct.cso_tier IS NOT NULL AND ct.cso_tier <> 'sworn_only', false) AS eligible,
    coalesce(ct.cso_tier IS NOT NULL AND ct.cso_tier <> 'sworn_only'
             AND p.n_units > 0 AND p.n_sworn_units = 0, false) AS diverted,
    coalesce(p.primary_key % 4 = 1 AND p.n_sworn_units > 0, false) AS cso_backup
FROM (SELECT *, cso_local(received_at) AS local_received_at FROM calls) c
LEFT JOIN per_call p USING (call_id)
LEFT JOIN call_types ct USING (call_type)
{where_c}
ORDER BY c.received_at
"""

CALL_FACTS_SQL = ("CREATE OR REPLACE TABLE call_facts AS"
                  + CALL_FACTS_SELECT.format(where_a="", where_c=""))

# Rebuild only some calls when they are fewer than this share of the table (else rebuild
# it all: one sorted table, and cheaper than deleting most of it).
INCREMENTAL_MAX_SHARE = 0.3


# The full build without its final sort: the rows keep the order of ``calls``.
CALL_FACTS_SQL_IN_CALLS_ORDER = CALL_FACTS_SQL.rstrip().removesuffix("ORDER BY c.received_at")
assert CALL_FACTS_SQL_IN_CALLS_ORDER != CALL_FACTS_SQL.rstrip()

# A zone map (min/max per row group) lets a date filter skip every row group outside the
# range: a table in time order reads only the groups of the range. ``calls`` counts as in
# time order when the time spans of its row groups (in storage order) add up to at most
# CLUSTERED_MAX_OVERLAP times the whole span: a date filter on a call_facts in that order
# then reads at most a few row groups more than on a sorted one.
ROW_GROUP_ROWS = 122_880  # DuckDB's row-group size
CLUSTERED_MAX_OVERLAP = 4.0


def calls_in_time_order(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``calls`` already lies in ``received_at`` order row group by row group
    (a time-ordered CAD export, the demo city), so that ``call_facts`` needs no sort.
    Tables of one row group or less say False (sorting them is cheap)."""
    groups, spans, whole = con.execute(
        f"SELECT count(*), sum(epoch(hi) - epoch(lo)), epoch(max(hi)) - epoch(min(lo)) "
        f"FROM (SELECT rowid // {int(ROW_GROUP_ROWS)} AS g, min(received_at) AS lo, "
        f"max(received_at) AS hi FROM calls GROUP BY g)").fetchall()[0]
    return groups > 1 and spans <= CLUSTERED_MAX_OVERLAP * whole


def build_call_facts(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build ``call_facts`` from the canonical tables; return its row count.

    Sorted by ``received_at`` (for the zone maps of date filters) unless ``calls`` is in
    time order already (:func:`calls_in_time_order`): sorting millions of wide rows is
    the costliest step of the build, and the rows then follow ``calls``' order, which
    the zone maps serve about as well (kept even inside :func:`db.unordered_writes`)."""
    clock.define_local(con)
    if calls_in_time_order(con):
        before = scalar(con, "SELECT current_setting('preserve_insertion_order')")
        con.execute("SET preserve_insertion_order = true")
        try:
            con.execute(CALL_FACTS_SQL_IN_CALLS_ORDER)
        finally:
            con.execute(f"SET preserve_insertion_order = {'true' if before else 'false'}")
    else:
        con.execute(CALL_FACTS_SQL)
    n = scalar(con, "SELECT count(*) FROM call_facts")
    log.info("call_facts rebuilt: %d rows", n)
    return n


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the main schema has a table ``name``."""
    return bool(scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
                            "AND schema_name = 'main'", [name]))


IDS_TABLE = "_cf_ids"  # the calls an incremental refresh rebuilds (temporary)
DAYS_TABLE = "_cf_days"  # their local days, before and after the update (temporary)


def update_call_facts(con: duckdb.DuckDBPyConnection, call_ids_sql: str,
                      *, keep_ids: bool = False) -> int | None:
    """Rebuild the ``call_facts`` rows of some calls only; return how many, or None when
    a full rebuild is the better choice (no table yet, or too many calls changed).

    ``call_ids_sql`` is a query whose ``call_id`` column lists every call whose row in
    ``calls`` or whose assignments changed (a superset is fine); unit and call-type
    changes touch many calls and need :func:`build_call_facts`. The rows are deleted and
    inserted again with the same SELECT as the full build, so they are identical to it.
    With ``keep_ids`` the temporary table ``IDS_TABLE`` listing those calls, and
    ``DAYS_TABLE`` listing their days before and after the update (the days whose
    per-day tables change), are left for the caller (who drops them) when the update
    went ahead.
    """
    if not _table_exists(con, "call_facts"):
        return None
    # call_ids_sql is built by the importer from fixed temporary-table names.
    con.execute(f"CREATE OR REPLACE TEMP TABLE {IDS_TABLE} AS SELECT DISTINCT call_id FROM "
                f"({call_ids_sql}) WHERE call_id IS NOT NULL")
    done = False
    try:
        n_ids = int(scalar(con, f"SELECT count(*) FROM {IDS_TABLE}") or 0)
        n_all = int(scalar(con, "SELECT count(*) FROM call_facts") or 0)
        if n_ids > INCREMENTAL_MAX_SHARE * n_all:
            return None
        ids_days = (f"SELECT DISTINCT day FROM call_facts "
                    f"WHERE call_id IN (SELECT call_id FROM {IDS_TABLE})")
        if keep_ids:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {DAYS_TABLE} AS {ids_days}")
        if n_ids:
            clock.define_local(con)
            con.execute(f"DELETE FROM call_facts WHERE call_id IN (SELECT call_id FROM {IDS_TABLE})")
            con.execute("INSERT INTO call_facts" + CALL_FACTS_SELECT.format(
                where_a=f"WHERE a.call_id IN (SELECT call_id FROM {IDS_TABLE})",
                where_c=f"WHERE c.call_id IN (SELECT call_id FROM {IDS_TABLE})"))
            if keep_ids:
                con.execute(f"INSERT INTO {DAYS_TABLE} {ids_days}")
        log.info("call_facts updated for %d calls", n_ids)
        done = True
        return n_ids
    finally:
        if not (done and keep_ids):
            con.execute(f"DROP TABLE IF EXISTS {IDS_TABLE}")
            con.execute(f"DROP TABLE IF EXISTS {DAYS_TABLE}")


# -- the assignments with their call's filter columns (the workload aggregates read them) --
# Not stored: the workload pages read the small aggregates below, and writing ~15 M
# per-assignment rows (and ~21 M per-clock-hour rows) cost more than the rest of the
# derived tables (docs/performance.md, "sixth pass": derived tables without
# per-assignment rows).
# ``analytics.workload.assignment_hours`` is the same rows as an Ibis expression (the
# fallback path of databases without the aggregates; tests compare both).
# The exclusion rule of an assignment's committed time (PRODUCT.md section 3): start =
# dispatched, else en route; counted only when both start and clear exist and clear >= start.
_ASSIGNMENT_ROWS_SELECT = """
SELECT
    f.day, f.district, f.beat, f.priority, f.category, f.sensitive,
    coalesce(u.unit_type, 'other') AS unit_type,
    coalesce(a.dispatched_at, a.enroute_at) AS start_at,
    a.arrived_at,
    a.cleared_at,
    CASE
        WHEN coalesce(a.dispatched_at, a.enroute_at) IS NULL THEN 'no_start'
        WHEN a.cleared_at IS NULL THEN 'no_clear'
        WHEN a.cleared_at < coalesce(a.dispatched_at, a.enroute_at) THEN 'cleared_before_start'
        ELSE 'kept'
    END AS exclusion
FROM assignments a
JOIN call_facts f USING (call_id)
LEFT JOIN units u USING (unit_id)
{where}
"""

#: The retired per-row tables of earlier versions: dropped by every derived refresh and
#: by ``python -m analytics upgrade`` (nothing reads them any more).
RETIRED_TABLES = ("assignment_facts", "assignment_slots")


def drop_retired_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Drop :data:`RETIRED_TABLES` where they exist; return the names dropped."""
    dropped = []
    for t in RETIRED_TABLES:  # fixed names
        if _table_exists(con, t):
            con.execute(f"DROP TABLE {t}")
            dropped.append(t)
    return dropped



# -- calls per area and day (the count maps and filter options read it) ---------------
AREA_DAY_TABLE = db.AREA_DAY_TABLE
AREA_DAY_SQL = f"""
CREATE OR REPLACE TABLE {AREA_DAY_TABLE} AS
SELECT day, district, beat, priority, category, sensitive,
       count(*) AS calls,
       count_if(NOT self_initiated AND eligible) AS eligible_public_calls,
       count_if(NOT self_initiated AND eligible AND cso_primary) AS cso_primary_calls,
       -- units per call (analytics.workload.call_unit_stats)
       count_if(n_units > 0) AS dispatched_calls,
       sum(n_units) AS units,
       count_if(n_units >= 2) AS multi_unit_calls,
       -- officer-initiated activity (analytics.workload.patrol_time)
       count_if(self_initiated AND n_sworn_units > 0) AS sworn_self_initiated_calls
FROM call_facts
GROUP BY ALL
ORDER BY day
"""


#: Columns of ``area_day_facts`` that older databases lack (readers check for them).
AREA_DAY_UNIT_COLUMNS = ("dispatched_calls", "units", "multi_unit_calls",
                         "sworn_self_initiated_calls")

# -- small aggregates of the assignments (the Workload tab reads them) -------------------
# Committed hours exactly as analytics.workload.assignment_hours computes them
# (analytics.core.periods.hours_between: microseconds ÷ 3.6e9, kept assignments only).
ASSIGNMENT_DAY_TABLE = "assignment_day_facts"
SLOT_HOUR_TABLE = "slot_hour_facts"
SLOT_CELL_TABLE = "slot_cell_facts"
SLOT_DAY_TABLE = "slot_day_facts"
WORKLOAD_AGGREGATES = (ASSIGNMENT_DAY_TABLE, SLOT_HOUR_TABLE, SLOT_CELL_TABLE, SLOT_DAY_TABLE)
#: The tables keyed by the call's day: an incremental refresh rebuilds only the days of
#: the changed calls (:func:`update_workload_aggregates`).
_DAY_KEYED = (ASSIGNMENT_DAY_TABLE, SLOT_HOUR_TABLE)
_ASSIGNMENT_DAY_SELECT = """
SELECT day, district, beat, priority, category, sensitive, unit_type, exclusion,
       count(*) AS assignments,
       count(committed_h) AS timed_assignments,
       sum(committed_h) AS unit_hours,
       count_if(exclusion = 'kept' AND (arrived_at IS NULL OR cleared_at <= arrived_at))
           AS zero_on_scene
FROM (SELECT *, CASE WHEN exclusion = 'kept'
                     THEN CAST(date_diff('microsecond', start_at, cleared_at) AS DOUBLE)
                          / 3600000000.0 END AS committed_h
      FROM ({rows}))
GROUP BY ALL
"""
# Each kept assignment's committed time spread over the UTC clock hours it overlaps,
# each hour labelled by its local start (``date``, ``hour``, ``weekday``: in the
# fall-back night the local 01:00 hour has two UTC hours, summed here), then summed per
# call day × area × priority × category × sensitive × unit type × clock hour.
_SLOT_HOUR_SELECT = """
WITH k AS (
    SELECT day, district, beat, priority, category, sensitive, unit_type, start_at,
           cleared_at, date_trunc('hour', start_at) AS h0
    FROM ({rows}) WHERE exclusion = 'kept'
), x AS (
    SELECT *, h0 + to_hours(unnest(range(0, CAST(floor((epoch(cleared_at) - epoch(h0)) / 3600)
                                              AS BIGINT) + 1))) AS slot
    FROM k
), o AS (
    SELECT *, (least(epoch(cleared_at), epoch(slot) + 3600)
               - greatest(epoch(start_at), epoch(slot))) / 3600.0 AS unit_hours
    FROM x
)
SELECT day, district, beat, priority, category, sensitive, unit_type,
       CAST(local_slot AS DATE) AS "date", CAST(hour(local_slot) AS SMALLINT) AS "hour",
       CAST(isodow(local_slot) AS SMALLINT) AS weekday, sum(unit_hours) AS unit_hours
FROM (SELECT *, cso_local(slot) AS local_slot FROM o WHERE unit_hours > 0)
GROUP BY ALL
"""
_SLOT_CELL_SQL = f"""
CREATE OR REPLACE TABLE {SLOT_CELL_TABLE} AS
SELECT "date", "hour", district, unit_type, sum(unit_hours) AS unit_hours
FROM {SLOT_HOUR_TABLE}
GROUP BY ALL
ORDER BY "date"
"""
_SLOT_DAY_SQL = f"""
CREATE OR REPLACE TABLE {SLOT_DAY_TABLE} AS
SELECT day, district, sensitive, unit_type, weekday, "hour", sum(unit_hours) AS unit_hours,
       min("date") AS lo, max("date") AS hi
FROM {SLOT_HOUR_TABLE}
GROUP BY ALL
ORDER BY day
"""
_DAY_KEYED_SELECT = {ASSIGNMENT_DAY_TABLE: _ASSIGNMENT_DAY_SELECT,
                     SLOT_HOUR_TABLE: _SLOT_HOUR_SELECT}


def _day_keyed_sql(table: str, where: str = "") -> str:
    rows = _ASSIGNMENT_ROWS_SELECT.format(where=where)
    return _DAY_KEYED_SELECT[table].format(rows=rows)


def build_workload_aggregates(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)build the Workload tab's aggregates of the assignments (after ``call_facts``):

    - ``assignment_day_facts``: assignments per call day × district × beat × priority ×
      call category × sensitive × unit type × exclusion, with the timed ones, their
      committed unit-hours and the zero-time-on-scene ones (``workload_summary``,
      ``call_unit_stats``; the call filters apply to whole days, so they are exact here);
    - ``slot_hour_facts``: committed unit-hours spread over clock hours, per call day ×
      district × beat × priority × call category × sensitive × unit type × clock-hour slot
      (local ``date``, ``hour``, ``weekday``): ``workload_heatmap`` under a beat, priority
      or category filter (a third of the rows of one per assignment and hour);
    - ``slot_cell_facts``: committed unit-hours per clock-hour cell (date × hour ×
      district) and unit type (``utilization_by_hour``, ``patrol_time``: staffing is
      recorded per such cell, and only dates and districts apply to them);
    - ``slot_day_facts``: committed unit-hours per call day × district × sensitive × unit
      type × weekday × hour of the clock-hour slot, with the slots' first and last date
      (``workload_heatmap`` without those filters: a twentieth of ``slot_hour_facts``).

    Readers compute the same numbers from ``assignments`` when a database has no
    aggregates yet (``analytics.workload``).
    """
    clock.define_local(con)
    for table in _DAY_KEYED:  # fixed names
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM "
                    f"({_day_keyed_sql(table)}) ORDER BY day")
    _build_slot_rollups(con)
    log.info("%s rebuilt", ", ".join(WORKLOAD_AGGREGATES))


def _build_slot_rollups(con: duckdb.DuckDBPyConnection) -> None:
    for sql in (_SLOT_CELL_SQL, _SLOT_DAY_SQL):
        con.execute(sql)


def update_workload_aggregates(con: duckdb.DuckDBPyConnection, days_table: str) -> None:
    """Rebuild the rows of the call days listed in temporary table ``days_table`` (column
    ``day``) of the day-keyed aggregates, after ``call_facts`` was updated for the calls
    of those days; the other two are rebuilt whole from ``slot_hour_facts`` (small). Every
    row of a day-keyed table sums the calls of its day, so rebuilding a day from all its
    calls gives the rows of a full rebuild. Builds everything when a table is missing or
    the days are more than :data:`INCREMENTAL_MAX_SHARE` of the tables' days (an import
    spread over the whole history: one build is cheaper than deleting most rows)."""
    if not all(_table_exists(con, t) for t in WORKLOAD_AGGREGATES):
        build_workload_aggregates(con)
        return
    # days_table is a fixed temporary-table name chosen by analytics.facts.
    n_days = int(scalar(con, f"SELECT count(DISTINCT day) FROM {days_table}") or 0)
    n_all = int(scalar(con, f"SELECT count(DISTINCT day) FROM {ASSIGNMENT_DAY_TABLE}") or 0)
    if n_days > INCREMENTAL_MAX_SHARE * n_all:
        build_workload_aggregates(con)
        return
    clock.define_local(con)
    in_days = f"day IN (SELECT day FROM {days_table})"
    for table in _DAY_KEYED:  # fixed names
        con.execute(f"DELETE FROM {table} WHERE {in_days}")
        con.execute(f"INSERT INTO {table} SELECT * FROM "
                    f"({_day_keyed_sql(table, where='WHERE f.' + in_days)})")
    _build_slot_rollups(con)


def build_area_day(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build ``area_day_facts``: call counts per day × district × beat × priority ×
    call category × sensitive, with the CSO-share numerator and denominator.

    The count maps (calls, rates, CSO
    share, before/after change in calls) read it instead of scanning every call, which
    keeps them fast on 10 million calls; without it they fall back to ``call_facts``.
    """
    con.execute(AREA_DAY_SQL)
    n = int(scalar(con, f"SELECT count(*) FROM {AREA_DAY_TABLE}") or 0)
    log.info("%s rebuilt: %d rows", AREA_DAY_TABLE, n)
    return n


# -- public calls per month and area (the Offload, Cost and Targets tabs read it) -----
PUBLIC_MONTH_TABLE = "public_month_facts"
# One row per month x area x priority x category x sensitive x call type x CSO tier x
# primary unit type x the per-call flags of analytics.offload. The unit counts are kept
# only as "none" (0) or "some" (1), all the offload rules ask of them (> 0, = 0); NULL
# stays NULL. day_lo / day_hi are the first and last call day of the row.
_PUBLIC_MONTH_SQL = f"""
CREATE OR REPLACE TABLE {PUBLIC_MONTH_TABLE} AS
SELECT month, district, beat, priority, category, sensitive, call_type, cso_tier,
       primary_unit_type, eligible, cso_primary, diverted,
       CAST(n_units > 0 AS INTEGER) AS n_units,
       CAST(n_sworn_units > 0 AS INTEGER) AS n_sworn_units,
       CAST(n_cso_units > 0 AS INTEGER) AS n_cso_units,
       count(*) AS calls,
       sum(sworn_unit_hours) AS sworn_unit_hours,
       sum(cso_unit_hours) AS cso_unit_hours,
       sum(other_unit_hours) AS other_unit_hours,
       min(day) AS day_lo, max(day) AS day_hi
FROM call_facts
WHERE NOT self_initiated
GROUP BY ALL
ORDER BY month
"""


def build_public_month(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build ``public_month_facts``: the public-initiated calls of ``call_facts``
    counted per month × district × beat × priority × call category × sensitive × call
    type × CSO tier × primary unit type × eligible × CSO primary × diverted × whether any
    unit / sworn unit / CSO unit was assigned, with their summed sworn, CSO and other
    unit-hours and the rows' first and last call day; return its row count.

    :func:`analytics.offload.public_rows` answers the offload measures, the cost per call
    and "where next" from it for whole months (≈ 0.19 M rows for 5.4 M public calls at
    10 M calls) and from ``call_facts`` for the days a filter cuts a month.
    """
    con.execute(_PUBLIC_MONTH_SQL)
    n = int(scalar(con, f"SELECT count(*) FROM {PUBLIC_MONTH_TABLE}") or 0)
    log.info("%s rebuilt: %d rows", PUBLIC_MONTH_TABLE, n)
    return n


# -- response-time histograms per day (the response-time figures read them) ------------
RESPONSE_HIST_TABLE = response_hist.TABLE
_RH_SOURCE = "_rh_source"  # the calls of the days an incremental refresh rebuilds (temporary)


#: The storage order of ``response_hist``: every reader asks for one segment (or a few),
#: most for one district or priority, then a range of months. DuckDB skips each row group
#: (122,880 rows) whose min/max of a filtered column excludes the filter, so rows sorted
#: by those columns, in that order, are read only for the segment × district × priority
#: asked for. Measured at 10 M calls (6.0 M rows, CPU per query, docs/performance.md):
#: the P1 median of one district 120 → 18 ms, of one district over a year 54 → 30 ms,
#: per district 109 → 28 ms, every segment of one district 295 → 128 ms, against the
#: earlier ``ORDER BY month``. Rows an incremental refresh adds go at the end (still
#: correct; the next full rebuild sorts them).
RESPONSE_HIST_ORDER = "segment, district, priority, month, beat"
#: The same for ``response_hist_city`` (no areas).
RESPONSE_HIST_CITY_ORDER = "segment, priority, month"


def build_response_hist(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build ``response_hist`` (:mod:`analytics.response_hist`: per month × district ×
    beat × priority × sensitive × primary unit type × segment, the exclusion counts and the kept times in
    5-second bins) from ``call_facts``; return its row count.

    The rows come from the Ibis expression :func:`analytics.response_hist.build_expr`,
    which applies the one validity rule (:func:`analytics.core.calls.exclusion_step`).
    Stored in the order :data:`RESPONSE_HIST_ORDER`.
    """
    con.execute(f"CREATE OR REPLACE TABLE {RESPONSE_HIST_TABLE} AS SELECT * FROM "
                f"({response_hist.build_sql()}) ORDER BY {RESPONSE_HIST_ORDER}")
    n = int(scalar(con, f"SELECT count(*) FROM {RESPONSE_HIST_TABLE}") or 0)
    log.info("%s rebuilt: %d rows", RESPONSE_HIST_TABLE, n)
    build_response_hist_city(con)
    return n


def build_response_hist_city(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)build ``response_hist_city``: ``response_hist`` summed over districts and
    beats (:func:`analytics.response_hist.city_expr`), for city-wide figures; small
    (0.7 M rows at 10 M calls) and rebuilt whole from ``response_hist``."""
    # SUM of a BIGINT is a HUGEINT in DuckDB: stored as BIGINT like response_hist's counts
    con.execute(f"CREATE OR REPLACE TABLE {response_hist.CITY_TABLE} AS SELECT * REPLACE "
                f"(CAST(calls AS BIGINT) AS calls) FROM ({response_hist.city_sql()}) "
                f"ORDER BY {RESPONSE_HIST_CITY_ORDER}")


def has_response_hist(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the database has ``response_hist`` with every key column of this
    version (a table built before a key was added is rebuilt whole)."""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
        "AND schema_name = 'main'", [RESPONSE_HIST_TABLE]).fetchall()}
    return bool(have) and set(response_hist.KEYS) <= have


def update_response_hist(con: duckdb.DuckDBPyConnection, days_table: str) -> None:
    """Rebuild the ``response_hist`` rows of the months of the days listed in temporary
    table ``days_table`` (column ``day``) only, after ``call_facts`` was updated: the same
    expression as :func:`build_response_hist` over those months' calls, so the rows are
    those of a full rebuild. Builds the table whole when it does not exist yet."""
    if not has_response_hist(con):
        build_response_hist(con)
        return
    # days_table and _RH_SOURCE are fixed temporary-table names chosen by analytics.facts.
    in_months = (f"month IN (SELECT DISTINCT CAST(date_trunc('month', day) AS DATE) "
                 f"FROM {days_table})")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {_RH_SOURCE} AS "
                f"SELECT * FROM call_facts WHERE {in_months}")
    try:
        con.execute(f"DELETE FROM {RESPONSE_HIST_TABLE} WHERE {in_months}")
        con.execute(f"INSERT INTO {RESPONSE_HIST_TABLE} SELECT * FROM "
                    f"({response_hist.build_sql(_RH_SOURCE)})")
    finally:
        con.execute(f"DROP VIEW IF EXISTS {_RH_SOURCE}")
    build_response_hist_city(con)


def build_missing_derived(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Build the derived tables that a database made by an older version lacks (while
    ``call_facts`` exists); return their names. ``python -m analytics upgrade`` runs it
    (and :func:`drop_retired_tables`)."""
    built = []
    if not _table_exists(con, "call_facts"):
        return built
    if not has_response_hist(con):
        build_response_hist(con)  # builds response_hist_city too
        built += [RESPONSE_HIST_TABLE, response_hist.CITY_TABLE]
    elif not _table_exists(con, response_hist.CITY_TABLE):
        build_response_hist_city(con)
        built.append(response_hist.CITY_TABLE)
    # area_day_facts without the units-per-call columns (added with the workload aggregates)
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
        "AND schema_name = 'main'", [AREA_DAY_TABLE]).fetchall()}
    if not set(AREA_DAY_UNIT_COLUMNS) <= have:
        build_area_day(con)
        built.append(AREA_DAY_TABLE)
    missing = [t for t in WORKLOAD_AGGREGATES if not _table_exists(con, t)]
    if missing:  # slot_hour_facts came with the retirement of the per-row tables
        build_workload_aggregates(con)
        built.extend(missing)
    if not _table_exists(con, PUBLIC_MONTH_TABLE):
        build_public_month(con)
        built.append(PUBLIC_MONTH_TABLE)
    return built


def refresh_derived(con: duckdb.DuckDBPyConnection, call_ids_sql: str | None = None) -> None:
    """Rebuild every derived table. Call after any change to calls, assignments, units
    or call_types.

    With ``call_ids_sql`` (see :func:`update_call_facts`) only those calls' rows of
    ``call_facts``, the ``response_hist`` rows of their months and the rows of their days
    of the day-keyed workload aggregates (:func:`update_workload_aggregates`) are rebuilt
    when that is cheaper; ``area_day_facts`` (area × day counts) and
    ``public_month_facts`` (:func:`build_public_month`) are rebuilt whole. The
    :data:`RETIRED_TABLES` of earlier versions are dropped.
    """
    n = None if call_ids_sql is None else update_call_facts(con, call_ids_sql, keep_ids=True)
    try:
        if n is None:
            build_call_facts(con)
            build_response_hist(con)
            build_workload_aggregates(con)
        else:
            update_response_hist(con, DAYS_TABLE)
            update_workload_aggregates(con, DAYS_TABLE)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {IDS_TABLE}")
        con.execute(f"DROP TABLE IF EXISTS {DAYS_TABLE}")
    drop_retired_tables(con)  # stale since the aggregates above no longer read them
    build_area_day(con)  # area × day counts: small, rebuilt whole
    build_public_month(con)  # public calls per month and area: small, rebuilt whole


def init_database(path: str | os.PathLike[str]) -> Path:
    """Create an empty canonical database at ``path`` (``python -m analytics init``).

    Every canonical table, empty; the derived tables built (empty) so every page can
    query; ``database_kind`` = ``empty``. Refuses a path that already exists: an existing
    file is never overwritten or mixed into.

    Raises
    ------
    DatabaseError
        ``path`` already exists, or cannot be created.
    """
    path = Path(path)
    if path.exists():
        raise DatabaseError(f"{path} already exists; init only creates a new database "
                            "(import into it with `python -m analytics import`)")
    con = db.connect(path)
    try:
        db.set_database_kind(con, "empty")
        refresh_derived(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


db.set_derived_rebuilder(refresh_derived)  # schema migrations rebuild through it
