"""Local time: the one place that turns a stored instant into the department's wall clock.

**Time model** (schema 3, docs/importing.md "Time model"): every event column of the
canonical tables (``received_at`` … ``cleared_at`` of calls and assignments,
``occurred_at`` / ``reported_at`` of incidents, ``started_at`` / ``ended_at`` of
activities) holds the **instant in UTC** as a plain ``TIMESTAMP``; the department's zone is
``settings.timezone``. A duration is the plain difference of two stored values, exact
across daylight-saving changes. Grouping by day, week, month, hour or weekday, date
filters and everything shown use **local** time:

- the derived tables built by :mod:`analytics.facts` already hold local columns
  (``call_facts.received_at``, ``day``, ``month``, ``hour`` …; ``assignment_slots``' clock
  hours), through the SQL macro ``cso_local`` (:func:`define_local`);
- metric code reading a canonical table directly wraps the column in :func:`local`.

A database without a zone (the demo city, whose synthetic clock has no daylight saving)
stores its local clock as it is and both are the identity.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from analytics import db

LOCAL_MACRO = "cso_local"


def zone_sql(zone: str) -> str:
    """``zone`` as a SQL string literal (zones are checked against DuckDB's list when
    stored; quotes are dropped all the same)."""
    return "'" + zone.replace("'", "") + "'"


def local_sql(expr: str, zone: str | None) -> str:
    """DuckDB SQL: the local wall clock (``TIMESTAMP``) of a stored UTC instant."""
    if not zone:
        return expr
    return f"timezone({zone_sql(zone)}, timezone('UTC', {expr}))"


def utc_sql(expr: str, zone: str | None) -> str:
    """DuckDB SQL: the UTC instant of a local wall clock in ``zone`` (a time in the
    spring-forward gap is read 1 hour later, one in the repeated fall-back hour as its
    second occurrence; see ``analytics.ingest._transform.dst_notes``)."""
    if not zone:
        return expr
    return f"timezone('UTC', timezone({zone_sql(zone)}, {expr}))"


def define_local(con: Any) -> str | None:
    """Define the temporary macro ``cso_local(t)`` (:func:`local_sql` in the database's
    zone) on ``con``; return the zone."""
    zone = db.department_timezone(con)
    con.execute(f"CREATE OR REPLACE TEMP MACRO {LOCAL_MACRO}(t) AS {local_sql('t', zone)}")
    return zone


# -- Ibis ---------------------------------------------------------------------------------
@ibis.udf.scalar.builtin(name="timezone")
def _duckdb_timezone(zone: str, t: dt.datetime) -> dt.datetime:  # DuckDB's timezone()
    ...


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _spark_from_utc(t: dt.datetime, zone: str) -> dt.datetime:  # Spark's from_utc_timestamp()
    ...


def zone_of(backend: Any) -> str | None:
    """The department's zone of the database behind ``backend`` (None when not set)."""
    con = db.duckdb_connection(backend)
    if con is not None:
        try:
            return db.department_timezone(con)
        except Exception:  # noqa: BLE001 - a database without settings (a bare export)
            return None
    try:
        s = backend.table("settings")
        got = s.filter(s.key == db.TIMEZONE_KEY).select("value").execute()
    except Exception:  # noqa: BLE001 - no settings table on this engine
        return None
    return str(got["value"].iloc[0]) if len(got) and got["value"].iloc[0] else None


def local(value: ibis.Value, zone: str | None | bool = True) -> ibis.Value:
    """The local wall clock of a stored instant (an Ibis timestamp column of a canonical
    table). ``zone`` True (default) looks the zone up from the expression's backend."""
    if zone is True:
        backend = value._find_backend()
        zone = zone_of(backend)
    else:
        backend = None
    if not zone:
        return value
    if backend is None:
        backend = value._find_backend()
    if getattr(backend, "name", None) == "pyspark":
        return _spark_from_utc(value, zone)
    return _duckdb_timezone(zone, _duckdb_timezone("UTC", value))


def local_select(table: str, zone: str | None) -> str:
    """DuckDB SQL: canonical ``table`` with every event column (``db.EVENT_TIME_COLUMNS``)
    as local wall clock, the other columns as stored."""
    # SQL, not Ibis: this is the body of the ``local_*`` views' DDL (define_local_views),
    # which metric code never reads. Nothing a user sends is interpolated: ``table`` and
    # its columns come from the fixed db.EVENT_TIME_COLUMNS, the zone through zone_sql.
    cols = db.EVENT_TIME_COLUMNS[table]  # KeyError for a table without event times
    if not zone:
        return f"SELECT * FROM {table}"
    repl = ", ".join(f"{local_sql(c, zone)} AS {c}" for c in cols)
    return f"SELECT * REPLACE ({repl}) FROM {table}"


def define_local_views(con: Any) -> None:
    """Temporary views ``local_calls``, ``local_assignments``, ``local_incidents`` and
    ``local_activities``: the canonical tables in local time (for ad-hoc SQL and
    inspection; metric code uses the derived tables or :func:`local`)."""
    zone = db.department_timezone(con)
    for table in db.EVENT_TIME_COLUMNS:  # fixed names
        con.execute(f"CREATE OR REPLACE TEMP VIEW local_{table} AS {local_select(table, zone)}")
