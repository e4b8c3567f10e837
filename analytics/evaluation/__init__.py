"""Evaluation of a CSO deployment (PRODUCT.md section 4).

Every estimator returns frozen results built on :class:`Estimate` (estimate, SE, CI,
p-value, n, method, caveats, ``to_frame()``, ``sentence()``). Methods, formulas, weights
and references: docs/evaluation.md.
"""

from analytics.evaluation._estimate import Estimate
from analytics.evaluation.analysis import METHOD_LABELS, METHODS, Analysis, analyse
from analytics.evaluation.claims import (
    CLAIMS,
    ClaimResult,
    answer_claim,
    answer_claims,
    holm,
    negative_control,
)
from analytics.evaluation.claims_cache import checks_summary, claims_summary
from analytics.evaluation.did import (
    CONTROLS,
    StaggeredDiD,
    did_2x2,
    dose_response,
    staggered_did,
    twfe_did,
)
from analytics.evaluation.its import ITSResult, its
from analytics.evaluation.panel import FREQS, LEVELS, METRIC_NAMES, METRICS, panel_from_metric
from analytics.evaluation.power import MDE, mde, mde_from_estimate
from analytics.evaluation.rate_tests import PrePostResult, e_test_p, pre_post, rate_ratio_test
from analytics.evaluation.wdd import WDDResult, wdd, wdd_harm

__all__ = [
    "CLAIMS",
    "CONTROLS",
    "FREQS",
    "LEVELS",
    "METHODS",
    "METHOD_LABELS",
    "METRICS",
    "METRIC_NAMES",
    "MDE",
    "Analysis",
    "ClaimResult",
    "Estimate",
    "ITSResult",
    "PrePostResult",
    "StaggeredDiD",
    "WDDResult",
    "analyse",
    "answer_claim",
    "answer_claims",
    "checks_summary",
    "claims_summary",
    "did_2x2",
    "dose_response",
    "e_test_p",
    "holm",
    "its",
    "mde",
    "mde_from_estimate",
    "negative_control",
    "panel_from_metric",
    "pre_post",
    "rate_ratio_test",
    "staggered_did",
    "twfe_did",
    "wdd",
    "wdd_harm",
]
