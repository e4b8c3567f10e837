"""Presets: small TOML files saying how one export maps onto a canonical table.

The format is documented with a full example in ``docs/importing.md``. A preset is
parsed once into a frozen :class:`Preset`; unknown keys are an error (a typo in a preset
must not silently do nothing).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics import db
from analytics.errors import InputDataError
from analytics.ingest._spec import SPECS, TABLE_NAMES

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"

FORMATS = ("auto", "csv", "xlsx", "parquet", "geojson")
ENCODINGS = ("auto", "utf-8", "latin-1", "utf-16")
DURATION_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0}
UNIT_TYPES = db.UNIT_TYPES

# Timestamp formats tried when a preset gives none (ISO first, then common US exports).
DEFAULT_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%g",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
)
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y")

_SOURCE_KEYS = {"column", "columns", "sep", "date", "time", "date_format", "time_format",
                "value", "regex", "map", "formats", "upper", "lower"}


@dataclass(frozen=True)
class Source:
    """Where one canonical column comes from.

    Exactly one of ``column`` (a source column), ``columns`` (joined with ``sep``),
    ``date``+``time`` (two columns combined into a timestamp) or ``value`` (a constant).
    ``regex`` keeps the first capture group; ``map`` replaces whole values (case-insensitive
    keys); ``formats`` overrides the preset's timestamp formats for this column.
    """

    column: str | None = None
    columns: tuple[str, ...] = ()
    sep: str = " "
    date: str | None = None
    time: str | None = None
    date_format: str | None = None
    time_format: str | None = None
    value: str | None = None
    regex: str | None = None
    map: tuple[tuple[str, str], ...] = ()
    formats: tuple[str, ...] = ()
    upper: bool = False
    lower: bool = False

    @property
    def source_columns(self) -> tuple[str, ...]:
        cols = list(self.columns)
        if self.column:
            cols.append(self.column)
        for c in (self.date, self.time):
            if c:
                cols.append(c)
        return tuple(cols)

    def label(self) -> str:
        """How the source is named in messages (the source column, or a description)."""
        if self.column:
            return self.column
        if self.columns:
            return "+".join(self.columns)
        if self.date:
            return f"{self.date}+{self.time}" if self.time else self.date
        return f"constant {self.value!r}"


@dataclass(frozen=True)
class UnitRule:
    """Unit type from the unit id: a prefix or a regular expression (first match wins)."""

    type: str
    prefix: str | None = None
    regex: str | None = None


@dataclass(frozen=True)
class RowCondition:
    """A ``[filter]`` condition on one source column: the trimmed value is one of
    ``values`` (case-insensitive) or matches ``regex`` (anywhere in the value)."""

    column: str
    values: tuple[str, ...] = ()
    regex: str | None = None


@dataclass(frozen=True)
class PrimaryRule:
    """``[units] primary``: ``mode`` first_row | earliest_dispatch | none | column; for
    ``column``, the rows whose ``column`` holds one of ``values`` (a flag or a dispatch
    sequence such as ``1``) are the primary units."""

    mode: str = "none"
    column: str | None = None
    values: tuple[str, ...] = ()


PRIMARY_MODES = ("none", "first_row", "earliest_dispatch")


@dataclass(frozen=True)
class Preset:
    """A parsed preset. See ``docs/importing.md`` for every key."""

    name: str
    table: str
    description: str = ""
    # [read]
    format: str = "auto"
    delimiter: str | None = None
    encoding: str = "auto"
    quote: str = '"'
    escape: str | None = None
    skip_rows: int = 0
    sheet: str | None = None
    trim: bool = True
    null_values: tuple[str, ...] = ()  # besides the empty string; case-insensitive
    # [filter]: rows kept when every `keep` condition holds and no `drop` condition does
    keep: tuple[RowCondition, ...] = ()
    drop: tuple[RowCondition, ...] = ()
    # [time]
    time_formats: tuple[str, ...] = ()
    date_formats: tuple[str, ...] = ()
    timezone: str | None = None
    store_timezone: str | None = None
    # Set by the importer, not a TOML key: store UTC instants (the database has, or gets,
    # the zone ``store_timezone``); False = store wall clock (a zone-less database that
    # already holds times, e.g. the demo city). See analytics.core.clock.
    store_utc: bool = False
    # [columns]
    columns: dict[str, Source] = field(default_factory=dict)
    # [officer_initiated]
    oi_column: str | None = None
    oi_values: tuple[str, ...] = ()
    oi_regex: str | None = None
    # [durations]
    duration_unit: str = "minutes"
    duration_anchor: str = "received_at"
    durations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    order_tolerance: float = 0.0  # in duration units: rounding slack for segment order
    # [units]: one row per unit per call → calls + assignments + units
    unit_column: str | None = None
    unit_default_type: str = "sworn"
    unit_rules: tuple[UnitRule, ...] = ()
    unit_primary: str = "none"  # none | first_row | earliest_dispatch | column
    unit_primary_rule: PrimaryRule = field(default_factory=PrimaryRule)
    unit_type_column: str | None = None
    unit_type_map: tuple[tuple[str, str], ...] = ()  # upper-cased source value -> unit type
    # [areas] (GeoJSON boundaries)
    area_id_property: str | None = None
    area_name_property: str | None = None
    area_parent_property: str | None = None
    area_level: str = "beat"
    area_parent_level: str | None = None
    area_population_property: str | None = None
    path: str | None = None
    # canonical preset: columns missing from the file are simply not mapped
    optional_sources: bool = False

    def fit_to_header(self, header: list[str], required: tuple[str, ...]) -> Preset:
        """With ``optional_sources``, drop mapped columns whose source is not in the file
        (required columns stay, so their absence is still reported)."""
        if not self.optional_sources:
            return self
        from dataclasses import replace

        have = set(header)
        cols = {k: v for k, v in self.columns.items()
                if k in required or all(c in have for c in v.source_columns)}
        return replace(self, columns=cols)

    @property
    def per_unit(self) -> bool:
        """True when each file row is one unit on one call (fills assignments and units)."""
        return self.unit_column is not None and self.table == "calls"

    def formats_for(self, src: Source, kind: str) -> tuple[str, ...]:
        if src.formats:
            return src.formats
        if kind == "date":
            return self.date_formats or DEFAULT_DATE_FORMATS
        return self.time_formats or DEFAULT_TIME_FORMATS

    def source_columns(self) -> set[str]:
        """Every source column the preset reads."""
        cols: set[str] = set()
        for s in self.columns.values():
            cols.update(s.source_columns)
        for cols_ in self.durations.values():
            cols.update(cols_)
        if self.oi_column:
            cols.add(self.oi_column)
        if self.unit_column:
            cols.add(self.unit_column)
        if self.unit_type_column:
            cols.add(self.unit_type_column)
        if self.unit_primary_rule.column:
            cols.add(self.unit_primary_rule.column)
        cols.update(c.column for c in (*self.keep, *self.drop))
        return cols


def _err(where: str, msg: str) -> InputDataError:
    return InputDataError(f"preset error: {msg}", file=where)


def _check_keys(where: str, section: str, got: dict, allowed: set[str]) -> None:
    bad = sorted(set(got) - allowed)
    if bad:
        raise _err(where, f"unknown key(s) {', '.join(bad)} in [{section}]; "
                          f"allowed: {', '.join(sorted(allowed))}")


def _source(where: str, name: str, raw: Any) -> Source:
    if isinstance(raw, str):
        return Source(column=raw)
    if not isinstance(raw, dict):
        raise _err(where, f"columns.{name} must be a column name or a table")
    _check_keys(where, f"columns.{name}", raw, _SOURCE_KEYS)
    given = [k for k in ("column", "columns", "date", "value") if k in raw]
    if len(given) != 1:
        raise _err(where, f"columns.{name} needs exactly one of column, columns, date, value")
    if "regex" in raw:
        try:
            pat = re.compile(raw["regex"])
        except re.error as exc:
            raise _err(where, f"columns.{name}.regex is not a valid expression: {exc}") from None
        if pat.groups < 1:
            raise _err(where, f"columns.{name}.regex needs one capture group (...)")
    mapping = raw.get("map", {})
    if not isinstance(mapping, dict):
        raise _err(where, f"columns.{name}.map must be a table of value = replacement")
    value = raw.get("value")
    return Source(
        column=raw.get("column"),
        columns=tuple(raw.get("columns", ())),
        sep=raw.get("sep", " "),
        date=raw.get("date"),
        time=raw.get("time"),
        date_format=raw.get("date_format"),
        time_format=raw.get("time_format"),
        value=None if value is None else str(value),
        regex=raw.get("regex"),
        map=tuple((str(k), str(v)) for k, v in mapping.items()),
        formats=tuple(raw.get("formats", ())),
        upper=bool(raw.get("upper", False)),
        lower=bool(raw.get("lower", False)),
    )


def _conditions(where: str, section: str, raw: Any) -> tuple[RowCondition, ...]:
    if not isinstance(raw, list):
        raise _err(where, f"filter.{section} must be a list of "
                          "{{ column = ..., values = [...] }} or {{ column = ..., regex = ... }}")
    out = []
    for i, c in enumerate(raw):
        name = f"filter.{section}[{i}]"
        if not isinstance(c, dict):
            raise _err(where, f"{name} must be a table with column and values or regex")
        _check_keys(where, name, c, {"column", "values", "regex"})
        if not isinstance(c.get("column"), str) or not c["column"]:
            raise _err(where, f"{name} needs column")
        if ("values" in c) == ("regex" in c):
            raise _err(where, f"{name} needs exactly one of values, regex")
        values = c.get("values", [])
        if not isinstance(values, list) or ("values" in c and not values):
            raise _err(where, f"{name}.values must be a non-empty list")
        regex = c.get("regex")
        if regex is not None:
            try:
                re.compile(regex)
            except re.error as exc:
                raise _err(where, f"{name}.regex is not a valid expression: {exc}") from None
        out.append(RowCondition(column=c["column"], values=tuple(str(v) for v in values),
                                regex=regex))
    return tuple(out)


def _primary(where: str, raw: Any) -> PrimaryRule:
    if isinstance(raw, str):
        if raw not in PRIMARY_MODES:
            raise _err(where, f"units.primary must be one of {', '.join(PRIMARY_MODES)} or "
                              "{ column = ..., values = [...] }; got " + repr(raw))
        return PrimaryRule(mode=raw)
    if not isinstance(raw, dict):
        raise _err(where, "units.primary must be a string or { column = ..., values = [...] }")
    _check_keys(where, "units.primary", raw, {"column", "values"})
    values = raw.get("values")
    if not isinstance(raw.get("column"), str) or not isinstance(values, list) or not values:
        raise _err(where, "units.primary needs column and a non-empty list of values")
    return PrimaryRule(mode="column", column=raw["column"], values=tuple(str(v) for v in values))


def parse_preset(data: dict[str, Any], *, where: str = "<preset>") -> Preset:
    """Build a :class:`Preset` from parsed TOML, checking every key and value."""
    _check_keys(where, "top level", data, {"name", "table", "description", "read", "time",
                                          "columns", "officer_initiated", "durations",
                                          "units", "areas", "filter"})
    table = data.get("table")
    if table not in TABLE_NAMES:
        raise _err(where, f"table must be one of {', '.join(TABLE_NAMES)}; got {table!r}")
    spec = SPECS[table]
    read = data.get("read", {})
    _check_keys(where, "read", read, {"format", "delimiter", "encoding", "quote", "escape",
                                      "skip_rows", "sheet", "trim", "null_values"})
    null_values = read.get("null_values", [])
    if not isinstance(null_values, list) or not all(isinstance(v, str) for v in null_values):
        raise _err(where, 'read.null_values must be a list of strings, e.g. ["NULL", "N/A"]')
    flt = data.get("filter", {})
    _check_keys(where, "filter", flt, {"keep", "drop"})
    keep = _conditions(where, "keep", flt.get("keep", []))
    drop = _conditions(where, "drop", flt.get("drop", []))
    fmt = read.get("format", "auto")
    if fmt not in FORMATS:
        raise _err(where, f"read.format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    enc = str(read.get("encoding", "auto")).lower().replace("latin1", "latin-1")
    enc = {"utf8": "utf-8", "iso-8859-1": "latin-1", "cp1252": "latin-1"}.get(enc, enc)
    if enc not in ENCODINGS:
        raise _err(where, f"read.encoding must be one of {', '.join(ENCODINGS)}; got {enc!r}")
    delim = read.get("delimiter")
    if delim is not None and (not isinstance(delim, str) or len(delim) != 1):
        raise _err(where, f"read.delimiter must be one character; got {delim!r}")
    tsec = data.get("time", {})
    _check_keys(where, "time", tsec, {"formats", "date_formats", "timezone", "store_timezone"})

    cols_raw = data.get("columns", {})
    columns: dict[str, Source] = {}
    for name, raw in cols_raw.items():
        if name not in spec.names:
            raise _err(where, f"columns.{name} is not a column of {table}; "
                              f"columns are {', '.join(spec.names)}")
        columns[name] = _source(where, name, raw)

    oi = data.get("officer_initiated", {})
    _check_keys(where, "officer_initiated", oi, {"column", "values", "regex"})
    if oi and "column" not in oi:
        raise _err(where, "officer_initiated needs column")

    dur = dict(data.get("durations", {}))
    unit = dur.pop("unit", "minutes")
    anchor = dur.pop("anchor", "received_at")
    tolerance = dur.pop("order_tolerance", 0)
    if not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise _err(where, "durations.order_tolerance must be a number >= 0")
    if unit not in DURATION_UNITS:
        raise _err(where, f"durations.unit must be one of {', '.join(DURATION_UNITS)}")
    durations: dict[str, tuple[str, ...]] = {}
    for name, cols in dur.items():
        if name not in spec.names or spec.column(name).kind != "timestamp":
            raise _err(where, f"durations.{name} must name a timestamp column of {table}")
        durations[name] = (cols,) if isinstance(cols, str) else tuple(cols)
    if durations and anchor not in columns:
        raise _err(where, f"durations.anchor {anchor!r} must be mapped in [columns]")

    units = data.get("units", {})
    _check_keys(where, "units", units, {"column", "default_type", "rules", "primary",
                                        "type_column", "type_map"})
    rules = []
    for i, r in enumerate(units.get("rules", [])):
        _check_keys(where, f"units.rules[{i}]", r, {"type", "prefix", "regex"})
        if r.get("type") not in UNIT_TYPES or not (r.get("prefix") or r.get("regex")):
            raise _err(where, f"units.rules[{i}] needs type in {UNIT_TYPES} and prefix or regex")
        rules.append(UnitRule(type=r["type"], prefix=r.get("prefix"), regex=r.get("regex")))
    default_type = units.get("default_type", "sworn")
    if default_type not in UNIT_TYPES:
        raise _err(where, f"units.default_type must be one of {UNIT_TYPES}")
    primary = _primary(where, units.get("primary", "none"))
    type_map = units.get("type_map", {})
    if not isinstance(type_map, dict):
        raise _err(where, 'units.type_map must be a table of value = type, e.g. '
                          '{ "ENGINE" = "other", "CSO" = "cso" }')
    bad = {k: v for k, v in type_map.items() if v not in UNIT_TYPES}
    if bad:
        raise _err(where, f"units.type_map values must be one of {UNIT_TYPES}; got {bad}")
    type_column = units.get("type_column")
    if type_map and not type_column:
        raise _err(where, "units.type_map needs units.type_column (the column it reads)")

    areas = data.get("areas", {})
    _check_keys(where, "areas", areas, {"id_property", "name_property", "parent_property",
                                        "level", "parent_level", "population_property"})
    return Preset(
        name=str(data.get("name", Path(where).stem)),
        table=table,
        description=str(data.get("description", "")),
        format=fmt,
        delimiter=delim,
        encoding=enc,
        quote=read.get("quote", '"'),
        escape=read.get("escape"),
        skip_rows=int(read.get("skip_rows", 0)),
        sheet=read.get("sheet"),
        trim=bool(read.get("trim", True)),
        time_formats=tuple(tsec.get("formats", ())),
        date_formats=tuple(tsec.get("date_formats", ())),
        timezone=tsec.get("timezone"),
        store_timezone=tsec.get("store_timezone"),
        columns=columns,
        oi_column=oi.get("column"),
        oi_values=tuple(str(v) for v in oi.get("values", ())),
        oi_regex=oi.get("regex"),
        duration_unit=unit,
        duration_anchor=anchor,
        durations=durations,
        order_tolerance=float(tolerance),
        unit_column=units.get("column"),
        unit_default_type=default_type,
        unit_rules=tuple(rules),
        unit_primary=primary.mode,
        unit_primary_rule=primary,
        unit_type_column=type_column,
        unit_type_map=tuple((str(k).strip().upper(), v) for k, v in type_map.items()),
        null_values=tuple(null_values),
        keep=keep,
        drop=drop,
        area_id_property=areas.get("id_property"),
        area_name_property=areas.get("name_property"),
        area_parent_property=areas.get("parent_property"),
        area_level=areas.get("level", "beat"),
        area_parent_level=areas.get("parent_level"),
        area_population_property=areas.get("population_property"),
        path=where,
    )


def load_preset_file(path: str | Path) -> Preset:
    """Read and check one preset file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputDataError("preset file not found", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputDataError(f"preset is not valid TOML: {exc}", file=str(path)) from None
    return parse_preset(data, where=str(path))


def list_presets() -> list[str]:
    """Names of the presets shipped in ``analytics/presets``."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def canonical_preset(table: str) -> Preset:
    """Columns already named as in PRODUCT.md section 2 (the ``canonical`` preset)."""
    spec = SPECS[table]
    base = load_preset_file(PRESET_DIR / "canonical.toml") if (
        PRESET_DIR / "canonical.toml").exists() else None
    cols = {c: Source(column=c) for c in spec.names}
    if base is None:
        return Preset(name="canonical", table=table, columns=cols, optional_sources=True)
    from dataclasses import replace

    return replace(base, table=table, columns=cols, optional_sources=True)


def load_preset(name: str, table: str | None = None) -> Preset:
    """A shipped preset by name; ``canonical`` adapts to ``table``."""
    if name == "canonical":
        return canonical_preset(table or "calls")
    path = PRESET_DIR / f"{name}.toml"
    if not path.exists():
        raise InputDataError(f"no preset named {name!r}; available: {', '.join(list_presets())}")
    return load_preset_file(path)


# -- writing ------------------------------------------------------------------------------
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_value(k)


def preset_to_toml(data: dict[str, Any]) -> str:
    """Serialise a preset dict (as accepted by :func:`parse_preset`) to TOML text."""
    lines = []
    for k, v in data.items():
        if not isinstance(v, dict):
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict) and v:
            lines.append("")
            lines.append(f"[{k}]")
            for kk, vv in v.items():
                lines.append(f"{_toml_key(kk)} = {_toml_value(vv)}")
    return "\n".join(lines) + "\n"


def save_preset(data: dict[str, Any], path: str | Path) -> Preset:
    """Check ``data`` as a preset and write it to ``path`` as TOML; return the parsed preset."""
    preset = parse_preset(data, where=str(path))
    Path(path).write_text(preset_to_toml(data), encoding="utf-8")
    return preset
