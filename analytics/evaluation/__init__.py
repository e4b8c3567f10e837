"""Evaluation of a CSO deployment (PRODUCT.md section 4).

Every estimator returns frozen results built on :class:`Estimate` (estimate, SE, CI,
p-value, n, method, caveats, ``to_frame()``, ``sentence()``). See docs/evaluation.md.
"""

from analytics.evaluation._estimate import Estimate
from analytics.evaluation.did import StaggeredDiD, did_2x2, dose_response, staggered_did, twfe_did
from analytics.evaluation.its import ITSResult, its
from analytics.evaluation.rate_tests import PrePostResult, e_test_p, pre_post, rate_ratio_test
from analytics.evaluation.wdd import WDDResult, wdd, wdd_harm

__all__ = [
    "Estimate",
    "ITSResult",
    "PrePostResult",
    "StaggeredDiD",
    "WDDResult",
    "did_2x2",
    "dose_response",
    "e_test_p",
    "its",
    "pre_post",
    "rate_ratio_test",
    "staggered_did",
    "twfe_did",
    "wdd",
    "wdd_harm",
]
