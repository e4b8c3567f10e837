"""Human labels, units and number formats for what the screen shows (PRODUCT.md section 1:
a council member must be able to read every table).

Analytics frames keep machine names (``handled_calls``, ``untapped_sworn_hours_per_week``);
downloads keep them too. On screen, every column, axis and legend goes through this
module: :func:`label` gives the words and unit, :func:`kind` the way the number is shown,
:func:`display_frame` a copy of a frame ready for the screen (shares as percentages,
True/False as Yes/No, sensible rounding). One place, so the same name always reads the
same on every page.

Kinds and how they show:

- ``count`` — whole number with thousands separators;
- ``share`` — a fraction 0–1 shown as a percentage with one decimal;
- ``percent`` — already 0–100, shown with one decimal and "%";
- ``hours`` / ``minutes`` — one decimal; ``money`` — dollars with thousands separators;
- ``z`` — signed, two decimals; ``ratio`` — two decimals; ``number`` — two decimals;
- ``p_value`` — a p- or q-value, two significant figures (never rounded to 0);
- ``bool`` — Yes / No; ``date`` / ``datetime`` / ``text`` — as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

import pandas as pd

from analytics.core import options

Kind = Literal["count", "share", "percent", "hours", "minutes", "money", "z", "ratio",
               "number", "p_value", "bool", "date", "datetime", "text"]
KINDS: tuple[Kind, ...] = options.choices(Kind)

YES, NO = "Yes", "No"

#: Explicit labels (and kinds) for names whose words the rules below would get wrong or
#: that need their definition in the label. Everything else is derived by :func:`humanize`.
LABELS: dict[str, tuple[str, Kind]] = {
    # areas and time
    "area": ("Area", "text"), "area_id": ("Area", "text"), "district": ("District", "text"),
    "beat": ("Beat", "text"), "level": ("Area level", "text"), "name": ("Name", "text"),
    "month": ("Month", "date"), "week": ("Week (Monday)", "date"), "day": ("Day", "date"),
    "hour": ("Hour of day (0–23)", "count"), "weekday_name": ("Weekday", "text"),
    "period": ("Period", "text"), "partial": ("Month only partly in the period", "bool"),
    "start_date": ("Start date", "date"), "end_date": ("End date", "date"),
    "periods": ("Deployment periods", "text"), "cso_count": ("CSOs deployed", "count"),
    # calls and units
    "calls": ("Calls", "count"), "n": ("Count behind the value", "count"),
    "call_type": ("Call type", "text"), "cso_tier": ("CSO tier", "text"),
    "priority": ("Priority", "text"), "unit_type": ("Unit type", "text"),
    "primary_unit_type": ("Primary unit type", "text"),
    "unit_hours": ("Committed unit-hours (h)", "hours"),
    "units_per_call": ("Units per call", "ratio"),
    "unit_hours_per_call": ("Unit-hours per call (h)", "hours"),
    "mean_units_committed": ("Units committed (average)", "ratio"),
    # offload
    "public_calls": ("Public calls", "count"), "eligible_calls": ("CSO-eligible calls", "count"),
    "eligible_dispatched_calls": ("Eligible calls with a unit", "count"),
    "cso_primary_calls": ("CSO-primary calls", "count"),
    "handled_calls": ("CSO-handled calls", "count"),
    "diverted_calls": ("Diverted calls (no sworn unit)", "count"),
    "backup_calls": ("CSO calls with sworn backup", "count"),
    "untapped_calls": ("Untapped eligible calls (sworn only)", "count"),
    "untapped_sworn_hours": ("Sworn hours on untapped calls (h)", "hours"),
    "handled_cso_hours": ("CSO hours on CSO-handled calls (h)", "hours"),
    "handled_sworn_hours": ("Sworn hours on CSO-handled calls (h)", "hours"),
    "freed_calls": ("CSO-handled calls with a pre-period match", "count"),
    "no_baseline_calls": ("CSO-handled calls without a pre-period match", "count"),
    "counterfactual_mean_h": ("Expected sworn hours, pre-period average (h)", "hours"),
    "counterfactual_median_h": ("Expected sworn hours, pre-period median (h)", "hours"),
    "actual_sworn_h": ("Sworn hours actually spent (h)", "hours"),
    "handled_share": ("CSO-handled share of eligible calls", "share"),
    "handled_share_dispatched": ("CSO-handled share of eligible calls with a unit", "share"),
    "cso_primary_share_public": ("CSO-primary share of all public calls", "share"),
    "diverted_share": ("Diverted share of eligible calls", "share"),
    "backup_rate": ("Sworn backup rate of CSO calls", "share"),
    "untapped_share": ("Untapped share of eligible calls", "share"),
    "sworn_hours_freed": ("Sworn hours freed (h)", "hours"),
    "sworn_hours_freed_low": ("Sworn hours freed, low (h)", "hours"),
    "sworn_hours_freed_high": ("Sworn hours freed, high (h)", "hours"),
    "sworn_hours_freed_median_based": ("Sworn hours freed, median-based (h)", "hours"),
    "untapped_sworn_hours_per_week": ("Untapped sworn hours per week (h)", "hours"),
    "expected_sworn_hours_freed_per_week": ("Sworn hours CSOs could free per week (h)",
                                            "hours"),
    "cost_per_call": ("Cost per call ($)", "money"), "item": ("Item", "text"),
    "hours_low": ("Hours, low (h)", "hours"), "hours": ("Hours (h)", "hours"),
    "hours_high": ("Hours, high (h)", "hours"), "value_low": ("Value, low ($)", "money"),
    "value_high": ("Value, high ($)", "money"),
    # staffing, patrol time
    "utilization": ("Utilization (committed ÷ on duty)", "share"),
    "above_rule_of_60": ("Above 60 %", "bool"),
    "on_duty_hours": ("On-duty hours (h)", "hours"),
    "committed_hours": ("Committed hours (h)", "hours"),
    "uncommitted_share": ("Uncommitted share of sworn on-duty time", "share"),
    "uncommitted_sworn_hours": ("Uncommitted sworn hours (h)", "hours"),
    "self_initiated_per_100_on_duty_h": ("Officer-initiated calls per 100 sworn on-duty hours",
                                         "ratio"),
    "self_initiated_calls": ("Officer-initiated calls", "count"),
    # crime
    "incidents": ("Incidents", "count"), "offense_category": ("Offense category", "text"),
    "rate_per_100k": ("Incidents per 100,000 residents", "ratio"),
    "crimes": ("Crime incidents", "count"), "crimes_last_year": ("Crimes, a year earlier", "count"),
    "crimes_poisson_z": ("Poisson z (crimes)", "z"), "z": ("Poisson z", "z"),
    "crimes_exact_p": ("Exact p (crimes)", "p_value"), "p_exact": ("Exact p", "p_value"),
    "crimes_bh_q": ("BH q over districts (crimes)", "p_value"),
    "q_bh": ("BH q (this table)", "p_value"),
    "crimes_flagged": ("Notable crime change (BH q < 0.0027)", "bool"),
    "flagged": ("Notable (BH q < 0.0027)", "bool"),
    "pct": ("Change (%)", "percent"), "small": ("Too few to read", "bool"),
    # overview
    "cso_share_pct": ("CSO-handled share (%)", "percent"),
    "p1_median_min": ("P1 median response (min)", "minutes"),
    # activities
    "activity_type": ("Activity type", "text"), "patrol_hours": ("Patrol hours (h)", "hours"),
    "contacts": ("People reached", "count"),
    # data page
    "areas": ("Areas", "count"), "with_polygon": ("With a boundary", "count"),
    "step": ("Step", "text"), "label": ("Step", "text"), "share": ("Share", "share"),
}

# Words that are abbreviations or units when they appear as a part of a name.
_TOKENS = {
    "cso": "CSO", "csos": "CSOs", "id": "ID", "p1": "P1", "p2": "P2", "p12": "P1–2",
    "p50": "P50", "p90": "P90", "pct": "%", "min": "(min)", "h": "(h)", "s": "(s)",
    "usd": "($)", "100k": "100,000", "kpi": "KPI", "ytd": "year to date", "n": "number of",
    "stl": "STL", "ci": "CI", "se": "SE", "att": "ATT", "did": "DiD", "its": "ITS",
    "wdd": "WDD", "mde": "MDE", "rt": "response time", "pre": "pre-period",
}
_UNIT_SUFFIX = {"(min)", "(h)", "(s)", "($)", "%"}
SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")


def humanize(name: str) -> str:
    """Words for a machine name by rule: ``median_total_min`` → "Median total (min)"."""
    parts = [p for p in str(name).split("_") if p]
    words = [_TOKENS.get(p.lower(), p) for p in parts]
    units = [w for w in words if w in _UNIT_SUFFIX]
    body = [w for w in words if w not in _UNIT_SUFFIX]
    text = " ".join(body) or str(name)
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    return text + (" " + " ".join(units) if units else "")


def _kind_by_rule(name: str) -> Kind:
    n = str(name).lower()
    if n.endswith("_pct") or n.startswith("pct_"):
        return "percent"
    if n.endswith(("_share", "_rate")) or n in ("share", "rate"):
        return "share"
    if n.endswith(("_min", "_minutes")):
        return "minutes"
    if n.endswith(("_h", "_hours")):
        return "hours"
    if "cost" in n or n.endswith(("_usd", "_dollars")):
        return "money"
    if n == "z" or n.endswith("_z"):
        return "z"
    if n.endswith(("_calls", "_count", "_incidents")) or n.startswith("n_"):
        return "count"
    if n.endswith(("_at", "_date")):
        return "date"
    return "number"


def label(name: str) -> str:
    """The on-screen words (with unit) for a column, axis or legend named ``name``."""
    hit = LABELS.get(str(name))
    return hit[0] if hit else humanize(name)


def kind(name: str, series: pd.Series | None = None) -> Kind:
    """How the values of ``name`` are shown; the dtype decides for booleans and text."""
    if series is not None:
        if pd.api.types.is_bool_dtype(series):
            return "bool"
        if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(
                series):
            return "datetime" if str(name) not in LABELS else LABELS[str(name)][1]
        if not pd.api.types.is_numeric_dtype(series):
            non_null = series.dropna()
            if len(non_null) and all(isinstance(v, bool) for v in non_null):
                return "bool"
            return LABELS[str(name)][1] if str(name) in LABELS and LABELS[str(name)][1] in (
                "date", "datetime", "text") else "text"
    hit = LABELS.get(str(name))
    return hit[1] if hit else _kind_by_rule(name)


#: Words for coded values that appear in tables, axes and legends.
VALUE_LABELS: dict[str, str] = {
    "sworn": "Sworn", "cso": "CSO", "other": "Other",
    "cso_only": "CSO only", "cso_with_backup": "CSO with sworn backup",
    "co_response": "Co-response (CSO and sworn)", "sworn_only": "Sworn only",
    "quality_of_life": "Quality of life", "uncategorised": "Uncategorised",
    "treated": "Treated areas", "untreated": "Untreated areas",
    "before": "Before", "after": "After", "beat": "Beat", "district": "District",
}
#: Columns whose values are codes (shown through :func:`value_label`).
CODED_COLUMNS = frozenset({
    "unit_type", "primary_unit_type", "cso_tier", "activity_type", "offense_category",
    "level", "period", "tier", "source", "variable", "measure", "step", "metric",
    "category", "field", "old_value", "new_value",
    # tables that a metric module already labelled for the screen
    "Offense category", "Category", "Metric",
})


def value_label(value: object) -> object:
    """Words for a coded value (``cso_only`` → "CSO only"); other values unchanged."""
    if not isinstance(value, str):
        return value
    if value in VALUE_LABELS:
        return VALUE_LABELS[value]
    if value and value == value.lower() and "." not in value and "/" not in value:
        return humanize(value)  # a lower-case code ("property", "foot_patrol") in words
    return value


def relabel_values(df: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A copy of ``df`` with coded values in words, for charts (legends and categories).

    ``columns`` default: the columns in :data:`CODED_COLUMNS`.
    """
    out = df.copy()
    cols = CODED_COLUMNS if columns is None else set(columns)
    for col in out.columns:
        if col in cols and not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(value_label)
    return out


def wide(df: pd.DataFrame, columns: Iterable[str]) -> tuple[pd.DataFrame, list[str]]:
    """``df`` with ``columns`` renamed to their labels, for a wide-form chart whose legend
    shows the column names (plotly express ``y=[...]``); returns the frame and new names."""
    names = {c: label(c) for c in columns}
    return df.rename(columns=names), list(names.values())


def labels_for(names: Iterable[str]) -> dict[str, str]:
    """``{name: label}`` for chart ``labels=`` arguments (plotly express)."""
    return {str(n): label(n) for n in names}


def yes_no(value: object) -> object:
    """True/False as words; anything else unchanged (missing stays missing)."""
    if value is True:
        return YES
    if value is False:
        return NO
    return value


def display_frame(df: pd.DataFrame, keep: Iterable[str] = ()
                  ) -> tuple[pd.DataFrame, dict[str, Kind]]:
    """A copy of ``df`` for the screen and the kind of each column.

    Shares (0–1) become percentages (0–100, one decimal); booleans become Yes/No; hours,
    minutes and ratios are rounded to one or two decimals; money to whole dollars. Column
    names are unchanged (pages show :func:`label` as the header), so the download of the
    original frame keeps its machine names. Columns named in ``keep`` (a page formats them
    itself) keep their values.
    """
    out = df.copy()
    kinds: dict[str, Kind] = {}
    keep = set(keep)
    for col in out.columns:
        k = kind(col, out[col])
        kinds[str(col)] = k
        s = out[col]
        if col in keep:
            continue
        if k == "bool":
            out[col] = s.map(yes_no).astype(object)
        elif k == "text" and col in CODED_COLUMNS:
            out[col] = s.map(value_label)
        elif k == "share" and pd.api.types.is_numeric_dtype(s):
            out[col] = (s.astype(float) * 100.0).round(1)
        elif k in ("percent", "hours", "minutes") and pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype(float).round(1)
        elif k in ("ratio", "number", "z") and pd.api.types.is_float_dtype(s):
            out[col] = s.round(2)
        elif k == "money" and pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype(float).round(0)
    return out, kinds


def is_snake_case(text: str) -> bool:
    """True when ``text`` contains a machine name (``handled_calls``) a reader should not see."""
    return bool(SNAKE.search(str(text)))
