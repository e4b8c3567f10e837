"""The one result family every analytics function returns (STYLE.md "Functions and results").

Every result is a frozen dataclass derived from :class:`Result`, which carries the four
things a page, a download or a report prints beside any number:

``definition``
    What was measured, in words (may be empty when the function's docstring says it).
``exclusions``
    Rows left out and why: a frame with one row per reason (``None`` when nothing was
    excluded or the function excludes nothing).
``sql``
    The SQL that ran, one statement per query, always a tuple of strings.
``caveats``
    Plain-language warnings printed with the result, always a tuple of strings.

Shapes built on it:

- :class:`Table`: a tidy ``frame`` (metric tables, crime tables, response tables, maps).
- :class:`EstimatorResult`: the STYLE.md estimator fields (``estimate, se, ci_low,
  ci_high, p_value, n, method``) with ``to_frame()`` (tidy rows) and ``sentence()``
  (plain language, with units); :class:`analytics.evaluation.Estimate` is the one
  concrete estimator result.
- Any other result subclasses :class:`Result` directly and adds its own named values
  (a KPI card, an offload summary, a claim's answer), or composes other results.

The base fields are keyword-only, so a subclass keeps its own positional fields first.
Results are never mutated: use :func:`dataclasses.replace` or :meth:`Result.with_caveats`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

if TYPE_CHECKING:
    from typing import Self

R = TypeVar("R", bound="Result")


def _strings(value: Any) -> tuple[str, ...]:
    """A tuple of non-empty strings from a string, None or any iterable of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(str(v) for v in value if v)


@dataclass(frozen=True, kw_only=True, eq=False)
class Result:
    """Base of every result: ``definition``, ``exclusions``, ``sql`` and ``caveats``."""

    definition: str = ""
    exclusions: pd.DataFrame | None = None
    sql: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # One shape whatever the caller passed: a single SQL string becomes a 1-tuple.
        object.__setattr__(self, "sql", _strings(self.sql))
        object.__setattr__(self, "caveats", _strings(self.caveats))

    @property
    def sql_text(self) -> str:
        """Every statement of :attr:`sql`, separated by a blank line (for display)."""
        return ";\n\n".join(self.sql)

    def with_caveats(self, *more: str) -> Self:
        """A copy with extra caveats appended (duplicates dropped; self is unchanged)."""
        merged = tuple(dict.fromkeys((*self.caveats, *(m for m in more if m))))
        return replace(self, caveats=merged)


@dataclass(frozen=True, eq=False)
class Table(Result):
    """A result whose value is one tidy frame (columns named in the function's docstring)."""

    frame: pd.DataFrame

    @property
    def empty(self) -> bool:
        """True when the frame has no rows."""
        return self.frame.empty


@dataclass(frozen=True)
class EstimatorResult(Result):
    """Base of estimator results: the STYLE.md fields, ``to_frame()`` and ``sentence()``.

    ``estimate``, ``se``, ``ci_low``, ``ci_high`` and ``p_value`` are on the scale the
    subclass documents; ``n`` counts the observations behind the estimate and ``method``
    names the estimator.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    method: str

    def to_frame(self) -> pd.DataFrame:
        """Tidy rows (one per estimate)."""
        raise NotImplementedError(f"{type(self).__name__} must define to_frame()")

    def sentence(self) -> str:
        """One plain-language sentence with units."""
        raise NotImplementedError(f"{type(self).__name__} must define sentence()")


#: The fields every result carries (see :class:`Result`).
RESULT_FIELDS: frozenset[str] = frozenset({"definition", "exclusions", "sql", "caveats"})


def own_values(result: Result) -> dict[str, Any]:
    """A result's own named values (its fields other than :data:`RESULT_FIELDS`), by name."""
    return {f.name: getattr(result, f.name) for f in fields(result)
            if f.name not in RESULT_FIELDS}


def sql_of(results: Iterable[Result]) -> tuple[str, ...]:
    """The SQL of several results, in order, each statement once."""
    return tuple(dict.fromkeys(s for r in results for s in r.sql))
