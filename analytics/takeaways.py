"""One-line takeaways for charts: what the chart shows, in words, from the same frame.

Every chart on screen carries one (PRODUCT.md section 1: a reader must get it in under a
minute, and a reader who cannot see the chart gets the same message). The sentences are
descriptive — largest, smallest, first and last values — never a claim of cause or
significance; those belong to the Evaluation page.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from analytics import labels


def fmt_value(value: Any, kind: labels.Kind) -> str:
    """A number as the screen shows it for its kind (shares as %, money in $, …)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    v = float(value)
    if kind == "share":
        return f"{v * 100:.1f} %"
    if kind == "percent":
        return f"{v:.1f} %"
    if kind == "money":
        return f"${v:,.0f}"
    if kind == "hours":
        return f"{v:,.0f} h" if abs(v) >= 100 else f"{v:,.1f} h"
    if kind == "minutes":
        return f"{v:.1f} min"
    if kind == "count":
        return f"{v:,.0f}"
    if kind == "z":
        return f"{v:+.2f}"
    return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"


def _when(value: Any) -> str:
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return f"{value:%b %Y}"
    return str(labels.value_label(value))


def trend(df: pd.DataFrame, x: str, y: str, *, kind: labels.Kind | None = None,
          what: str | None = None) -> str:
    """"<What> went from A in <first> to B in <last>; highest C in <when>." for a series."""
    d = df[[x, y]].dropna().sort_values(x)
    if d.empty:
        return f"No values of {(what or labels.label(y)).lower()} to show."
    k = kind or labels.kind(y)
    name = what or labels.label(y)
    first, last = d.iloc[0], d.iloc[-1]
    top = d.loc[d[y].idxmax()]
    text = (f"{name}: {fmt_value(first[y], k)} in {_when(first[x])}, "
            f"{fmt_value(last[y], k)} in {_when(last[x])}")
    if len(d) > 2:
        text += f"; highest {fmt_value(top[y], k)} in {_when(top[x])}"
    return text + "."


def ranking(df: pd.DataFrame, category: str, y: str, *, kind: labels.Kind | None = None,
            what: str | None = None) -> str:
    """"<What>: largest X (A), smallest Y (B), total T." for bars by category."""
    d = df[[category, y]].dropna()
    if d.empty:
        return f"No values of {(what or labels.label(y)).lower()} to show."
    d = d.groupby(category, as_index=False)[y].sum()
    k = kind or labels.kind(y)
    name = what or labels.label(y)
    top, low = d.loc[d[y].idxmax()], d.loc[d[y].idxmin()]
    if len(d) == 1:
        return f"{name}: {fmt_value(top[y], k)} ({_when(top[category])})."
    text = (f"{name}: largest {_when(top[category])} ({fmt_value(top[y], k)}), smallest "
            f"{_when(low[category])} ({fmt_value(low[y], k)})")
    if k in ("count", "hours", "money"):
        text += f"; total {fmt_value(d[y].sum(), k)}"
    return text + "."
