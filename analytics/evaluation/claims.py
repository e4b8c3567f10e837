"""The programme's own claims (PRODUCT.md section 4) as ready-made questions.

Each claim is answered on the current data with the recommended design: staggered
difference-in-differences (Callaway & Sant'Anna 2021) over beats and months, comparison
areas not yet or never served, every cell compared with the area's pre-period mean; counts
as a rate ratio (ratio of ratios), times as a difference in minutes. The verdict is

- "supported" when the 95 % CI excludes no change and the effect goes the claimed way;
- "contradicted" when it excludes no change the other way;
- "not shown" otherwise (the data cannot tell; the MDE says what could have been seen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from analytics.errors import CSOError, check_option
from analytics.evaluation._estimate import Estimate
from analytics.evaluation.analysis import REPORTING_CAVEAT, Analysis, analyse
from analytics.evaluation.panel import Freq, Level
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


@dataclass(frozen=True, eq=False)
class ClaimResult:
    """A claim's verdict, its one-sentence answer and the analysis behind it."""

    claim: Claim
    verdict: Verdict
    sentence: str
    estimate: Estimate | None
    analysis: Analysis | None


def claim(key: str) -> Claim:
    """The :class:`Claim` with this key."""
    check_option("claim", key, CLAIM_KEYS)
    return next(c for c in CLAIMS if c.key == key)


def verdict_of(est: Estimate, direction: int) -> Verdict:
    """Supported / contradicted / not shown from the CI and the claimed direction."""
    null = 0.0
    lo, hi = est.ci_low, est.ci_high
    if est.scale == "ratio":
        null = 1.0
    if lo > null:
        sign = 1
    elif hi < null:
        sign = -1
    else:
        return "not shown"
    return "supported" if sign == direction else "contradicted"


_PREFIX = {"supported": "Supported", "not shown": "Not shown", "contradicted": "Contradicted",
           "no data": "No answer"}


def answer_claim(
    backend_or_con: Any,
    key: ClaimKey,
    *,
    freq: Freq = "month",
    control: Literal["never_treated", "not_yet_treated"] = "not_yet_treated",
    filters: Filters | None = None,
) -> ClaimResult:
    """Answer one claim with the recommended design on the current data."""
    c = claim(key)
    try:
        a = analyse(backend_or_con, c.metric, method="callaway_santanna", level=c.level,
                    freq=freq, control=control, filters=filters, full=False)
    except CSOError as exc:
        return ClaimResult(c, "no data", f"No answer: {exc}", None, None)
    v = verdict_of(a.estimate, c.direction)
    text = f"{_PREFIX[v]} — {a.estimate.sentence()}"
    if v == "not shown" and a.mde is not None:
        text = text.rstrip(".") + f"; effects smaller than ±{_mde_text(a)} could not be seen."
    return ClaimResult(c, v, text, a.estimate, a)


def _mde_text(a: Analysis) -> str:
    from analytics.evaluation._estimate import fmt_number

    m = a.mde
    if m is None:
        return "n/a"
    if m.scale == "percent":
        return f"{fmt_number(m.value)} %"
    return f"{fmt_number(m.value)} {m.unit}".strip()


def answer_claims(backend_or_con: Any, *, freq: Freq = "month",
                  control: Literal["never_treated", "not_yet_treated"] = "not_yet_treated",
                  filters: Filters | None = None) -> tuple[ClaimResult, ...]:
    """All four claims, in the order of :data:`CLAIMS`."""
    return tuple(answer_claim(backend_or_con, c.key, freq=freq, control=control,
                              filters=filters) for c in CLAIMS)
