"""SQL expressions that turn staged text columns into typed canonical columns.

Everything here builds SQL text plus bound parameters; nothing touches data row by row.
Source column names become quoted identifiers (checked to exist in the file's header);
every value that comes from a preset (regexes, formats, constants, value maps) is bound
as a parameter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from analytics.ingest._presets import DURATION_UNITS, Preset, RowCondition, Source
from analytics.ingest._spec import Column, TableSpec

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Params:
    """Named ``$pN`` parameters collected while building one statement."""

    values: dict[str, object] = field(default_factory=dict)

    def add(self, v: object) -> str:
        key = f"p{len(self.values) + 1}"
        self.values[key] = v
        return f"${key}"


@dataclass(frozen=True)
class Check:
    """One validation rule: rows where ``condition`` holds are rejected."""

    column: str  # source column label, for the report
    value_sql: str
    reason: str
    condition: str


@dataclass
class Plan:
    """The typed-stage SELECT list and the parse checks that go with it."""

    select: list[str]
    checks: list[Check]
    params: Params
    mapped: set[str]  # canonical columns with a source (or derived)
    inner: list[str] = field(default_factory=list)  # raw text columns computed once
    # (warning text, condition): counted over the kept rows (DST gap / repeated hour)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def stage_select(self) -> str:
        """The SELECT list of the typed stage: the columns plus one ``_chk{i}`` per check
        (the offending raw value where the check fails, else NULL)."""
        chk = [f"CASE WHEN {c.condition} THEN {c.value_sql} END AS _chk{i}"
               for i, c in enumerate(self.checks)]
        notes = [f"coalesce({cond}, false) AS _note{i}" for i, (_, cond) in enumerate(self.notes)]
        return ", ".join(self.select + chk + notes)

    def from_sql(self, source_sql: str) -> str:
        """``FROM`` clause: the source plus the raw text columns the SELECT list uses."""
        inner = ", ".join(["*", *self.inner])
        return f"(SELECT {inner} FROM ({source_sql}))"


def _trim(col_sql: str) -> str:
    """``trim(col)``, skipped for values it cannot change.

    DuckDB's ``trim`` strips the ASCII space and Unicode white space (never tabs or line
    breaks) and copies every value it touches; on a 16-column CSV it was about 40 % of
    the typing cost. A value needs it only if it starts or ends with a space or holds a
    non-ASCII character (``strlen`` counts bytes, ``length`` characters: they differ
    exactly then), so the common case keeps the value as read.
    """
    return (f"CASE WHEN starts_with({col_sql}, ' ') OR ends_with({col_sql}, ' ') "
            f"OR strlen({col_sql}) <> length({col_sql}) THEN trim({col_sql}) ELSE {col_sql} END")


def _text(src_sql: str, preset: Preset) -> str:
    """The source value as text: trimmed, and NULL for the empty string and for the
    preset's ``[read] null_values`` (case-insensitive). Markers come from the preset, so
    they are SQL literals escaped here (this expression is built without a Params)."""
    expr = f"NULLIF({_trim(src_sql)}, '')" if preset.trim else f"NULLIF({src_sql}, '')"
    if not preset.null_values:
        return expr
    markers = ", ".join(_lit(v.strip().upper()) for v in preset.null_values)
    return f"(CASE WHEN upper({expr}) IN ({markers}) THEN NULL ELSE {expr} END)"


def _lit(v: str) -> str:
    """A SQL string literal (quotes doubled)."""
    return "'" + v.replace("'", "''") + "'"


def _condition_sql(cond: RowCondition, preset: Preset, p: Params) -> str:
    """True where a ``[filter]`` condition holds (NULL values never match)."""
    col = _text(ident(cond.column), preset)
    if cond.regex is not None:
        return f"coalesce(regexp_matches({col}, {p.add(cond.regex)}), false)"
    vals = ", ".join(p.add(v.strip().upper()) for v in cond.values)
    return f"coalesce(upper({col}) IN ({vals}), false)"


def filter_sql(preset: Preset, p: Params) -> str | None:
    """True for rows the preset's ``[filter]`` keeps (every keep condition holds, no drop
    condition does); None when the preset has no filter."""
    if not (preset.keep or preset.drop):
        return None
    parts = [_condition_sql(c, preset, p) for c in preset.keep]
    parts += [f"NOT {_condition_sql(c, preset, p)}" for c in preset.drop]
    return " AND ".join(parts)


def raw_sql(src: Source, preset: Preset, p: Params) -> str:
    """The source value as trimmed text after regex, case and value-map rules."""
    if src.value is not None:
        return f"CAST({p.add(src.value)} AS VARCHAR)"
    if src.columns:
        parts = ", ".join(_text(ident(c), preset) for c in src.columns)
        expr = f"NULLIF(concat_ws({p.add(src.sep)}, {parts}), '')"
    else:
        expr = _text(ident(src.column or ""), preset)
    if src.regex:
        expr = f"NULLIF(trim(regexp_extract({expr}, {p.add(src.regex)}, 1)), '')"
    if src.upper:
        expr = f"upper({expr})"
    if src.lower:
        expr = f"lower({expr})"
    if src.map:
        whens = " ".join(f"WHEN {p.add(k.upper())} THEN {p.add(v)}" for k, v in src.map)
        # A value mapped to "" means missing (e.g. map = { "NULL" = "" }).
        expr = f"NULLIF(CASE upper({expr}) {whens} ELSE {expr} END, '')"
    return expr


def _tz(ts: str, preset: Preset, p: Params) -> str:
    """A naive time read in the preset's zone, as it is stored: the UTC instant
    (``store_utc``), else (a zone-less database) the wall clock of ``store_timezone``."""
    src, dst = preset.timezone, preset.store_timezone
    if preset.store_utc:
        zone = src or dst
        # Wall clock in the preset's zone → UTC instant (analytics.core.clock.utc_sql).
        return f"timezone('UTC', timezone({p.add(zone)}, {ts}))" if zone else ts
    if src and dst and src != dst:
        # Wall clock in `src` → instant → wall clock in `dst`.
        return f"timezone({p.add(dst)}, timezone({p.add(src)}, {ts}))"
    return ts


# A time followed by a UTC offset or a zone abbreviation: "…10:30:00Z", "…10:30+05:30",
# "…10:30:00 -0500", "…10:30 AM PST". Group 1 is the time without it, group 2 the offset.
# (A bare date such as 2024-03-10 never matches: the offset must follow h:mm.)
OFFSET_RE = (r"^(.*\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:\s*[AaPp][Mm])?)\s*"
             r"(Z|[+-]\d\d:?\d\d|[+-]\d\d|UTC|GMT|EST|EDT|CST|CDT|MST|MDT|PST|PDT|AKST|AKDT|HST)$")
ZONE_ABBREVIATIONS = {"Z": 0, "UTC": 0, "GMT": 0, "EST": -300, "EDT": -240, "CST": -360,
                      "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
                      "AKST": -540, "AKDT": -480, "HST": -600}


def _offset_minutes(off: str, p: Params) -> str:
    """SQL minutes east of UTC of an offset text (``+05:30``, ``-0500``, ``-05``, ``PST``)."""
    whens = " ".join(f"WHEN {p.add(k)} THEN {v}" for k, v in ZONE_ABBREVIATIONS.items())
    digits = f"replace(substr({off}, 2), ':', '')"
    numeric = (f"(CASE WHEN starts_with({off}, '-') THEN -1 ELSE 1 END) * "
               f"(CAST(left({digits}, 2) AS INTEGER) * 60 "
               f"+ CAST(coalesce(nullif(substr({digits}, 3), ''), '0') AS INTEGER))")
    return f"(CASE upper({off}) {whens} ELSE {numeric} END)"


def _local(ts: str, preset: Preset, p: Params) -> str:
    """A naive parsed time, read in the preset's zone, as the department's wall clock."""
    return _tz(ts, preset, p)


def _from_offset(naive_at_offset: str, minutes: str, preset: Preset, p: Params) -> str:
    """A time written with an explicit offset as it is stored: the UTC instant
    (``store_utc``, or no zone known), else the wall clock in the department's zone."""
    utc = f"({naive_at_offset} - to_minutes(CAST({minutes} AS BIGINT)))"
    dst = preset.store_timezone or preset.timezone
    if preset.store_utc or not dst:
        return utc
    return f"timezone({p.add(dst)}, timezone('UTC', {utc}))"


def _parse_ts(raw: str, formats: tuple[str, ...], p: Params) -> str:
    fmts = p.add(list(formats))
    # ISO text (from Excel/Parquet cells) is accepted whatever the preset's formats are.
    return f"coalesce(try_strptime({raw}, {fmts}), TRY_CAST({raw} AS TIMESTAMP))"


def _timestamp_sql(raw: str, formats: tuple[str, ...], preset: Preset, p: Params) -> str:
    """Typed timestamp (as stored: UTC, see :func:`_tz`) of a text value: an explicit
    offset or zone abbreviation is honoured; a naive value is read in the preset's zone."""
    pat = p.add(OFFSET_RE)
    base = f"regexp_extract({raw}, {pat}, 1)"
    off = f"regexp_extract({raw}, {pat}, 2)"
    aware = _from_offset(_parse_ts(base, formats, p), _offset_minutes(off, p), preset, p)
    naive = _local(_parse_ts(raw, formats, p), preset, p)
    return f"(CASE WHEN regexp_full_match({raw}, {pat}) THEN {aware} ELSE {naive} END)"


def dst_notes(ts_naive: str, preset: Preset, p: Params) -> tuple[str, str] | None:
    """SQL conditions (nonexistent, ambiguous) for a naive time in the preset's zone: in
    the spring-forward gap (the wall clock never happened) or in the repeated fall-back
    hour (it happened twice). None without a zone."""
    z = preset.timezone or (preset.store_timezone if preset.store_utc else None)
    if not z:
        return None
    zp = p.add(z)
    inst = f"timezone({zp}, {ts_naive})"
    gap = f"(timezone({zp}, {inst}) <> {ts_naive})"
    amb = (f"(timezone({zp}, {inst} - INTERVAL 1 HOUR) = {ts_naive} "
           f"OR timezone({zp}, {inst} + INTERVAL 1 HOUR) = {ts_naive})")
    return gap, amb


def typed_sql(col: Column, raw: str, preset: Preset, src: Source, p: Params) -> tuple[str, str]:
    """(typed expression, rejection reason when raw is present but typed is NULL)."""
    if col.kind == "timestamp":
        return _timestamp_sql(raw, preset.formats_for(src, "timestamp"), preset, p), \
            "unparseable time"
    if col.kind == "date":
        d = f"try_strptime({raw}, {p.add(list(preset.formats_for(src, 'date')))})"
        t = _parse_ts(raw, preset.formats_for(Source(), "timestamp"), p)
        return f"CAST(coalesce({d}, {t}) AS DATE)", "unparseable date"
    if col.kind == "int":
        d = f"TRY_CAST({raw} AS DOUBLE)"
        return (f"CAST(CASE WHEN {d} = round({d}) AND abs({d}) < 2e9 THEN {d} END AS {col.sql_type})",
                "not a whole number")
    if col.kind == "float":
        return f"TRY_CAST({raw} AS DOUBLE)", "not a number"
    if col.kind == "bool":
        t = ", ".join(p.add(w) for w in TRUE_WORDS)
        f = ", ".join(p.add(w) for w in FALSE_WORDS)
        return (f"(CASE WHEN lower({raw}) IN ({t}) THEN true WHEN lower({raw}) IN ({f}) "
                f"THEN false END)", "not true/false (yes/no, 1/0)")
    if col.kind == "enum":
        allowed = ", ".join(p.add(a) for a in col.allowed)
        return (f"(CASE WHEN lower({raw}) IN ({allowed}) THEN lower({raw}) END)",
                f"not one of {', '.join(col.allowed)}")
    return raw, ""


def _date_time_sql(src: Source, preset: Preset, p: Params, inner: list[str]) -> tuple[str, str]:
    d = _alias(inner, _text(ident(src.date or ""), preset))
    dfmt = [src.date_format] if src.date_format else list(preset.formats_for(Source(), "date"))
    dparse = (f"CAST(coalesce(try_strptime({d}, {p.add(dfmt)}), "
              f"try_strptime({d}, {p.add(list(preset.formats_for(Source(), 'timestamp')))})) AS DATE)")
    if not src.time:
        return f"CAST({dparse} AS TIMESTAMP)", d
    t = _alias(inner, _text(ident(src.time), preset))
    tfmt = [src.time_format] if src.time_format else ["%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p"]
    tparse = f"CAST(try_strptime({t}, {p.add(tfmt)}) AS TIME)"
    return f"({dparse} + {tparse})", f"concat_ws(' ', {d}, {t})"


DST_GAP = ("in the daylight-saving gap (that local time never happened): read as "
           "1 hour later, as the clocks had moved forward")
DST_REPEATED = ("in the repeated fall-back hour (that local time happened twice): read as "
                "the second occurrence, standard time")


def _note_dst(notes: list[tuple[str, str]], label: str, naive: str, raw: str | None,
              preset: Preset, p: Params) -> None:
    """Count naive times in the DST gap or the repeated hour of the preset's zone (values
    with an explicit offset are unambiguous and not counted)."""
    conds = dst_notes(naive, preset, p)
    if conds is None:
        return
    only_naive = f"NOT regexp_full_match({raw}, {p.add(OFFSET_RE)}) AND " if raw else ""
    gap, amb = conds
    notes.append((f"with {label} {DST_GAP}", f"{only_naive}{gap}"))
    notes.append((f"with {label} {DST_REPEATED}", f"{only_naive}{amb}"))


DST_AWARE_REPEATED = ("given with an offset but stored at a wall-clock time of the repeated "
                      "fall-back hour (read back as the second occurrence: durations from "
                      "the first occurrence are 1 hour off)")


def _note_aware_repeated(notes: list[tuple[str, str]], label: str, stored: str, raw: str,
                         preset: Preset, p: Params) -> None:
    """Count values with an explicit offset whose stored wall clock is ambiguous in the
    department's zone (the one case a wall-clock store, a zone-less database that already
    held times, cannot tell apart; UTC stores never need it)."""
    z = p.add(preset.store_timezone or preset.timezone)
    inst = f"timezone({z}, {stored})"
    amb = (f"(timezone({z}, {inst} - INTERVAL 1 HOUR) = {stored} "
           f"OR timezone({z}, {inst} + INTERVAL 1 HOUR) = {stored})")
    notes.append((f"with {label} {DST_AWARE_REPEATED}",
                  f"regexp_full_match({raw}, {p.add(OFFSET_RE)}) AND {amb}"))


def _alias(inner: list[str], expr: str) -> str:
    """Compute ``expr`` once in the inner SELECT; return the alias that names it."""
    name = f"_r{len(inner)}"
    inner.append(f"{expr} AS {name}")
    return name


def _plain(src: Source) -> bool:
    """The source is one column taken as it is (no regex, map, case, concatenation)."""
    return bool(src.column) and not (src.columns or src.date or src.time or src.regex
                                     or src.map or src.upper or src.lower
                                     or src.value is not None)


def reader_types(spec: TableSpec, preset: Preset, header: list[str]) -> tuple[dict[str, str], str | None]:
    """Source columns the CSV reader can type itself, and the timestamp format to give it.

    A fast path: DuckDB's CSV reader parses timestamps and numbers while it splits the
    lines, which is much cheaper than keeping them as text and parsing them in SQL.
    Only plain columns used once qualify: timestamps (all with the same single format,
    else ISO) and decimal numbers. Whole numbers stay text (the reader would round
    ``2.5`` into an integer column; the SQL path rejects it). If any value does not parse,
    the reader fails and the importer redoes the file on the text path, whose result
    is the same whenever the reader succeeds.
    """
    uses: Counter[str] = Counter()
    for src in preset.columns.values():
        uses.update(src.source_columns)
    for cols in preset.durations.values():
        uses.update(cols)
    uses.update(c for c in (preset.oi_column, preset.unit_column) if c)
    types: dict[str, str] = {}
    formats: set[tuple[str, ...]] = set()
    for col in spec.columns:
        src = preset.columns.get(col.name)
        if src is None or not _plain(src) or src.column not in header or uses[src.column] != 1:
            continue
        if col.kind == "timestamp":
            types[src.column] = "TIMESTAMP"
            formats.add(preset.formats_for(src, "timestamp"))
        elif col.kind == "float":
            types[src.column] = "DOUBLE"
    single = {f[0] for f in formats if len(f) == 1}
    fmt = single.pop() if len(single) == 1 and len(formats) == 1 else None
    if fmt is None or "%z" in fmt or "%Z" in fmt:
        # Without one explicit format the reader would parse ISO text itself and drop an
        # offset ("…Z", "+05:30") silently; such columns take the text path, which honours it.
        types = {c: t for c, t in types.items() if t != "TIMESTAMP"}
    return types, fmt


def build_plan(spec: TableSpec, preset: Preset, typed_sources: Mapping[str, str] | None = None) -> Plan:
    """SELECT list for the typed stage of ``spec`` under ``preset``.

    Output columns: every canonical column of ``spec`` (NULL or the default
    when unmapped), and for a per-unit CAD export ``unit_id``/``_unit_type``/``_unit_rule``.
    ``typed_sources``: source columns the reader already typed (see :func:`reader_types`);
    they are used as they are and need no parse check.
    """
    typed_sources = typed_sources or {}
    p = Params()
    select: list[str] = []
    inner: list[str] = []
    checks: list[Check] = []
    mapped: set[str] = set()
    typed: dict[str, str] = {}
    notes: list[tuple[str, str]] = []
    for col in spec.columns:
        src = preset.columns.get(col.name)
        if src is None:
            continue
        mapped.add(col.name)
        label = src.label()
        if src.column in typed_sources and _plain(src):
            expr = ident(src.column or "")
            if col.kind == "timestamp":
                _note_dst(notes, label, expr, None, preset, p)
                expr = _tz(expr, preset, p)
            raw, reason = expr, ""
        elif col.kind == "timestamp" and src.date:
            expr, raw = _date_time_sql(src, preset, p, inner)
            _note_dst(notes, label, expr, None, preset, p)
            expr = _tz(expr, preset, p)
            reason = "unparseable time"
        else:
            raw = raw_sql(src, preset, p)
            if col.kind != "text":
                raw = _alias(inner, raw)
            expr, reason = typed_sql(col, raw, preset, src, p)
            if col.kind == "timestamp" and (preset.timezone or preset.store_utc):
                naive = _parse_ts(raw, preset.formats_for(src, "timestamp"), p)
                _note_dst(notes, label, naive, raw, preset, p)
            if (col.kind == "timestamp" and not preset.store_utc
                    and (preset.store_timezone or preset.timezone)):
                _note_aware_repeated(notes, label, expr, raw, preset, p)
        typed[col.name] = expr
        if reason:
            checks.append(Check(label, raw, reason, f"({raw}) IS NOT NULL AND ({expr}) IS NULL"))
        select.append(f"{expr} AS {ident(col.name)}")
    # Durations-only exports: timestamp = anchor + sum of duration columns.
    factor = DURATION_UNITS[preset.duration_unit]
    for name, cols in preset.durations.items():
        anchor = typed[preset.duration_anchor]
        nums = []
        for c in cols:
            raw = _alias(inner, _text(ident(c), preset))
            num = f"TRY_CAST({raw} AS DOUBLE)"
            checks.append(Check(c, raw, f"not a number ({preset.duration_unit})",
                                f"{raw} IS NOT NULL AND {num} IS NULL"))
            nums.append(num)
        total = " + ".join(nums)
        expr = (f"({anchor}) + to_microseconds(CAST(round(({total}) * {factor} * 1000000) "
                f"AS BIGINT))")
        mapped.add(name)
        typed[name] = expr
        select.append(f"{expr} AS {ident(name)}")
    if preset.oi_column and "self_initiated" in spec.names and "self_initiated" not in typed:
        col = _text(ident(preset.oi_column), preset)
        conds = []
        if preset.oi_values:
            vals = ", ".join(p.add(v.upper()) for v in preset.oi_values)
            conds.append(f"upper({col}) IN ({vals})")
        if preset.oi_regex:
            conds.append(f"regexp_matches({col}, {p.add(preset.oi_regex)})")
        expr = f"coalesce({' OR '.join(conds) or 'false'}, false)"
        typed["self_initiated"] = expr
        mapped.add("self_initiated")
        select.append(f"{expr} AS self_initiated")
        if "source" in spec.names and "source" not in typed:
            mapped.add("source")
            typed["source"] = f"CASE WHEN {expr} THEN 'officer_initiated' END"
            select.append(f"{typed['source']} AS source")
    for col in spec.columns:  # unmapped: NULL of the right type, or the table's default
        if col.name not in typed:
            default = spec.defaults.get(col.name, "NULL")
            select.append(f"CAST({default} AS {col.sql_type}) AS {ident(col.name)}")
    if preset.per_unit:
        uid = _text(ident(preset.unit_column or ""), preset)
        whens = []
        for r in preset.unit_rules:
            if r.prefix:
                whens.append(f"WHEN starts_with(upper({uid}), {p.add(r.prefix.upper())}) "
                             f"THEN {p.add(r.type)}")
            else:
                whens.append(f"WHEN regexp_matches({uid}, {p.add(r.regex)}) THEN {p.add(r.type)}")
        rule = f"CASE {' '.join(whens)} END" if whens else "CAST(NULL AS VARCHAR)"
        select.append(f"{uid} AS unit_id")
        select.append(f"{rule} AS _unit_rule")
        typed_from_column = "CAST(NULL AS VARCHAR)"
        if preset.unit_type_column:
            tcol = _text(ident(preset.unit_type_column), preset)
            tw = " ".join(f"WHEN {p.add(k)} THEN {p.add(v)}" for k, v in preset.unit_type_map)
            typed_from_column = f"(CASE upper({tcol}) {tw} END)" if tw else typed_from_column
        select.append(f"{typed_from_column} AS _unit_mapped")
        # Unit type: the type column's value through type_map, else the id rules, else
        # the default (each fallback counted as a warning).
        select.append(f"coalesce({typed_from_column}, {rule}, "
                      f"{p.add(preset.unit_default_type)}) AS _unit_type")
        rule_p = preset.unit_primary_rule
        if rule_p.mode == "column" and rule_p.column:
            pcol = _text(ident(rule_p.column), preset)
            vals = ", ".join(p.add(v.strip().upper()) for v in rule_p.values)
            select.append(f"coalesce(upper({pcol}) IN ({vals}), false) AS _primary_flag")
        mapped.add("unit_id")
    keep = filter_sql(preset, p)
    if keep is not None:
        select.append(f"({keep}) AS _keep")
    return Plan(select=select, checks=checks, params=p, mapped=mapped, inner=inner, notes=notes)
