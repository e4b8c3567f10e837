"""Every sentence the evaluation says, in one place (page, briefing, downloads).

Rules (issue 11, PRODUCT.md section 4), each tested with hand-written strings in
tests/evaluation/test_eval_wording.py:

1. **No clear change first.** A result whose confidence interval includes "no change" —
   or whose multiplicity-adjusted p-value is not below α — starts with "No clear change
   in …", then gives the estimate and its CI. Only a clear result says "fell by" / "rose by".
2. **Careful verdicts.** A programme claim is "Consistent with the programme's claim" (not
   "supported": one study with a comparison group is evidence, not proof), "Not shown — no
   clear change" or "Opposite to the claim"; "No answer" when the data cannot answer.
3. **One baseline.** The percent in a sentence is the rate ratio's own (100·(RR − 1)), or
   for a difference the share of the level *expected without CSOs* (the counterfactual,
   detail ``counterfactual_mean``) — the same baseline as the relative effect printed
   beside it — else of the stated ``baseline``. Never a one-month level beside a
   counterfactual ratio.
4. **Same units in a table.** :func:`value_text` renders every row of a comparison table on
   its own scale with the unit named (a ratio says "rate ratio"); callers put rows of
   one outcome on one scale (the TWFE comparison row of a count outcome is a ratio too).
5. **Caveats when they apply.** :func:`inference_line` names the inference method, the
   clustering level and number of clusters, and the smallest attainable p-value;
   :func:`design_notes` adds the few-clusters warning (with the detectable effect) and the
   failed pre-trend check.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from analytics.evaluation._format import fmt_number, fmt_p

if TYPE_CHECKING:
    from analytics.evaluation._estimate import Estimate
    from analytics.evaluation.power import MDE

NO_CLEAR = "No clear change"
#: The words for each verdict key of :mod:`analytics.evaluation.claims`.
VERDICT_LABELS: dict[str, str] = {
    "supported": "Consistent with the programme's claim",
    "not shown": "Not shown — no clear change",
    "contradicted": "Opposite to the claim",
    "no data": "No answer",
}
#: Fewer clusters than this: the design is weak and the sentence says so.
FEW_CLUSTERS = 30
PRETREND_ALPHA = 0.05


# -- small pieces --------------------------------------------------------------------------
def fmt_ratio(x: float) -> str:
    """A rate ratio with three significant figures: 0.851, 1.04, 1.00."""
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:#.3g}"


def _lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym (P1, CSO)."""
    if len(text) > 1 and (text[1].isupper() or text[1].isdigit()):
        return text
    return text[:1].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _a(number_text: str) -> str:
    """ "a" or "an" before a number as it is read aloud: an 8 %, an 11 %, an 18 %, an 80 %."""
    digits = number_text.lstrip("−-+").replace(",", "")
    whole = digits.split(".")[0]
    spoken_vowel = digits.startswith("8") or whole in ("11", "18") or (
        len(whole) in (5, 6) and whole[: len(whole) - 3] in ("11", "18"))
    return "an" if spoken_vowel else "a"


def _level(est: Estimate) -> str:
    return f"{round(100 * (1 - est.alpha))} %"


def null_value(est: Estimate) -> float:
    """"No change" on the estimate's scale: 1 for a ratio, 0 for a difference or log ratio."""
    return 1.0 if est.scale == "ratio" else 0.0


def ci_excludes_no_change(est: Estimate) -> bool:
    """True when the whole confidence interval lies on one side of "no change"."""
    lo, hi, null = est.ci_low, est.ci_high, null_value(est)
    return bool(np.isfinite(lo) and np.isfinite(hi) and (lo > null or hi < null))


def is_clear(est: Estimate) -> bool:
    """A clear change: the CI excludes no change and the verdict's p-value (adjusted when
    there is one) is below α."""
    return ci_excludes_no_change(est) and est.significant


def _as_ratio(est: Estimate) -> tuple[float, float, float]:
    if est.scale == "ratio":
        return est.estimate, est.ci_low, est.ci_high

    def ex(v: float) -> float:
        return math.exp(v) if np.isfinite(v) else math.nan

    return ex(est.estimate), ex(est.ci_low), ex(est.ci_high)


def _p_text(est: Estimate) -> str:
    text = fmt_p(est.p_value)
    if est.p_adjusted is not None and np.isfinite(est.p_adjusted):
        what = est.adjustment or "adjusted for multiple comparisons"
        text += f"; {what}: adjusted {fmt_p(est.p_adjusted)}"
        holm = est.detail("p_holm")
        if np.isfinite(holm):
            text += f"; Holm: adjusted {fmt_p(holm)}"
    return text


def _baseline(est: Estimate) -> tuple[float, str] | None:
    """(level, phrase) the percent of a difference is taken against, or None."""
    unit = f" {est.unit}" if est.unit else ""
    cf = est.detail("counterfactual_mean")
    if np.isfinite(cf) and cf > 0:
        return cf, f"against the {fmt_number(cf)}{unit} expected without CSOs"
    b = est.baseline
    if b is not None and np.isfinite(b) and b != 0:
        return b, f"from a baseline of {fmt_number(b)}{unit}"
    return None


def _lead(est: Estimate, label: str) -> str:
    """ "No clear change in <label>" with the reason when only the adjustment removed it."""
    lead = f"{NO_CLEAR} in {_lower_first(label)}"
    if ci_excludes_no_change(est) and not est.significant and est.p_adjusted is not None:
        lead += " once the family of tests is taken into account"
    return lead


# -- sentences -----------------------------------------------------------------------------
def estimate_sentence(est: Estimate) -> str:
    """One plain-language sentence for an estimate, with units, CI and p-value.

    Examples
    --------
    >>> from analytics.evaluation._estimate import Estimate
    >>> e = Estimate(0.851, 0.03, 0.802, 0.903, 0.0001, 24, "x", scale="ratio",
    ...              label="Minor offences in CSO areas")
    >>> estimate_sentence(e)
    'Minor offences in CSO areas fell by 14.9 % (rate ratio 0.851, 95 % CI 0.802 to 0.903; p < 0.001).'
    >>> e = Estimate(-0.5, 0.5, -1.5, 0.5, 0.3, 10, "x", label="P1 median", unit="minutes")
    >>> estimate_sentence(e)
    'No clear change in P1 median: the estimate is a fall of 0.5 minutes (95 % CI −1.5 to 0.5; p = 0.30).'
    """
    label = _upper_first(est.label)
    level = _level(est)
    pv = _p_text(est)
    if est.scale in ("ratio", "log"):
        r, lo, hi = _as_ratio(est)
        if not np.isfinite(r):
            return f"{label}: no estimate could be computed."
        pct = 100 * (r - 1)
        size = fmt_number(abs(pct))
        ci = (f"{level} CI {fmt_ratio(lo)} to {fmt_ratio(hi)}" if np.isfinite(lo) and
              np.isfinite(hi) else f"no {level} CI: too few units to compute one")
        inner = f"rate ratio {fmt_ratio(r)}, {ci}; {pv}"
        if is_clear(est):
            verb = "rose" if pct > 0 else "fell"
            return f"{label} {verb} by {size} % ({inner})."
        what = ("no change" if pct == 0 else
                f"{_a(size)} {size} % {'rise' if pct > 0 else 'fall'}")
        return f"{_lead(est, label)}: the estimate is {what} ({inner})."
    e, lo, hi = est.estimate, est.ci_low, est.ci_high
    if not np.isfinite(e):
        return f"{label}: no estimate could be computed."
    unit = f" {est.unit}" if est.unit else ""
    base = _baseline(est)
    pct_clause = ""
    if base is not None and e != 0:
        pct = 100 * e / base[0]
        size = fmt_number(abs(pct))
        pct_clause = f", {_a(size)} {size} % {'rise' if pct > 0 else 'fall'} {base[1]}"
    if is_clear(est):
        verb = "rose" if e > 0 else "fell"
        a, b = sorted((abs(lo), abs(hi)))
        return (f"{label} {verb} by {fmt_number(abs(e))}{unit} ({level} CI {fmt_number(a)} to "
                f"{fmt_number(b)}; {pv}){pct_clause}.")
    what = ("no change" if e == 0 else
            f"a {'rise' if e > 0 else 'fall'} of {fmt_number(abs(e))}{unit}")
    ci = (f"{level} CI {fmt_number(lo)} to {fmt_number(hi)}" if np.isfinite(lo) and
          np.isfinite(hi) else f"no {level} CI: too few units to compute one")
    return f"{_lead(est, label)}: the estimate is {what} ({ci}; {pv}){pct_clause}."


def verdict_label(verdict: str) -> str:
    """The words for a verdict key ("supported" → "Consistent with the programme's claim")."""
    return VERDICT_LABELS[verdict]


def mde_text(mde: MDE | None) -> str | None:
    """The minimum detectable effect as "12.3 %" or "0.45 minutes" (None without one)."""
    if mde is None or not np.isfinite(mde.value):
        return None
    if mde.scale == "percent":
        return f"{fmt_number(mde.value)} %"
    return f"{fmt_number(mde.value)} {mde.unit}".strip()


def mde_sentence(mde: MDE) -> str:
    """The power statement: the smallest effect the design finds ``power`` of the time.

    Examples
    --------
    >>> from analytics.evaluation.power import MDE
    >>> mde_sentence(MDE(22.1, "percent", 0.1, 0.05, 0.8, "x", value_up=28.4))
    "With this design the smallest effect found 80 % of the time (at α = 0.05) is a fall of 22.1 % or a rise of 28.4 %; smaller true effects will often look like 'no change'."
    """
    pw = f"{round(100 * mde.power)} %"
    if mde.scale == "percent":
        up = f" or a rise of {fmt_number(mde.value_up)} %" if mde.value_up else ""
        size = f"a fall of {fmt_number(mde.value)} %{up}"
    else:
        unit = f" {mde.unit}" if mde.unit else ""
        size = f"a change of {fmt_number(mde.value)}{unit}"
    return (f"With this design the smallest effect found {pw} of the time (at α = "
            f"{mde.alpha:g}) is {size}; smaller true effects will often look like 'no change'.")


def claim_sentence(verdict: str, est: Estimate, *, mde: str | None = None) -> str:
    """A claim's answer: the verdict in words, then the estimate's sentence.

    ``mde`` (from :func:`mde_text`) is added to a "not shown" answer: what the design
    could have detected.

    Examples
    --------
    >>> from analytics.evaluation._estimate import Estimate
    >>> e = Estimate(-0.1, 0.1, -0.3, 0.1, 0.3, 24, "x", scale="log", label="Minor offences")
    >>> claim_sentence("not shown", e, mde="35.2 %")
    'Not shown — no clear change in minor offences: the estimate is a 9.52 % fall (rate ratio 0.905, 95 % CI 0.741 to 1.11; p = 0.30). Effects smaller than ±35.2 % could not be detected with this design.'
    """
    text = estimate_sentence(est)
    if verdict == "not shown" and text.startswith(NO_CLEAR):
        out = "Not shown — no clear change" + text[len(NO_CLEAR):]
    else:
        out = f"{verdict_label(verdict)} — {text}"
    if verdict == "not shown" and mde:
        out += f" Effects smaller than ±{mde} could not be detected with this design."
    return out


def family_note(est: Estimate, m: int) -> str:
    """What the claims' multiplicity adjustment is, said once above the claims.

    ``est`` is any adjusted claim's estimate (its ``adjustment``, smallest attainable p
    and clustering level); ``m`` the number of claims in the family.

    Examples
    --------
    >>> from analytics.evaluation._estimate import Estimate
    >>> e = Estimate(0.1, 0.1, 0.01, 0.3, 1 / 24, 24, "x", cluster_level="district",
    ...              n_clusters=4, min_attainable_p=1 / 24, p_adjusted=1 / 24,
    ...              adjustment="Westfall–Young step-down, 4 claims")
    >>> family_note(e, 4)
    "The 4 claims are tested as one family: a verdict needs its adjusted p-value below 0.05. Westfall–Young step-down (max-T): every claim is re-estimated under the same 24 reassignments of the start dates to the districts, which keeps the dependence between the claims, so the adjusted p can be as small as 0.042. Holm's adjusted p, shown beside it, ignores that dependence and cannot go below 4 × 0.042 = 0.17 here."
    """
    head = (f"The {m} claims are tested as one family: a verdict needs its adjusted p-value "
            f"below {est.alpha:g}.")
    mp = est.min_attainable_p
    if not est.adjustment.startswith("Westfall") or mp is None or not np.isfinite(mp):
        return f"{head} Adjustment: {est.adjustment or 'Holm'}."
    level = est.cluster_level or "area"
    n_a = int(round(1 / mp))
    low = fmt_p(mp).removeprefix("p = ")
    holm_low = fmt_p(min(1.0, m * mp)).removeprefix("p = ")
    return (f"{head} Westfall–Young step-down (max-T): every claim is re-estimated under the "
            f"same {n_a} reassignments of the start dates to the {_plural(level, 2)}, which "
            f"keeps the dependence between the claims, so the adjusted p can be as small as "
            f"{low}. Holm's adjusted p, shown beside it, ignores that dependence and cannot "
            f"go below {m} × {low} = {holm_low} here.")


def no_answer_sentence(reason: object) -> str:
    """The answer when a claim cannot be estimated on the data."""
    return f"{VERDICT_LABELS['no data']}: {reason}"


def _plural(level: str, n: int) -> str:
    if n == 1:
        return level
    return level[:-1] + "ies" if level.endswith("y") else level + "s"


def inference_line(est: Estimate) -> str:
    """How the interval and p-value were obtained: method, clustering, smallest p.

    Examples
    --------
    >>> from analytics.evaluation._estimate import Estimate
    >>> e = Estimate(0.1, 0.1, -0.1, 0.3, 0.2, 24, "x", cluster_level="district",
    ...              n_clusters=4, inference_method="randomization inference (24 assignments)",
    ...              min_attainable_p=1 / 24)
    >>> inference_line(e)
    'Inference: randomization inference (24 assignments); clustered by district (4 districts); the smallest p-value this design can give is 0.042.'
    """
    parts = []
    if est.inference_method:
        parts.append(est.inference_method)
    if est.cluster_level:
        n = est.n_clusters
        parts.append(f"clustered by {est.cluster_level}"
                     + (f" ({n} {_plural(est.cluster_level, n)})" if n is not None else ""))
    if est.min_attainable_p is not None and np.isfinite(est.min_attainable_p):
        parts.append(f"the smallest p-value this design can give is "
                     f"{fmt_p(est.min_attainable_p).removeprefix('p = ')}")
    return ("Inference: " + "; ".join(parts) + ".") if parts else ""


def design_notes(est: Estimate, *, pretrend_p: float = math.nan,
                 mde: str | None = None) -> tuple[str, ...]:
    """The design caveats that apply: few clusters (with the detectable effect) and a failed
    pre-trend check.

    Examples
    --------
    >>> from analytics.evaluation._estimate import Estimate
    >>> e = Estimate(0.1, 0.1, -0.1, 0.3, 0.2, 24, "x", cluster_level="district", n_clusters=4)
    >>> design_notes(e, pretrend_p=0.01, mde="30.0 %")[0]
    'Only 4 districts: CSOs were assigned by district, so the test compares 4 units and can detect only effects larger than about 30.0 %.'
    """
    notes = []
    n = est.n_clusters
    if n is not None and n < FEW_CLUSTERS:
        level = est.cluster_level or "area"
        what = (f"larger than about {mde}" if mde else "that are large")
        notes.append(f"Only {n} {_plural(level, n)}: CSOs were assigned by {level}, so the "
                     f"test compares {n} units and can detect only effects {what}.")
    if np.isfinite(pretrend_p) and pretrend_p < PRETREND_ALPHA:
        notes.append(f"Pre-trend check failed ({fmt_p(pretrend_p)}): before the start, the "
                     "treated and comparison areas already moved differently, so the "
                     "comparison may be biased.")
    return tuple(notes)


def value_text(est: Estimate) -> tuple[str, str]:
    """(value, unit) for a table row: a ratio on the ratio scale, else outcome units."""
    if est.scale in ("ratio", "log"):
        return fmt_ratio(_as_ratio(est)[0]), "rate ratio"
    return fmt_number(est.estimate), est.unit


def ci_text(est: Estimate) -> str:
    """The CI on the row's own scale: "0.802 to 0.903" or "−1.50 to 0.50"."""
    if est.scale in ("ratio", "log"):
        _, lo, hi = _as_ratio(est)
        return f"{fmt_ratio(lo)} to {fmt_ratio(hi)}"
    return f"{fmt_number(est.ci_low)} to {fmt_number(est.ci_high)}"
