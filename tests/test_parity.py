"""Engine parity: every metric family gives the same numbers on DuckDB and on Spark.

Modelled on ibis's own backend tests (ibis/backends/conftest.py): one test body, a fixture
per engine, and markers for known gaps that must say why:

- ``notimpl(engines, reason=...)``: we have not written it for that engine yet;
- ``notyet(engines, reason=...)``: the engine (or a part of this project it depends on)
  cannot do it yet.

Both become a non-strict ``xfail`` raising the named exception for the listed engines only;
once the gap closes the same test body compares the numbers.

Each engine runs the real command, ``python -m analytics metrics``, once per test session
(one Spark session for the whole run, shared with tests/pages/test_spark_engine.py) on the
session's small engine city (``tests/conftest.py``: 8,000 calls, one Parquet export) with a
date range and two districts: the DuckDB file is the reference; DuckDB over the Parquet
export checks the export itself; Spark reads the same export.

Tolerances (docs/scale.md): counts, dates and text exactly; sums and ratios to 1e-9
relative (engines add floating-point numbers in a different order); percentiles to the
same 1e-9, because ibis compiles them to exact percentiles on both engines (DuckDB
``quantile_cont``, Spark ``percentile``), not Spark's approximate ``percentile_approx``.

Spark's cases are marked ``slow`` (``make test-slow``, which ``.ci/run`` runs): a JVM start
and one Spark job per query cost minutes on two shared cores (docs/scale.md has the
measured time). DuckDB over the export runs in every ``make test``.

Java: Spark needs it. On a developer machine without Java the Spark cases are skipped and
say so; with ``CSO_REQUIRE_SPARK=1`` (set by ``.ci/run``) a missing Java fails instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analytics import cli
from analytics.errors import OptionError
from analytics.metrics_report import FAMILIES, differences

ENGINES = ("duckdb_parquet", "spark")
ARGS = ["--from", "2023-01-01", "--to", "2025-06-30", "--district", "D1", "--district", "D3"]

def _gap(kind: str, engines_: tuple[str, ...], *, reason: str,
         raises: type[BaseException]) -> pytest.MarkDecorator:
    if not reason:
        raise ValueError(f"a {kind} marker must give a reason")
    return getattr(pytest.mark, kind)(engines_, reason=reason, raises=raises)


# No known gaps: every family (the claims' panels included, since evaluation/panel.py is
# Ibis) compares on every engine. A future gap is declared here with
# ``pytest.param(f, marks=_gap("notyet", ("spark",), reason=..., raises=...))``.
CASES = list(FAMILIES)


# -- fixtures: one per engine ------------------------------------------------------------------
@pytest.fixture(scope="session")
def parity_export(engine_export: Path) -> Path:
    """The engine city exported with the real command (tests/conftest.py)."""
    return engine_export


def _run_metrics(argv: list[str], out: Path) -> dict[str, Any]:
    assert cli.main(["metrics", *argv, *ARGS, "--json", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def reference(parity_export: Path, engine_db_path: Path,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The metrics JSON from the DuckDB file: what every other engine must reproduce."""
    import shutil

    copy = tmp_path_factory.mktemp("parity_ref") / "demo.duckdb"
    shutil.copyfile(engine_db_path, copy)
    return _run_metrics(["--engine", "duckdb", "--db", str(copy)],
                        tmp_path_factory.mktemp("ref") / "duckdb.json")


_REPORTS: dict[str, dict[str, Any]] = {}


# Spark costs minutes on two shared cores (JVM start, a job per query): its cases are
# `slow`, which CI runs (`make test-slow` in .ci/run); DuckDB over the export runs always.
@pytest.fixture(scope="session", params=[
    pytest.param(e, marks=pytest.mark.slow) if e == "spark" else e for e in ENGINES])
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture()
def report(engine: str, request: pytest.FixtureRequest, parity_export: Path,
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The metrics JSON of ``engine`` (computed once per session), after applying the
    test's ``notimpl``/``notyet`` markers for this engine."""
    for kind in ("notimpl", "notyet"):
        for m in request.node.iter_markers(kind):
            if engine in m.args[0]:
                request.applymarker(pytest.mark.xfail(
                    reason=f"{kind} on {engine}: {m.kwargs['reason']}",
                    raises=m.kwargs["raises"], strict=False))
    if engine == "spark":
        request.getfixturevalue("spark_session")  # the one session, tuned; skips without Java
    if engine not in _REPORTS:
        cli_engine = "spark" if engine == "spark" else "duckdb"
        _REPORTS[engine] = _run_metrics(["--engine", cli_engine, "--parquet", str(parity_export)],
                                        tmp_path_factory.mktemp(engine) / f"{engine}.json")
    return _REPORTS[engine]


# -- comparison -----------------------------------------------------------------------------------
def assert_same(got: Any, want: Any, where: str = "") -> None:
    """Equal plain data within the documented tolerances (:func:`differences`)."""
    diffs = differences(got, want, where)
    assert not diffs, "\n".join(diffs)


def test_assert_same_is_strict_where_it_must_be() -> None:
    assert_same({"a": 1, "b": [1.0, None]}, {"a": 1, "b": [1.0 + 1e-12, None]})
    assert_same([3], [3.0])  # an int and a float are compared as numbers
    for got, want in [({"a": 2}, {"a": 1}), ({"b": 1, "a": 1}, {"a": 1, "b": 1}),
                      ([1.0], [1.0001]), ([None], [0.0]), (["x"], ["y"]), ([1, 2], [1]),
                      ([True], [1]), ([1e-6], [0.0])]:
        with pytest.raises(AssertionError):
            assert_same(got, want)


def _raise_unavailable(got: Any, want: Any) -> None:
    """Raise what the engine could not compute (a part the reference has), with the reason
    the report gives, so that a ``notyet`` marker can name the exception it expects."""
    if isinstance(got, dict) and isinstance(want, dict):
        if "unavailable" in got and "unavailable" not in want:
            raise OptionError(got["unavailable"])
        for k in set(got) & set(want):
            _raise_unavailable(got[k], want[k])


# -- the one test body ----------------------------------------------------------------------
@pytest.mark.parametrize("family", CASES)
def test_family_same_on_every_engine(family: str, report: dict[str, Any],
                                     reference: dict[str, Any]) -> None:
    _raise_unavailable(report[family], reference[family])
    assert_same(report[family], reference[family], family)


def test_report_header_same_on_every_engine(report: dict[str, Any],
                                            reference: dict[str, Any]) -> None:
    """Same families in the same order, the same filters and period in the output."""
    assert list(report) == list(reference)
    assert reference["filters"] == {"from": "2023-01-01", "to": "2025-06-30",
                                    "districts": ["D1", "D3"]}
    assert reference["period"]["start"] == "2023-01-01"
    assert reference["period"]["end"] == "2025-06-30"
    for key in ("format_version", "filters", "period"):
        assert_same(report[key], reference[key], key)


def test_reference_respects_the_filters(reference: dict[str, Any]) -> None:
    """The reference is not vacuous: it holds the filtered districts only, and counts."""
    districts = {r["district"] for r in reference["calls"]["by_district"]}
    assert districts == {"D1", "D3"}
    assert reference["calls"]["calls"] > 0
    assert reference["calls"]["calls"] == sum(r["calls"] for r in reference["calls"]["by_priority"])
    assert any(r["median_total_min"] is not None
               for r in reference["response_times"]["by_priority"])
