"""Calls for service: the filtered calls relation and the response-time validity rule.

The valid-response rule and its cap are written here once; response times, the Overview,
the maps, the offload KPIs and the evaluation panels all use it (PRODUCT.md section 3,
docs/metrics.md "Response time").

Segments (seconds in ``call_facts``; "first" = the earliest over *all* units):

======================  ==============================================  ================
segment                 from → to                                       column
======================  ==============================================  ================
``queue``               received → first dispatched                     ``queue_s``
``travel``              first dispatched → first arrived                ``travel_s``
``total``               received → first arrived                        ``total_s``
``sworn_total``         received → first *sworn* unit arrived           ``sworn_total_s``
======================  ==============================================  ================

**Each segment is judged on its own** (issue 15 item 4): a call counts for a segment
whenever that segment's two endpoints exist and are in order, whatever the other
segments say. A call with no dispatch time still has a total; a call whose unit never
arrived still has a queue. Per segment the exclusion steps are, in this order (a call
is counted at the first step that excludes it):

1. ``officer_initiated`` — the call was self-initiated (no member of the public waited);
2. ``no_arrival`` — an endpoint of the segment is missing (for ``total`` and ``travel``
   the arrival, for ``queue`` the dispatch, for ``sworn_total`` a sworn arrival);
3. ``out_of_order`` — the segment is negative (its end is recorded before its start);
4. ``above_cap`` — the segment is longer than the cap (default 24 h, configurable):
   stale or mistyped records, not response times.

Exclusions are therefore counted per segment: a call can be kept for its total and
excluded from its queue.
"""

from __future__ import annotations

from typing import Any, Literal

import ibis

from analytics.core.options import check, choices
from analytics.errors import OptionError
from analytics.filters import Filters

Segment = Literal["queue", "travel", "total", "sworn_total"]
SEGMENTS: tuple[Segment, ...] = choices(Segment)
ExclusionStep = Literal["officer_initiated", "no_arrival", "out_of_order", "above_cap"]
EXCLUSION_KEYS: tuple[ExclusionStep, ...] = choices(ExclusionStep)
EXCLUSION_LABELS: dict[str, str] = {
    "officer_initiated": "Officer-initiated (no public wait)",
    "no_arrival": "Missing time (no arrival; for the queue, no dispatch)",
    "out_of_order": "Out of order (segment ends before it starts)",
    "above_cap": "Above the cap",
}
KEPT = "kept"

#: The response-time cap in minutes (24 h). The one default every caller uses.
RESPONSE_CAP_MIN = 24 * 60.0
#: The largest cap a user can choose on the Response times page (7 days); the per-day
#: histograms (analytics.response_hist) hold every kept time up to it.
MAX_CAP_MIN = 7 * 24 * 60.0


def calls(backend: Any, filters: Filters | None = None) -> ibis.Table:
    """``call_facts`` (one row per call) with the global filters applied."""
    return (filters or Filters()).apply(backend.table("call_facts"))


def check_cap(cap_min: float) -> None:
    """Raise ``OptionError`` unless the cap is a positive number of minutes."""
    if not cap_min > 0:
        raise OptionError(f"response-time cap must be above 0 minutes; got {cap_min}")


def segment_seconds(t: ibis.Table, segment: Segment) -> ibis.Value:
    """The segment's raw duration in seconds (NULL when an endpoint is missing)."""
    check("segment", segment, Segment)
    return t[f"{segment}_s"]


def _exclusion_rules(t: ibis.Table, segment: Segment,
                     cap_min: float) -> list[tuple[ibis.Value, ExclusionStep]]:
    """The exclusion steps for ``segment`` in their order (:data:`EXCLUSION_KEYS`), each
    with the condition that excludes a call at it: the rule, written once."""
    check_cap(cap_min)
    s = segment_seconds(t, segment)
    rules = [(t.self_initiated, "officer_initiated"), (s.isnull(), "no_arrival"),
             (s < 0, "out_of_order"), (s > cap_min * 60.0, "above_cap")]
    assert tuple(name for _, name in rules) == EXCLUSION_KEYS
    return rules


def exclusion_step(t: ibis.Table, segment: Segment = "total",
                   cap_min: float = RESPONSE_CAP_MIN) -> ibis.Value:
    """The first exclusion step that applies to the call for ``segment``, else ``"kept"``."""
    return ibis.cases(*_exclusion_rules(t, segment, cap_min), else_=KEPT)


def exclusion_code(t: ibis.Table, segment: Segment = "total",
                   cap_min: float = RESPONSE_CAP_MIN) -> ibis.Value:
    """:func:`exclusion_step` as a small integer: ``i + 1`` for the i-th step of
    :data:`EXCLUSION_KEYS`, 0 for a kept call (:func:`exclusion_name` turns it back).
    Grouping millions of calls by it is cheaper than by the step's name."""
    rules = _exclusion_rules(t, segment, cap_min)
    return ibis.cases(*((cond, i + 1) for i, (cond, _) in enumerate(rules)),
                      else_=0).cast("int8")


def exclusion_name(code: ibis.Value) -> ibis.Value:
    """The step name of an :func:`exclusion_code`."""
    return ibis.cases(*((code == i + 1, name) for i, name in enumerate(EXCLUSION_KEYS)),
                      else_=KEPT)


def is_valid(t: ibis.Table, segment: Segment = "total",
             cap_min: float = RESPONSE_CAP_MIN) -> ibis.Value:
    """True for a call kept for ``segment`` (public, both endpoints, in order, ≤ cap)."""
    check_cap(cap_min)
    s = segment_seconds(t, segment)
    return ~t.self_initiated & s.notnull() & (s >= 0) & (s <= cap_min * 60.0)


def valid_calls(t: ibis.Table, segment: Segment = "total",
                cap_min: float = RESPONSE_CAP_MIN) -> ibis.Table:
    """The calls of ``t`` kept for ``segment``."""
    return t.filter(is_valid(t, segment, cap_min))
