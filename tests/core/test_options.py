"""Option literals are checked once (analytics/core/options.py, STYLE.md "Options").

Every allowed-values tuple is read from its ``Literal`` alias with ``typing.get_args``;
a second hand-typed tuple of the same values, or a check against a literal tuple, fails.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import typing
from pathlib import Path

import pytest

import analytics
from analytics.core import options
from analytics.errors import OptionError

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "analytics").rglob("*.py"), *(ROOT / "ui").rglob("*.py"),
                  *(ROOT / "app_pages").rglob("*.py")])


def _literal_aliases() -> dict[str, frozenset]:
    """Every module-level ``Literal`` alias in the analytics package: name → its values."""
    found: dict[str, frozenset] = {}
    for info in pkgutil.walk_packages(analytics.__path__, "analytics."):
        if info.name.endswith("__main__"):
            continue
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if typing.get_origin(obj) is typing.Literal:
                found[f"{info.name}.{name}"] = frozenset(typing.get_args(obj))
    return found


def _string_tuples(path: Path) -> list[tuple[int, frozenset]]:
    """Tuples of two or more string constants written in the source, outside ``Literal[…]``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_literal = {id(n.slice) for n in ast.walk(tree)
                  if isinstance(n, ast.Subscript) and ast.unparse(n.value).endswith("Literal")}
    out = []
    for node in ast.walk(tree):
        if id(node) in in_literal:
            continue
        if isinstance(node, ast.Tuple) and len(node.elts) >= 2 and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            out.append((node.lineno, frozenset(e.value for e in node.elts)))
    return out


def test_no_hand_kept_copy_of_a_literal() -> None:
    aliases = _literal_aliases()
    assert len(aliases) > 30, "the scan found too few Literal aliases to mean anything"
    by_values = {v: k for k, v in aliases.items() if len(v) >= 2}
    copies = [f"{p.relative_to(ROOT)}:{line} repeats {by_values[vals]}"
              for p in SOURCES for line, vals in _string_tuples(p) if vals in by_values]
    assert not copies, "use options.choices(Alias) instead of typing the values again: " + "; ".join(copies)


def test_each_literal_is_defined_once() -> None:
    # Two modules typing the same Literal is a hand-kept copy too: import the alias instead.
    # (Read from the source: typing caches Literal[...] so equal aliases are one object.)
    where: dict[frozenset, list[str]] = {}
    for p in SOURCES:
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript)
                    and ast.unparse(node.value.value).endswith("Literal")):
                sl = node.value.slice
                elts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
                vals = frozenset(e.value for e in elts if isinstance(e, ast.Constant))
                where.setdefault(vals, []).append(f"{p.relative_to(ROOT)}:{node.lineno}")
    twice = {tuple(sorted(map(str, v))): w for v, w in where.items() if len(w) > 1}
    assert not twice, twice


def test_the_scan_catches_a_copy(tmp_path: Path) -> None:
    # The scan itself can fail: a hand-typed tuple of a Literal's values is found.
    f = tmp_path / "m.py"
    f.write_text('GRAINS = ("week", "month")\n', encoding="utf-8")
    assert _string_tuples(f) == [(1, frozenset({"week", "month"}))]


def test_options_are_checked_through_the_one_helper() -> None:
    # Only analytics/core/options.py compares a value with a list of choices; every other
    # module calls options.check(name, value, Alias) with the alias itself.
    bad = []
    for p in SOURCES:
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = ast.unparse(node.func)
            if fn.endswith("check_option"):
                bad.append(f"{p.relative_to(ROOT)}:{node.lineno} calls {fn}")
            if fn in {"options.check", "check"} and len(node.args) == 3 and isinstance(
                    node.args[2], (ast.Tuple, ast.List, ast.Set)):
                bad.append(f"{p.relative_to(ROOT)}:{node.lineno} checks against a literal tuple")
    assert not bad, bad


def test_choices_and_check() -> None:
    Grain = typing.Literal["week", "month"]
    assert options.choices(Grain) == ("week", "month")
    options.check("grain", "week", Grain)
    with pytest.raises(OptionError, match=r"grain must be one of 'week', 'month'; got 'day'"):
        options.check("grain", "day", Grain)
    with pytest.raises(TypeError):
        options.choices(str)


def test_spec_tables_match_their_literal() -> None:
    # Option values with a spec per value: the dict keys are exactly the Literal's values.
    from analytics import crime_trends, offload
    from analytics.evaluation import claims, panel

    assert tuple(offload.TARGET_METRICS) == options.choices(offload.TargetKey)
    assert tuple(crime_trends.WINDOW_DAYS) == options.choices(crime_trends.Window)
    assert claims.CLAIM_KEYS == options.choices(claims.ClaimKey)
    assert set(panel.METRIC_NAMES) == set(options.choices(panel.Metric))


def _bad_calls() -> list[tuple[str, typing.Callable[[], object]]]:
    import numpy as np
    import pandas as pd

    from analytics import crime_trends, workload
    from analytics.evaluation import did, power, rate_tests
    from analytics.evaluation.its import its
    from analytics.filters import Filters

    panel = pd.DataFrame({"area": ["a", "a", "b", "b"], "period": [1, 2, 1, 2],
                          "first_treated": [2, 2, 0, 0], "y": [1.0, 2.0, 1.0, 1.0]})
    return [
        ("unit_type", lambda: workload.utilization_by_hour(None, Filters(), unit_type="robot")),
        ("window", lambda: crime_trends.window_comparison(None, Filters(), windows=("7-day",))),
        ("test", lambda: rate_tests.rate_ratio_test(10, 12, test="chi2")),
        ("family", lambda: power.mde_its(12, 12, sigma=1.0, family="binomial")),
        ("design", lambda: power.mde("rct")),
        ("control", lambda: did.staggered_did(panel, "y", "area", "period", "first_treated",
                                                    control="everyone")),
        ("family", lambda: its(pd.DataFrame({"t": np.arange(24), "y": np.ones(24)}), "t", "y", 12,
                                       family="tweedie")),
    ]


@pytest.mark.parametrize("name,call", _bad_calls(), ids=lambda x: x if isinstance(x, str) else "")
def test_bad_option_raises_a_named_error(name: str, call: typing.Callable[[], object]) -> None:
    # Checked before any data is touched (the backend here is None).
    with pytest.raises(OptionError, match=rf"^{name} must be one of "):
        call()
