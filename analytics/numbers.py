"""Small numeric helpers shared by the metric modules."""

from __future__ import annotations

import math
from typing import Any


def as_float(v: Any) -> float | None:
    """A plain float, or None for missing, NaN or non-numeric values (NULL from SQL)."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f
