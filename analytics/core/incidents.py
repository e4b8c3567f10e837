"""Crime incidents and the incident-dating rule (written once).

**Dating rule**: an incident is dated by when it *occurred* (``occurred_at``); when the
occurrence time is missing — common in RMS exports for reports of past property crime —
by when it was *reported* (``reported_at``). An incident with neither is undated and is
never counted in a dated figure. Every page, map, panel and claim uses this rule
(docs/metrics.md, "Crime incidents").

Incidents are never filtered by call priority or call category (calls and crimes are
different things, PRODUCT.md section 3): only the date and area filters apply.
"""

from __future__ import annotations

from typing import Any

import ibis

from analytics.core import clock
from analytics.filters import Filters

DATED_AT = "dated_at"


def dated_at(t: ibis.Table) -> ibis.Value:
    """The incident's local date-time under the dating rule (occurrence, else report;
    stored as UTC instants, shown and grouped in the department's zone)."""
    return clock.local(ibis.coalesce(t.occurred_at, t.reported_at))


def incidents(backend: Any, filters: Filters | None = None, *,
              use_dates: bool = True) -> ibis.Table:
    """``incidents`` with ``dated_at`` and the date/area filters applied.

    ``use_dates=False`` keeps every date (a caller applying its own windows); undated
    incidents are dropped only when a date restriction applies.
    """
    t = backend.table("incidents")
    t = t.mutate(**{DATED_AT: dated_at(t)})
    f = filters or Filters()
    if not use_dates:
        f = f.with_(start=None, end=None)
    return f.apply(t, time_col=DATED_AT, priority_col=None, category_col=None)
