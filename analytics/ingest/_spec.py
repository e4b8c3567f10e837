"""The canonical tables as the importer sees them: columns, kinds, keys, required fields.

Kinds drive parsing: ``text`` is trimmed VARCHAR, ``timestamp``/``date`` are parsed with
the preset's formats, ``int``/``float`` must be numbers, ``bool`` accepts
true/false/yes/no/y/n/t/f/1/0, ``enum`` must be one of a fixed list (PRODUCT.md section 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.db import ACTIVITY_TYPES, AREA_LEVELS, CSO_TIERS, UNIT_TYPES


@dataclass(frozen=True)
class Column:
    """One canonical column: name, kind, SQL type, allowed values for enums."""

    name: str
    kind: str  # text | timestamp | date | int | float | bool | enum
    sql_type: str
    allowed: tuple[str, ...] = ()
    lo: float | None = None  # inclusive bounds (the table's CHECK constraints)
    hi: float | None = None


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: ordered columns, primary key, columns a row cannot lack."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: tuple[str, ...]
    defaults: dict[str, str] = field(default_factory=dict)  # SQL literal per column

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _t(name: str) -> Column:
    return Column(name, "text", "VARCHAR")


def _ts(name: str) -> Column:
    return Column(name, "timestamp", "TIMESTAMP")


SPECS: dict[str, TableSpec] = {
    "calls": TableSpec(
        "calls",
        (
            _t("call_id"), _ts("received_at"), _ts("dispatched_at"), _ts("enroute_at"),
            _ts("arrived_at"), _ts("cleared_at"), _t("call_type"), _t("call_type_initial"),
            Column("priority", "int", "SMALLINT", lo=0, hi=99), _t("source"),
            Column("self_initiated", "bool", "BOOLEAN"), _t("disposition"), _t("district"),
            _t("beat"), Column("lat", "float", "DOUBLE"), Column("lon", "float", "DOUBLE"),
        ),
        key=("call_id",),
        required=("call_id", "received_at"),
        defaults={"self_initiated": "false"},
    ),
    "assignments": TableSpec(
        "assignments",
        (
            _t("call_id"), _t("unit_id"), _ts("dispatched_at"), _ts("enroute_at"),
            _ts("arrived_at"), _ts("cleared_at"), Column("is_primary", "bool", "BOOLEAN"),
        ),
        key=("call_id", "unit_id"),
        required=("call_id", "unit_id"),
        defaults={"is_primary": "false"},
    ),
    "units": TableSpec(
        "units",
        (_t("unit_id"), Column("unit_type", "enum", "VARCHAR", UNIT_TYPES), _t("home_district")),
        key=("unit_id",),
        required=("unit_id", "unit_type"),
    ),
    "staffing": TableSpec(
        "staffing",
        (
            Column("date", "date", "DATE"), Column("hour", "int", "SMALLINT", lo=0, hi=23),
            _t("district"),
            Column("unit_type", "enum", "VARCHAR", UNIT_TYPES),
            Column("on_duty_hours", "float", "DOUBLE", lo=0),
        ),
        key=("date", "hour", "district", "unit_type"),
        required=("date", "hour", "district", "unit_type", "on_duty_hours"),
    ),
    "incidents": TableSpec(
        "incidents",
        (
            _t("incident_id"), _ts("occurred_at"), _ts("reported_at"), _t("offense"),
            _t("offense_category"), _t("district"), _t("beat"),
            Column("lat", "float", "DOUBLE"), Column("lon", "float", "DOUBLE"),
        ),
        key=("incident_id",),
        required=("incident_id",),
    ),
    "areas": TableSpec(
        "areas",
        (
            _t("area_id"), Column("level", "enum", "VARCHAR", AREA_LEVELS), _t("name"),
            _t("parent_id"), _t("geometry"), Column("population", "int", "INTEGER", lo=0),
        ),
        key=("area_id",),
        required=("area_id", "level"),
    ),
    "deployments": TableSpec(
        "deployments",
        (
            _t("area_id"), Column("start_date", "date", "DATE"), Column("end_date", "date", "DATE"),
            Column("cso_count", "int", "INTEGER", lo=0), _t("note"),
        ),
        key=("area_id", "start_date"),
        required=("area_id", "start_date"),
    ),
    "activities": TableSpec(
        "activities",
        (
            _t("activity_id"), _t("unit_id"),
            Column("activity_type", "enum", "VARCHAR", ACTIVITY_TYPES), _ts("started_at"),
            _ts("ended_at"), _t("district"), _t("beat"), Column("lat", "float", "DOUBLE"),
            Column("lon", "float", "DOUBLE"), Column("contacts", "int", "INTEGER", lo=0),
        ),
        key=("activity_id",),
        required=("activity_id", "activity_type", "started_at"),
    ),
    "call_types": TableSpec(
        "call_types",
        (
            _t("call_type"), _t("description"), _t("category"),
            Column("cso_tier", "enum", "VARCHAR", CSO_TIERS),
            Column("sensitive", "bool", "BOOLEAN"),
        ),
        key=("call_type",),
        required=("call_type", "cso_tier"),
        defaults={"sensitive": "false"},
    ),
}

TABLE_NAMES: tuple[str, ...] = tuple(SPECS)

# Timestamp order a call's (or an assignment's) segments must respect.
SEGMENT_ORDER = ("received_at", "dispatched_at", "enroute_at", "arrived_at", "cleared_at")
# The response-time chain: a row whose received/dispatched/arrived are out of order is
# rejected (which of them is wrong cannot be told). En route and cleared are "later"
# segments: one out of order is set to missing, reported, and the row kept.
CORE_SEGMENTS = ("received_at", "dispatched_at", "arrived_at")
SOFT_SEGMENTS = ("enroute_at", "cleared_at")

# Tables whose rows carry coordinates and a district/beat checked against `areas`.
GEO_TABLES = ("calls", "incidents", "activities")
