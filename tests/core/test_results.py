"""One result family (analytics/core/results.py; STYLE.md "Functions and results").

Every public function of the metric modules is read for its return annotation; a result
type outside the :class:`Result` family (or a loose dict / list of dicts, or a frame from
a function that computes on a backend) fails, naming the function.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime as dt
import importlib
import inspect
import types
import typing

import ibis
import pandas as pd
import pytest

from analytics import privacy
from analytics.core.results import RESULT_FIELDS, EstimatorResult, Result, Table, own_values

#: The modules whose functions compute figures for pages, downloads and reports.
METRIC_MODULES = (
    "analytics.response_times", "analytics.workload", "analytics.offload",
    "analytics.crime_trends", "analytics.cso_activity", "analytics.overview",
    "analytics.catalog", "analytics.call_types", "analytics.poisson_change",
    "analytics.briefing", "analytics.maps.measures",
    "analytics.evaluation._estimate", "analytics.evaluation.analysis",
    "analytics.evaluation.claims", "analytics.evaluation.claims_cache",
    "analytics.evaluation.did", "analytics.evaluation.its", "analytics.evaluation.panel",
    "analytics.evaluation.power", "analytics.evaluation.randomization",
    "analytics.evaluation.rate_tests", "analytics.evaluation.wdd",
    "analytics.evaluation.wild",
)

#: Dataclasses that are inputs or settings, not results (a function may return them).
SPECS = {
    "Filters": "the filter a page passes in",
    "Period": "a reporting window (dates), an input to the KPI cards",
    "ReportingPeriod": "the briefing's public period (one grid cell), an input to its figures",
    "ChangeWindows": "before/after windows a user picks for the change map",
    "CostSettings": "hourly costs the user stores",
    "Claim": "a programme claim's definition",
    "MetricInfo": "an evaluation outcome's label, unit and source",
    "ClusterLevel": "the level treatment was assigned at, an input to inference",
    "Policy": "the server's privacy tier",
}

#: Functions that read a backend and return a frame on purpose, with the reason.
FRAME_READERS = {
    "analytics.call_types.crosswalk": "the crosswalk editor's rows, edited and saved back",
    "analytics.call_types.history": "the crosswalk's change log, shown as recorded",
    "analytics.call_types.diff": "the field changes a save would make",
    "analytics.maps.measures.area_shapes": "area polygons (geometry, not a figure)",
    "analytics.evaluation.panel.panel_from_metric":
        "the area × period panel every estimator takes as input",
    "analytics.evaluation.panel.response_minutes": "per-call minutes, an estimator input",
    "analytics.response_times.area_groups": "which areas are treated (the treatment views)",
    "analytics.offload.targets": "the stored KPI targets (settings), edited on a page",
}

#: Functions that return building blocks of a query or a lookup, not figures, with the reason.
BUILDERS = {
    "analytics.offload.call_metric_aggregates":
        "Ibis aggregate expressions (the handled-share rule) that callers compose into a query",
    "analytics.offload.call_metric_values": "one result row turned into metric values, "
                                            "which the caller puts in its Result",
    "analytics.offload.target_map": "the stored targets as a lookup, an input to the cards",
}

_SCALARS = (str, int, float, bool, bytes, dt.date, dt.datetime, type(None))
_BACKEND_PARAMS = {"backend", "backend_or_con", "con"}


def _leaves(tp: typing.Any) -> list[typing.Any]:
    """The concrete types a return annotation can produce (unions and containers opened)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return [x for a in typing.get_args(tp) for x in _leaves(a)]
    if origin in (tuple, list, collections.abc.Sequence):
        return [("container", origin)] + [x for a in typing.get_args(tp) if a is not Ellipsis
                                          for x in _leaves(a)]
    if origin is dict or tp is dict:
        return [("dict", tp)]
    if origin is typing.Literal:
        return []
    return [tp]


def _public_functions() -> list[tuple[str, typing.Callable[..., typing.Any]]]:
    out = []
    for name in METRIC_MODULES:
        mod = importlib.import_module(name)
        for attr, fn in vars(mod).items():
            if (not attr.startswith("_") and inspect.isfunction(fn)
                    and fn.__module__ == name):
                out.append((f"{name}.{attr}", fn))
    return out


def _names() -> dict[str, typing.Any]:
    """Classes of every metric module (for annotations imported under TYPE_CHECKING)."""
    import plotly.graph_objects as go

    out: dict[str, typing.Any] = {"go": go}
    for name in METRIC_MODULES:
        out.update({k: v for k, v in vars(importlib.import_module(name)).items()
                    if inspect.isclass(v)})
    return out


def _hints(fn: typing.Callable[..., typing.Any]) -> dict[str, typing.Any]:
    mod = importlib.import_module(fn.__module__)
    return typing.get_type_hints(fn, globalns=vars(mod), localns=_names())


def _problems(qualname: str, fn: typing.Callable[..., typing.Any]) -> list[str]:
    if qualname in BUILDERS:
        return []
    hints = _hints(fn)
    if "return" not in hints:
        return [f"{qualname} has no return annotation"]
    params = list(inspect.signature(fn).parameters)
    on_backend = bool(params) and params[0] in _BACKEND_PARAMS
    bad = []
    for leaf in _leaves(hints["return"]):
        if isinstance(leaf, tuple) and leaf[0] == "dict":
            bad.append(f"{qualname} returns a dict: return a Result subclass")
        elif isinstance(leaf, tuple):
            continue  # a tuple/list of results: a composition, its items are checked
        elif leaf in (typing.Any, object):
            bad.append(f"{qualname} returns Any: annotate the result type")
        elif isinstance(leaf, type) and dataclasses.is_dataclass(leaf):
            if not issubclass(leaf, Result) and leaf.__name__ not in SPECS:
                bad.append(f"{qualname} returns {leaf.__name__}, not a Result")
        elif leaf is pd.DataFrame and on_backend and qualname not in FRAME_READERS:
            bad.append(f"{qualname} computes on a backend and returns a bare frame: "
                       "return a Table (frame, sql, exclusions, caveats)")
    return bad


def test_every_metric_function_returns_the_result_family() -> None:
    funcs = _public_functions()
    assert len(funcs) > 80, "the scan found too few functions to mean anything"
    names = {q for q, _ in funcs}
    assert set(BUILDERS) <= names, f"stale BUILDERS entries: {set(BUILDERS) - names}"
    problems = [p for q, fn in funcs for p in _problems(q, fn)]
    assert not problems, "\n".join(problems)


@dataclasses.dataclass(frozen=True)
class Loose:
    """A result outside the family (for the check's own test)."""

    value: float


def test_the_family_check_can_fail() -> None:
    def loose(backend: object) -> Loose: ...
    def as_dict(backend: object) -> dict[str, float]: ...
    def frame(backend: object) -> pd.DataFrame: ...
    def fine(backend: object) -> tuple[Table, ...]: ...
    def expr(backend: object) -> ibis.Table: ...

    for f in (loose, as_dict, frame):
        f.__module__ = __name__
        assert _problems(f.__name__, f), f.__name__
    for f in (fine, expr):
        f.__module__ = __name__
        assert not _problems(f.__name__, f), f.__name__


def test_every_result_class_is_a_frozen_dataclass_with_the_base_fields() -> None:
    seen = set()
    for _, fn in _public_functions():
        for leaf in _leaves(_hints(fn).get("return")):
            if isinstance(leaf, type) and issubclass(leaf, Result):
                seen.add(leaf)
    assert len(seen) > 25
    for cls in seen:
        params = cls.__dataclass_params__
        assert params.frozen, cls.__name__
        names = {f.name for f in dataclasses.fields(cls)}
        assert RESULT_FIELDS <= names, cls.__name__


def test_estimators_share_the_style_fields() -> None:
    from analytics.evaluation import Estimate

    style = {"estimate", "se", "ci_low", "ci_high", "p_value", "n", "method", "caveats"}
    assert issubclass(Estimate, EstimatorResult)
    assert style <= {f.name for f in dataclasses.fields(EstimatorResult)}
    e = Estimate(-1.4, 0.4, -2.2, -0.6, 0.001, 900, "pre/post", label="P1 median",
                 unit="minutes")
    assert list(e.to_frame()["estimate"]) == [-1.4]
    assert "fell by 1.4 minutes" in e.sentence()


def test_base_fields_have_one_shape() -> None:
    t = Table(pd.DataFrame({"n": [1]}), sql="SELECT 1", caveats=["small counts"])
    assert t.sql == ("SELECT 1",) and t.caveats == ("small counts",)
    assert Table(pd.DataFrame(), sql=("a", "b")).sql_text == "a;\n\nb"
    assert Table(pd.DataFrame()).sql == () and Table(pd.DataFrame()).exclusions is None
    more = t.with_caveats("another", "small counts")
    assert more.caveats == ("small counts", "another") and t.caveats == ("small counts",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.caveats = ()  # type: ignore[misc]


def test_own_values_leave_out_the_base_fields() -> None:
    from analytics.cso_activity import CsoHeadline

    h = CsoHeadline(activities=3, cso_hours=2.0, patrol_hours=1.0, community_events=1,
                    event_contacts=5, referrals=0, traffic_control_hours=0.0, weeks=1.0,
                    patrol_hours_per_week=1.0, sql=("q",))
    assert set(own_values(h)) == {"activities", "cso_hours", "patrol_hours", "community_events",
                                  "event_contacts", "referrals", "traffic_control_hours",
                                  "weeks", "patrol_hours_per_week"}


def test_the_privacy_tier_reaches_every_frame_of_a_result() -> None:
    # ui.cache.cached releases every result with privacy.release: frames held in a result's
    # own fields and in its exclusions are released too (small cells suppressed).
    from analytics.workload import MetricTable, WorkloadSummary

    small = pd.DataFrame({"district": ["D1", "D2"], "calls": [3, 40]})
    excl = pd.DataFrame({"step": ["kept"], "label": ["Kept"], "calls": [4]})
    nested = WorkloadSummary(MetricTable(small, exclusions=excl), MetricTable(small),
                             MetricTable(small), sql=("q",))
    out = privacy.release(nested, privacy.Policy("public", 10))
    assert out is not nested and nested.by_unit_type.frame.equals(small)  # never mutated
    got = out.by_unit_type.frame.set_index("district")["calls"]
    assert pd.isna(got["D1"])  # fewer than k = 10 (D2 may go too: complementary suppression)
    assert pd.isna(out.by_unit_type.exclusions["calls"].iloc[0])
    assert out.sql == ("q",)
