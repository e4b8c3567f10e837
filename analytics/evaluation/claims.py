"""The programme's own claims (PRODUCT.md section 4) as ready-made questions.

Each claim is answered on the current data with the recommended design: staggered
difference-in-differences (Callaway & Sant'Anna 2021) over beats and months, comparison
areas not yet or never served, every cell compared with the area's pre-period mean; counts
as a rate ratio (ratio of ratios), times as a difference in minutes. The verdict (key, and
its words from :mod:`analytics.evaluation.wording`) is

- "supported" — "Consistent with the programme's claim" — when the 95 % CI excludes no
  change and the effect goes the claimed way;
- "contradicted" — "Opposite to the claim" — when it excludes no change the other way;
- "not shown" — "Not shown — no clear change" — otherwise (the data cannot tell; the MDE
  says what could have been seen);
- "no data" — "No answer" — when the claim cannot be estimated.

Inference is at the level treatment was assigned (the district in the demo city), by
randomization inference with few districts (:mod:`analytics.evaluation.randomization`).
The four claims are a family: their p-values are adjusted by the Westfall–Young
step-down max-T over the joint randomization distribution (the same reassignments of
start dates applied to every claim; Westfall & Young 1993), with Holm's (1979) values
shown beside them, and the verdict needs the *adjusted* p-value below α as well as a CI
on the claimed side (:func:`family_adjustment`; Holm alone when the claims were not
inferred over the same assignments).

Two standing checks go with the claims:

- a **negative control**: an outcome the programme should not change (violent crime by
  default, :data:`NEGATIVE_CONTROL`), estimated the same way;
- a **placebo in time** for each claim: every start moved one year earlier, using only
  the months before the first real start (so no real effect can enter).

A significant check (unadjusted p < α: the checks err on the side of warning) adds a
warning to every claim.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics.core import options
from analytics.core.results import Result
from analytics.errors import CSOError, InsufficientDataError
from analytics.evaluation import wording
from analytics.evaluation._estimate import Estimate
from analytics.evaluation._format import fmt_p
from analytics.evaluation.analysis import REPORTING_CAVEAT, Analysis, analyse
from analytics.evaluation.did import Control
from analytics.evaluation.panel import Freq, Level, panel_from_metric
from analytics.evaluation.randomization import westfall_young
from analytics.filters import Filters

ClaimKey = Literal["minor_offences", "suspicious_reports", "sworn_time", "urgent_response"]
Verdict = Literal["supported", "not shown", "contradicted", "no data"]


@dataclass(frozen=True)
class Claim:
    """One programme claim: the question, the outcome that answers it, and its direction."""

    key: ClaimKey
    question: str
    claim: str
    metric: str
    direction: Literal[1, -1]
    level: Level = "beat"
    note: str = ""


CLAIMS: tuple[Claim, ...] = (
    Claim("minor_offences", "Did minor offences (petty theft, vandalism) fall where CSOs patrolled?",
          "minor offences fell where CSOs patrolled", "low_level_property", -1,
          note=REPORTING_CAVEAT),
    Claim("suspicious_reports", "Did reports of suspicious activity rise?",
          "reports of suspicious activity rose", "suspicious_calls", 1,
          note="More reports measure reporting (visibility, trust in CSOs), not more crime."),
    # Named apart from "sworn hours freed" (Offload) and the "uncommitted share of sworn
    # on-duty time" (Patrol time): this claim measures what officers did, not time freed.
    Claim("sworn_time", "Did sworn officers do more proactive (officer-initiated) work?",
          "sworn officers did more proactive work", "officer_initiated_calls", 1,
          note="Measured as officer-initiated (proactive) calls per beat and month — what "
               "officers did with their time. It is not the sworn hours freed (Workload & "
               "offload → Offload) nor the uncommitted share of sworn on-duty time (→ Patrol "
               "time); the rate per 100 sworn on-duty hours is available by district."),
    Claim("urgent_response", "Did urgent (priority 1–2) response times improve?",
          "urgent response times improved", "p12_median_response_min", -1,
          note="Beat-month medians of received → first arrival for public priority 1–2 calls."),
)
CLAIM_KEYS: tuple[str, ...] = tuple(c.key for c in CLAIMS)
#: The standing "should not change" outcome (planted null in the demo city).
NEGATIVE_CONTROL = "violent_crime"
#: How far the placebo-in-time moves every start back.
PLACEBO_SHIFT = pd.DateOffset(years=1)


def holm(p_values: list[float] | tuple[float, ...]) -> list[float]:
    """Holm (1979) step-down adjusted p-values (NaN entries left out and returned NaN).

    Sort the m finite p-values ascending; the k-th (1-based) gets
    ``max_{j ≤ k} min(1, (m − j + 1)·p_(j))``. Controls the family-wise error rate under
    any dependence.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out.tolist()
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adj)
    return out.tolist()


@dataclass(frozen=True, eq=False)
class Check(Result):
    """A standing check beside the claims (negative control or placebo in time)."""

    key: str
    label: str
    estimate: Estimate | None
    sentence: str

    @property
    def significant(self) -> bool:
        """True when the check's own (unadjusted) p-value is below α."""
        e = self.estimate
        return bool(e is not None and np.isfinite(e.p_value) and e.p_value < e.alpha)


@dataclass(frozen=True, eq=False)
class ClaimResult(Result):
    """A claim's verdict, its one-sentence answer and the analysis behind it."""

    claim: Claim
    verdict: Verdict
    sentence: str
    estimate: Estimate | None
    analysis: Analysis | None
    placebo: Check | None = None


def claim(key: str) -> Claim:
    """The :class:`Claim` with this key."""
    options.check("claim", key, ClaimKey)
    return next(c for c in CLAIMS if c.key == key)


def verdict_of(est: Estimate, direction: int) -> Verdict:
    """Supported / contradicted / not shown from the CI, the claimed direction and, when
    the claim was adjusted for multiplicity, the adjusted p-value (below α needed)."""
    null = 0.0
    lo, hi = est.ci_low, est.ci_high
    if est.scale == "ratio":
        null = 1.0
    if est.p_adjusted is not None and not est.significant:
        return "not shown"
    if lo > null:
        sign = 1
    elif hi < null:
        sign = -1
    else:
        return "not shown"
    return "supported" if sign == direction else "contradicted"


def answer_claim(
    backend_or_con: Any,
    key: ClaimKey,
    *,
    freq: Freq = "month",
    control: Control = "not_yet_treated",
    filters: Filters | None = None,
    placebo: bool = True,
) -> ClaimResult:
    """Answer one claim with the recommended design on the current data (unadjusted;
    :func:`answer_claims` adjusts the family and adds the checks' warnings)."""
    c = claim(key)
    try:
        panel = panel_from_metric(backend_or_con, c.metric, level=c.level, freq=freq,
                                  filters=filters)
        a = analyse(backend_or_con, c.metric, method="callaway_santanna", level=c.level,
                    freq=freq, control=control, filters=filters, full=False, panel=panel)
    except CSOError as exc:
        return ClaimResult(c, "no data", wording.no_answer_sentence(exc), None, None)
    pl = placebo_check(backend_or_con, c.metric, panel, freq=freq, control=control) \
        if placebo else None
    return _result(c, a.estimate, a, pl, ())


def _result(c: Claim, est: Estimate, a: Analysis, pl: Check | None,
            warnings: tuple[str, ...]) -> ClaimResult:
    v = verdict_of(est, c.direction)
    # every word from the wording module: verdict, "no clear change", adjusted p, MDE
    text = wording.claim_sentence(v, est, mde=wording.mde_text(a.mde))
    return ClaimResult(c, v, text, est, a, pl, caveats=warnings)


def _check_of(key: str, label: str, panel: pd.DataFrame, metric: str, backend_or_con: Any,
              freq: Freq, control: str) -> Check:
    try:
        a = analyse(backend_or_con, metric, method="callaway_santanna", freq=freq,
                    control=control, full=False, panel=panel)
    except CSOError as exc:
        return Check(key, label, None, f"{label}: not available ({exc}).")
    e = a.estimate
    return Check(key, label, e, f"{label}: {e.sentence()}")


def placebo_panel(panel: pd.DataFrame, shift: pd.DateOffset = PLACEBO_SHIFT) -> pd.DataFrame:
    """The panel for a placebo in time: every start moved back by ``shift`` and only the
    periods before the first real start kept (so no real effect can enter).

    Raises :class:`InsufficientDataError` when no fake start has a period before it.
    """
    real = panel["first_treated"].dropna()
    if real.empty:
        raise InsufficientDataError("no treated areas for a placebo")
    first_real = real.min()
    p = panel[panel["period"] < first_real].copy()
    if p.empty:
        raise InsufficientDataError("no periods before the first start")
    fake = pd.to_datetime(p["first_treated"]) - shift
    # a fake start after the kept window is "not treated" within it
    p["first_treated"] = fake.where(fake <= p["period"].max())
    p["treated"] = p["first_treated"].notna()
    p["post"] = p["treated"] & (p["period"] >= p["first_treated"])
    if not (p["first_treated"] > p["period"].min()).any():
        raise InsufficientDataError("no fake start has a period before it (too little data "
                                    "before the first real start)")
    return p


def placebo_check(backend_or_con: Any, metric: str, panel: pd.DataFrame, *,
                  freq: Freq = "month", control: str = "not_yet_treated") -> Check:
    """Placebo in time for one outcome: the claim's design with fake starts one year early."""
    label = "Placebo (every start one year earlier, data before the first real start only)"
    try:
        pp = placebo_panel(panel)
    except InsufficientDataError as exc:
        return Check("placebo", label, None, f"{label}: not available ({exc}).")
    return _check_of("placebo", label, pp, metric, backend_or_con, freq, control)


def negative_control(backend_or_con: Any, *, metric: str = NEGATIVE_CONTROL,
                     freq: Freq = "month", control: str = "not_yet_treated",
                     filters: Filters | None = None) -> Check:
    """The negative-control outcome (should not change) with the claims' design."""
    label = f"Negative control ({metric.replace('_', ' ')}: CSOs should not change it)"
    try:
        panel = panel_from_metric(backend_or_con, metric, freq=freq, filters=filters)
    except CSOError as exc:
        return Check("negative_control", label, None, f"{label}: not available ({exc}).")
    return _check_of("negative_control", label, panel, metric, backend_or_con, freq, control)


def answer_claims(backend_or_con: Any, *, freq: Freq = "month",
                  control: Control = "not_yet_treated",
                  filters: Filters | None = None,
                  negative_control_metric: str = NEGATIVE_CONTROL,
                  checks: bool = True) -> tuple[ClaimResult, ...]:
    """All four claims, in the order of :data:`CLAIMS`, adjusted as a family
    (:func:`family_adjustment`), each
    with its placebo and the warnings of any significant check (see the module docs).
    The negative control is :func:`negative_control`; ``checks=False`` skips both."""
    raw = [answer_claim(backend_or_con, c.key, freq=freq, control=control, filters=filters,
                        placebo=checks) for c in CLAIMS]
    answered = [r for r in raw if r.estimate is not None]
    adj, adjustment, holm_p = family_adjustment(answered)
    nc = (negative_control(backend_or_con, metric=negative_control_metric, freq=freq,
                           control=control, filters=filters) if checks else None)
    warn = check_warnings(nc, [r.placebo for r in raw])
    out = []
    for r in raw:
        if r.estimate is None or r.analysis is None:
            out.append(dataclasses.replace(r, caveats=warn))
            continue
        i = answered.index(r)
        pa = adj[i]
        details = r.estimate.details
        if holm_p is not None:
            details = (*details, ("p_holm", holm_p[i]))
        est = dataclasses.replace(r.estimate, p_adjusted=None if math.isnan(pa) else pa,
                                  adjustment=adjustment, details=details)
        out.append(_result(r.claim, est, r.analysis, r.placebo, warn))
    return tuple(out)


def family_adjustment(answered: list[ClaimResult]
                      ) -> tuple[list[float], str, list[float] | None]:
    """(adjusted p-values, what the adjustment was, Holm's p-values beside them or None).

    When every answered claim was inferred by randomization over the *same* assignments
    (same clusters, same start dates: equal :attr:`RIResult.keys`), the claims are adjusted
    by the Westfall–Young step-down max-T over that joint distribution
    (:func:`~analytics.evaluation.randomization.westfall_young`): it keeps the dependence
    between the claims and can reach the design's smallest p (1/24 with 4 districts),
    where Holm cannot go below m/24. Holm's values are returned beside it. Otherwise
    (different assignments, or no randomization inference) Holm alone.
    """
    ps = [r.estimate.p_value for r in answered if r.estimate is not None]
    holm_p = holm(ps)
    m = len(ps)
    ris = [r.analysis.randomization if r.analysis is not None else None for r in answered]
    joint = (m > 0 and all(x is not None and x.stats is not None and x.keys is not None
                           for x in ris)
             and all(x.keys == ris[0].keys for x in ris))
    if not joint:
        return holm_p, f"Holm, {m} claims", None
    wy = westfall_young([x.stats for x in ris], method="max_t")
    return wy, f"Westfall–Young step-down, {m} claims", holm_p


def check_warnings(nc: Check | None, placebos: list[Check | None]) -> tuple[str, ...]:
    """The warnings every claim carries when a standing check is significant."""
    warn = []
    if nc is not None and nc.significant and nc.estimate is not None:
        warn.append(f"Warning: the negative control changed ({fmt_p(nc.estimate.p_value)}) "
                    "although CSOs should not affect it — the comparison areas may not be a "
                    "fair counterfactual, so every claim is in doubt.")
    bad = [p for p in placebos if p is not None and p.significant]
    if bad:
        warn.append(f"Warning: {len(bad)} placebo test(s) with starts moved one year earlier "
                    "found an 'effect' where there can be none — trends before the start "
                    "differed, so every claim is in doubt.")
    return tuple(warn)
