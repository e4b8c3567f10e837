"""Derived per-call fact table, rebuilt after every import or demo build.

``call_facts`` has one row per call with the segments already in seconds, the first
arrival across all units (not the primary's), the first sworn arrival, unit-hours by unit
type and the CSO flags, so that pages query precomputed columns (PRODUCT.md section 7).

Definitions (PRODUCT.md section 3):

- ``first_dispatched_at`` = earliest dispatch of any unit (``calls.dispatched_at`` and every
  assignment's ``dispatched_at``); ``first_arrived_at`` likewise for arrival.
- ``queue_s`` = received → first dispatched; ``travel_s`` = first dispatched → first
  arrived; ``total_s`` = received → first arrived. Raw differences between instants
  (:func:`define_instant`: exact across DST): they may be NULL or negative here; the
  response-time metric excludes and counts those.
- ``sworn_total_s`` = received → first *sworn* unit on scene.
- committed time of an assignment = (dispatched, else en route) → cleared, counted only
  when both exist and cleared ≥ start; ``*_unit_hours`` sum it over the call's units.
- ``primary_unit_type`` = type of the assignment flagged ``is_primary`` (else of the first
  dispatched unit); ``cso_primary`` = that type is ``cso``.
- ``eligible`` = the call type's CSO tier is anything but ``sworn_only`` (unmapped call
  types are not eligible); ``diverted`` = eligible, at least one unit assigned, and no
  sworn unit ever assigned; ``cso_backup`` = CSO-primary call where a sworn unit was
  also assigned.
"""

from __future__ import annotations

import logging

import duckdb

from analytics.db import scalar

log = logging.getLogger(__name__)

CALL_FACTS_SELECT = """
WITH a AS (
    SELECT
        a.call_id,
        a.unit_id,
        a.dispatched_at,
        a.arrived_at,
        a.is_primary,
        coalesce(u.unit_type, 'other') AS unit_type,
        CASE
            WHEN a.cleared_at IS NOT NULL
             AND coalesce(a.dispatched_at, a.enroute_at) IS NOT NULL
             AND cso_instant(a.cleared_at) >= cso_instant(coalesce(a.dispatched_at, a.enroute_at))
            THEN epoch(cso_instant(a.cleared_at)
                       - cso_instant(coalesce(a.dispatched_at, a.enroute_at))) / 3600.0
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
        min(arrived_at) FILTER (WHERE unit_type = 'sworn') AS first_sworn_arrived_at,
        count(*) AS n_units,
        count(*) FILTER (WHERE unit_type = 'sworn') AS n_sworn_units,
        count(*) FILTER (WHERE unit_type = 'cso') AS n_cso_units,
        coalesce(sum(committed_h) FILTER (WHERE unit_type = 'sworn'), 0) AS sworn_unit_hours,
        coalesce(sum(committed_h) FILTER (WHERE unit_type = 'cso'), 0) AS cso_unit_hours,
        coalesce(sum(committed_h) FILTER (WHERE unit_type = 'other'), 0) AS other_unit_hours,
        -- primary: the flagged assignment, else the first dispatched unit
        -- (ordered by the flag, then the dispatch time: one BIGINT key, the flag 2^60
        -- apart and the time clamped to years 1-9999, sorts like the pair and aggregates
        -- faster than a struct key)
        arg_min(unit_type, CASE WHEN is_primary THEN 0 ELSE 1152921504606846976 END
                           + epoch_us(greatest(least(coalesce(dispatched_at, TIMESTAMP '9999-01-01'),
                                                     TIMESTAMP '9999-01-01'),
                                               TIMESTAMP '0001-01-01')))
            AS primary_unit_type
    FROM a
    GROUP BY call_id
)
SELECT
    c.call_id,
    c.received_at,
    CAST(c.received_at AS DATE) AS day,
    CAST(date_trunc('month', c.received_at) AS DATE) AS month,
    CAST(date_trunc('week', c.received_at) AS DATE) AS week,
    CAST(hour(c.received_at) AS SMALLINT) AS hour,
    CAST(isodow(c.received_at) AS SMALLINT) AS weekday,       -- 1 = Monday
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
    least(c.dispatched_at, p.a_first_dispatched_at) AS first_dispatched_at,
    least(c.arrived_at, p.a_first_arrived_at) AS first_arrived_at,
    c.cleared_at,
    epoch(cso_instant(least(c.dispatched_at, p.a_first_dispatched_at))
          - cso_instant(c.received_at)) AS queue_s,
    epoch(cso_instant(least(c.arrived_at, p.a_first_arrived_at))
          - cso_instant(least(c.dispatched_at, p.a_first_dispatched_at))) AS travel_s,
    epoch(cso_instant(least(c.arrived_at, p.a_first_arrived_at))
          - cso_instant(c.received_at)) AS total_s,
    epoch(cso_instant(p.first_sworn_arrived_at) - cso_instant(c.received_at)) AS sworn_total_s,
    coalesce(p.n_units, 0) AS n_units,
    coalesce(p.n_sworn_units, 0) AS n_sworn_units,
    coalesce(p.n_cso_units, 0) AS n_cso_units,
    coalesce(p.sworn_unit_hours, 0) AS sworn_unit_hours,
    coalesce(p.cso_unit_hours, 0) AS cso_unit_hours,
    coalesce(p.other_unit_hours, 0) AS other_unit_hours,
    p.primary_unit_type,
    coalesce(p.primary_unit_type = 'cso', false) AS cso_primary,
    coalesce(ct.cso_tier IS NOT NULL AND ct.cso_tier <> 'sworn_only', false) AS eligible,
    coalesce(ct.cso_tier IS NOT NULL AND ct.cso_tier <> 'sworn_only'
             AND p.n_units > 0 AND p.n_sworn_units = 0, false) AS diverted,
    coalesce(p.primary_unit_type = 'cso' AND p.n_sworn_units > 0, false) AS cso_backup
FROM calls c
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


def define_instant(con: duckdb.DuckDBPyConnection) -> None:
    """``cso_instant(ts)``: the instant of a stored wall-clock time, so that durations are
    exact across daylight-saving changes.

    Event times are stored as the department's local wall clock (``settings`` key
    ``timezone``, see docs/importing.md "Time model"); with a zone, ``cso_instant`` reads
    them in it (a 01:50 → 03:05 call on a spring-forward night lasts 15 minutes, not 75).
    Without one (the demo city, databases made before) it is the time itself.
    """
    from analytics.db import department_timezone

    zone = department_timezone(con)
    # The zone was checked against DuckDB's own zone list when stored; quoted as a literal.
    body = f"timezone('{zone.replace(chr(39), '')}', t)" if zone else "t"
    con.execute(f"CREATE OR REPLACE TEMP MACRO cso_instant(t) AS {body}")


def build_call_facts(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)build ``call_facts`` from the canonical tables; return its row count."""
    define_instant(con)
    con.execute(CALL_FACTS_SQL)
    n = scalar(con, "SELECT count(*) FROM call_facts")
    log.info("call_facts rebuilt: %d rows", n)
    return n


IDS_TABLE = "_cf_ids"  # the calls an incremental refresh rebuilds (temporary)


def update_call_facts(con: duckdb.DuckDBPyConnection, call_ids_sql: str,
                      *, keep_ids: bool = False) -> int | None:
    """Rebuild the ``call_facts`` rows of some calls only; return how many, or None when
    a full rebuild is the better choice (no table yet, or too many calls changed).

    ``call_ids_sql`` is a query whose ``call_id`` column lists every call whose row in
    ``calls`` or whose assignments changed (a superset is fine); unit and call-type
    changes touch many calls and need :func:`build_call_facts`. The rows are deleted and
    inserted again with the same SELECT as the full build, so they are identical to it.
    With ``keep_ids`` the temporary table ``IDS_TABLE`` listing those calls is left for
    the caller (who drops it) when the update went ahead.
    """
    if not scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'call_facts' "
                       "AND schema_name = 'main'"):
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
        if n_ids:
            define_instant(con)
            con.execute(f"DELETE FROM call_facts WHERE call_id IN (SELECT call_id FROM {IDS_TABLE})")
            con.execute("INSERT INTO call_facts" + CALL_FACTS_SELECT.format(
                where_a=f"WHERE a.call_id IN (SELECT call_id FROM {IDS_TABLE})",
                where_c=f"WHERE c.call_id IN (SELECT call_id FROM {IDS_TABLE})"))
        log.info("call_facts updated for %d calls", n_ids)
        done = True
        return n_ids
    finally:
        if not (done and keep_ids):
            con.execute(f"DROP TABLE IF EXISTS {IDS_TABLE}")


def refresh_derived(con: duckdb.DuckDBPyConnection, call_ids_sql: str | None = None) -> None:
    """Rebuild every derived table. Call after any change to calls, assignments, units
    or call_types.

    With ``call_ids_sql`` (see :func:`update_call_facts`) only those calls' rows of
    ``call_facts``, ``assignment_facts`` and ``assignment_slots`` are rebuilt when that is
    cheaper; ``area_day_facts`` (area × day counts) is rebuilt whole.
    """
    from analytics import maps, workload  # derived from call_facts; imported here (no cycle)

    n = None if call_ids_sql is None else update_call_facts(con, call_ids_sql, keep_ids=True)
    try:
        if n is None:
            build_call_facts(con)
            workload.build_derived(con)
        else:
            workload.update_derived(con, IDS_TABLE)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {IDS_TABLE}")
    maps.build_derived(con)  # area × day counts: small, rebuilt whole
