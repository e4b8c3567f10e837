"""Wording rules (analytics.evaluation.wording): every expected sentence is written out by
hand here, one per case — clear and unclear results on each scale, the counterfactual
baseline, multiplicity adjustment, verdicts, inference and design caveats."""

from __future__ import annotations

import math

import pytest

from analytics.evaluation import wording as w
from analytics.evaluation._estimate import Estimate


def ratio(est, lo, hi, p, **kw) -> Estimate:
    return Estimate(est, 0.03, lo, hi, p, 24, "test", scale="ratio",
                    label=kw.pop("label", "Minor offences in CSO areas"), **kw)


# Numbers follow fmt_number: 3 significant figures below 10 (5, 1.8), one decimal from 10 to
# 100 (14.9, 20.0), so "5 %" and "20.0 %" are both as printed.
def test_clear_ratio_fall_and_rise() -> None:
    assert w.estimate_sentence(ratio(0.851, 0.802, 0.903, 0.00001)) == (
        "Minor offences in CSO areas fell by 14.9 % "
        "(rate ratio 0.851, 95 % CI 0.802 to 0.903; p < 0.001).")
    assert w.estimate_sentence(ratio(1.25, 1.1, 1.42, 0.002, label="suspicious reports")) == (
        "Suspicious reports rose by 25.0 % (rate ratio 1.25, 95 % CI 1.10 to 1.42; p = 0.002).")


def test_no_clear_change_comes_first() -> None:
    # the audit's example: a non-significant 3.48 % fall must not lead with "fell by"
    e = ratio(0.9652, 0.88, 1.06, 0.46)
    assert w.estimate_sentence(e) == (
        "No clear change in minor offences in CSO areas: the estimate is a 3.48 % fall "
        "(rate ratio 0.965, 95 % CI 0.880 to 1.06; p = 0.46).")
    assert e.sentence() == w.estimate_sentence(e)          # Estimate.sentence delegates
    rise = ratio(1.05, 0.97, 1.14, 0.2, label="P1 calls")   # acronym keeps its capitals
    assert w.estimate_sentence(rise).startswith("No clear change in P1 calls: the estimate "
                                                "is a 5 % rise")


def test_log_scale_is_reported_as_a_ratio() -> None:
    e = Estimate(math.log(0.8), 0.05, math.log(0.72), math.log(0.89), 0.0004, 24, "x",
                 scale="log", label="Low-level property crimes")
    assert w.estimate_sentence(e) == (
        "Low-level property crimes fell by 20.0 % "
        "(rate ratio 0.800, 95 % CI 0.720 to 0.890; p < 0.001).")
    assert w.value_text(e) == ("0.800", "rate ratio")
    assert w.ci_text(e) == "0.720 to 0.890"


def test_difference_percent_uses_the_counterfactual_like_the_relative_row() -> None:
    # ATT −1.64 min; the level expected without CSOs is 11.04 min, so the relative effect
    # is 1 − 1.64/11.04 = 0.8514 (a 14.86 % fall). The treated areas' last pre-period
    # month (the old baseline, 10.58 min) would have said 15.5 %: it is not used.
    e = Estimate(-1.64, 0.08, -1.80, -1.48, 1e-6, 24, "CS", label="Urgent response time",
                 unit="minutes", baseline=10.58, details=(("counterfactual_mean", 11.04),))
    assert w.estimate_sentence(e) == (
        "Urgent response time fell by 1.64 minutes (95 % CI 1.48 to 1.8; p < 0.001), "
        "a 14.9 % fall against the 11.0 minutes expected without CSOs.")
    relative = Estimate(1 - 1.64 / 11.04, 0.01, 0.83, 0.87, 1e-6, 24, "CS", scale="ratio",
                        label="Urgent response time")
    assert w.estimate_sentence(relative).startswith("Urgent response time fell by 14.9 %")


def test_difference_with_a_plain_baseline_and_unclear() -> None:
    e = Estimate(2.0, 0.5, 1.0, 3.0, 0.0001, 40, "2x2", label="officer-initiated calls",
                 unit="calls", baseline=40.0)
    assert w.estimate_sentence(e) == (
        "Officer-initiated calls rose by 2 calls (95 % CI 1 to 3; p < 0.001), "
        "a 5 % rise from a baseline of 40.0 calls.")
    u = Estimate(-0.3, 0.25, -0.8, 0.2, 0.21, 40, "2x2", label="Priority 1–2 median",
                 unit="minutes")
    assert w.estimate_sentence(u) == (
        "No clear change in priority 1–2 median: the estimate is a fall of 0.3 minutes "
        "(95 % CI −0.8 to 0.2; p = 0.21).")
    none = Estimate(math.nan, math.nan, math.nan, math.nan, math.nan, 0, "x", label="calls")
    assert w.estimate_sentence(none) == "Calls: no estimate could be computed."


def test_adjusted_p_value_decides_and_is_printed() -> None:
    kept = ratio(0.80, 0.70, 0.91, 0.001, p_adjusted=0.004, adjustment="Holm, 4 claims")
    assert w.estimate_sentence(kept) == (
        "Minor offences in CSO areas fell by 20.0 % (rate ratio 0.800, 95 % CI 0.700 to "
        "0.910; p = 0.001; Holm, 4 claims: adjusted p = 0.004).")
    lost = ratio(0.90, 0.82, 0.99, 0.03, p_adjusted=0.09, adjustment="Holm, 4 claims")
    assert w.estimate_sentence(lost) == (
        "No clear change in minor offences in CSO areas once the family of tests is taken "
        "into account: the estimate is a 10 % fall (rate ratio 0.900, 95 % CI 0.820 to "
        "0.990; p = 0.030; Holm, 4 claims: adjusted p = 0.090).")


def test_westfall_young_p_is_printed_with_holm_beside_it() -> None:
    wy = ratio(0.80, 0.70, 0.91, 1 / 24, p_adjusted=1 / 24,
               adjustment="Westfall–Young step-down, 4 claims", details=(("p_holm", 4 / 24),),
               cluster_level="district", n_clusters=4, min_attainable_p=1 / 24)
    assert w.estimate_sentence(wy) == (
        "Minor offences in CSO areas fell by 20.0 % (rate ratio 0.800, 95 % CI 0.700 to "
        "0.910; p = 0.042; Westfall–Young step-down, 4 claims: adjusted p = 0.042; Holm: "
        "adjusted p = 0.17).")
    assert w.family_note(wy, 4) == (
        "The 4 claims are tested as one family: a verdict needs its adjusted p-value below "
        "0.05. Westfall–Young step-down (max-T): every claim is re-estimated under the same "
        "24 reassignments of the start dates to the districts, which keeps the dependence "
        "between the claims, so the adjusted p can be as small as 0.042. Holm's adjusted p, "
        "shown beside it, ignores that dependence and cannot go below 4 × 0.042 = 0.17 "
        "here.")
    holm_only = ratio(0.80, 0.70, 0.91, 0.001, p_adjusted=0.004, adjustment="Holm, 4 claims")
    assert w.family_note(holm_only, 4) == (
        "The 4 claims are tested as one family: a verdict needs its adjusted p-value below "
        "0.05. Adjustment: Holm, 4 claims.")


def test_verdict_words_and_claim_sentences() -> None:
    assert w.verdict_label("supported") == "Consistent with the programme's claim"
    assert w.verdict_label("not shown") == "Not shown — no clear change"
    assert w.verdict_label("contradicted") == "Opposite to the claim"
    assert w.verdict_label("no data") == "No answer"
    assert not any("Supported" in v for v in w.VERDICT_LABELS.values())
    fell = ratio(0.80, 0.70, 0.91, 0.001, label="Minor offences")
    assert w.claim_sentence("supported", fell) == (
        "Consistent with the programme's claim — Minor offences fell by 20.0 % "
        "(rate ratio 0.800, 95 % CI 0.700 to 0.910; p = 0.001).")
    assert w.claim_sentence("contradicted", fell) == (
        "Opposite to the claim — Minor offences fell by 20.0 % "
        "(rate ratio 0.800, 95 % CI 0.700 to 0.910; p = 0.001).")
    unclear = ratio(0.95, 0.85, 1.06, 0.36, label="Minor offences")
    assert w.claim_sentence("not shown", unclear, mde="18.0 %") == (
        "Not shown — no clear change in minor offences: the estimate is a 5 % fall "
        "(rate ratio 0.950, 95 % CI 0.850 to 1.06; p = 0.36). Effects smaller than ±18.0 % "
        "could not be detected with this design.")
    assert w.no_answer_sentence("no treated areas") == "No answer: no treated areas"


def test_inference_line_and_design_notes() -> None:
    e = ratio(0.8, 0.7, 0.9, 1 / 24, cluster_level="district", n_clusters=4,
              inference_method="randomization inference over the districts' start dates",
              min_attainable_p=1 / 24)
    assert w.inference_line(e) == (
        "Inference: randomization inference over the districts' start dates; clustered by "
        "district (4 districts); the smallest p-value this design can give is 0.042.")
    assert w.design_notes(e, mde="31.5 %") == (
        "Only 4 districts: CSOs were assigned by district, so the test compares 4 units and "
        "can detect only effects larger than about 31.5 %.",)
    assert w.design_notes(e) == (
        "Only 4 districts: CSOs were assigned by district, so the test compares 4 units and "
        "can detect only effects that are large.",)
    assert w.design_notes(e, pretrend_p=0.012)[1] == (
        "Pre-trend check failed (p = 0.012): before the start, the treated and comparison "
        "areas already moved differently, so the comparison may be biased.")
    many = ratio(0.8, 0.7, 0.9, 0.001, cluster_level="beat", n_clusters=40)
    assert w.design_notes(many, pretrend_p=0.4) == ()
    assert w.inference_line(many) == "Inference: clustered by beat (40 beats)."
    assert w.inference_line(ratio(0.8, 0.7, 0.9, 0.001)) == ""


def test_rows_of_one_table_say_their_units() -> None:
    diff = Estimate(-3.2, 1.0, -5.2, -1.2, 0.002, 24, "TWFE", label="x", unit="crimes")
    assert w.value_text(diff) == ("−3.2", "crimes")
    assert w.ci_text(diff) == "−5.2 to −1.2"
    assert w.value_text(ratio(0.851, 0.802, 0.903, 0.001)) == ("0.851", "rate ratio")


@pytest.mark.parametrize("verdict", ["supported", "not shown", "contradicted"])
def test_claim_sentence_never_says_supported(verdict) -> None:
    text = w.claim_sentence(verdict, ratio(0.9, 0.8, 1.01, 0.07))
    assert "Supported" not in text and "supported" not in text


def test_an_before_numbers_read_with_a_vowel() -> None:
    assert w.estimate_sentence(ratio(1.0869, 0.89, 1.34, 0.29, label="calls")) == (
        "No clear change in calls: the estimate is an 8.69 % rise "
        "(rate ratio 1.09, 95 % CI 0.890 to 1.34; p = 0.29).")
    assert [w._a(x) for x in ("8.69", "11.0", "18", "80.2", "1.5", "21.0", "110", "18,000")] == [
        "an", "an", "an", "an", "a", "a", "a", "an"]


def test_missing_interval_is_said_in_words() -> None:
    # randomization inference over 2 districts: no CI can be formed, p = 1
    e = Estimate(math.log(0.74), math.nan, math.nan, math.nan, 1.0, 24, "RI", scale="log",
                 label="Minor offences")
    assert w.estimate_sentence(e) == (
        "No clear change in minor offences: the estimate is a 26.0 % fall (rate ratio 0.740, "
        "no 95 % CI: too few units to compute one; p = 1.00).")
    d = Estimate(-1.7, math.nan, math.nan, math.nan, 1.0, 24, "RI", label="P1 median",
                 unit="minutes")
    assert w.estimate_sentence(d) == (
        "No clear change in P1 median: the estimate is a fall of 1.7 minutes "
        "(no 95 % CI: too few units to compute one; p = 1.00).")
