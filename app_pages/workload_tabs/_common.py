"""Labels and number formats shared by the Workload page's tabs."""

from __future__ import annotations

UNIT_LABELS = {"sworn": "Sworn", "cso": "CSO", "other": "Other"}
AREA_LABELS = {"all": "All areas", "treated": "Treated beats (CSO deployed on the call's day)",
               "untreated": "Untreated beats"}


def fmt_pct(v: float | None) -> str:
    """A share as a percentage with one decimal (— when missing)."""
    return "—" if v is None else f"{v * 100:.1f} %"


def fmt_hours(v: float | None) -> str:
    """Hours with thousands separators (thousands of hours above 100,000; — when missing)."""
    if v is None:
        return "—"
    return f"{v / 1000:,.0f}k h" if abs(v) >= 100_000 else f"{v:,.0f} h"
