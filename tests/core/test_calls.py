"""The response-time exclusion rule (analytics.core.calls): its step names and codes.

Each row's expected step is worked out by hand from the rule's order in the module
docstring: officer-initiated, then a missing endpoint, then out of order, then above the cap.
"""

from __future__ import annotations

import ibis
import pandas as pd

from analytics.core import calls as core_calls

ROWS = [  # self_initiated, total_s, the step by hand (cap 10 min = 600 s)
    (True, 120.0, "officer_initiated"),
    (True, None, "officer_initiated"),  # officer-initiated comes first
    (False, None, "no_arrival"),
    (False, -5.0, "out_of_order"),
    (False, 600.0, "kept"),  # exactly at the cap is kept
    (False, 600.5, "above_cap"),
    (False, 0.0, "kept"),
]


def test_codes_and_names_follow_the_one_rule() -> None:
    df = pd.DataFrame({"self_initiated": [r[0] for r in ROWS],
                       "total_s": pd.array([r[1] for r in ROWS], dtype="Float64")})
    t = ibis.memtable(df)
    code = core_calls.exclusion_code(t, "total", 10.0)
    got = t.mutate(step=core_calls.exclusion_step(t, "total", 10.0), code=code,
                   back=core_calls.exclusion_name(code)).to_pandas()
    want = [r[2] for r in ROWS]
    assert list(got["step"]) == want
    assert list(got["back"]) == want
    # 0 = kept, i + 1 = the i-th step of EXCLUSION_KEYS
    by_hand = {"kept": 0, "officer_initiated": 1, "no_arrival": 2, "out_of_order": 3,
               "above_cap": 4}
    assert list(got["code"]) == [by_hand[w] for w in want]
