"""The global filters shared by every page: a frozen, hashable value.

Pages build one :class:`Filters` from the sidebar widgets (mirrored into the URL query
string) and pass it to analytics functions, which apply it with :meth:`Filters.apply`.
Being frozen and hashable, it is the cache key of ``st.cache_data`` helpers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from analytics.errors import OptionError

#: Query-string keys, one per field (the URL mirror of the sidebar, ui/state.py).
QUERY_PARAM_KEYS = ("start", "end", "district", "beat", "priority", "category")
MAX_QP_VALUE_CHARS = 200
MAX_QP_VALUES = 500


def _as_tuple(values: Any, cast: type = str) -> tuple:
    if values is None:
        return ()
    if isinstance(values, (str, int)):
        values = [values]
    return tuple(sorted({cast(v) for v in values}))


@dataclass(frozen=True)
class Filters:
    """Date range, areas, priorities and call categories; empty tuple = no restriction.

    ``start`` and ``end`` are inclusive calendar dates. ``categories`` applies to call
    categories (``call_types.category``) for call tables and to ``offense_category`` for
    incidents only when the caller says so (calls and crimes are never mixed).
    """

    start: dt.date | None = None
    end: dt.date | None = None
    districts: tuple[str, ...] = field(default_factory=tuple)
    beats: tuple[str, ...] = field(default_factory=tuple)
    priorities: tuple[int, ...] = field(default_factory=tuple)
    categories: tuple[str, ...] = field(default_factory=tuple)
    # Set by the privacy tier (analytics.privacy.scope_filters), never from the URL:
    # leave out call types the crosswalk marks sensitive.
    exclude_sensitive: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "districts", _as_tuple(self.districts))
        object.__setattr__(self, "beats", _as_tuple(self.beats))
        object.__setattr__(self, "priorities", _as_tuple(self.priorities, int))
        object.__setattr__(self, "categories", _as_tuple(self.categories))
        if self.start and self.end and self.start > self.end:
            raise OptionError(f"start date {self.start} is after end date {self.end}")

    # -- convenience -----------------------------------------------------------------
    @classmethod
    def for_span(cls, start: dt.date | None, end: dt.date | None, *,
                 data_min: dt.date | None, data_max: dt.date | None) -> Filters:
        """The date filter of a chosen span: an end at the data's first or last date is
        no restriction (None), so pages pick their own default period (the sidebar's rule)."""
        return cls(start=None if start == data_min else start,
                   end=None if end == data_max else end)

    def with_(self, **changes: Any) -> Filters:
        """A copy with some fields changed (the original is never mutated)."""
        return replace(self, **changes)

    def shifted_years(self, years: int) -> Filters:
        """The same filter over the date range moved by ``years`` (for 'same period last year')."""

        def shift(d: dt.date | None) -> dt.date | None:
            if d is None:
                return None
            if not dt.MINYEAR <= d.year + years <= dt.MAXYEAR:  # saturate at the calendar
                return dt.date.min if years < 0 else dt.date.max
            try:
                return d.replace(year=d.year + years)
            except ValueError:  # 29 February
                return d.replace(year=d.year + years, day=28)

        return replace(self, start=shift(self.start), end=shift(self.end))

    def describe(self) -> str:
        """One line for captions and export stamps."""
        parts = []
        if self.start or self.end:
            parts.append(f"{self.start or '…'} to {self.end or '…'}")
        if self.districts:
            parts.append("district " + ", ".join(self.districts))
        if self.beats:
            parts.append("beat " + ", ".join(self.beats))
        if self.priorities:
            parts.append("priority " + ", ".join(str(p) for p in self.priorities))
        if self.categories:
            parts.append("category " + ", ".join(self.categories))
        if self.exclude_sensitive:
            parts.append("sensitive call types excluded")
        return "; ".join(parts) if parts else "all data"

    def describe_view(self, data_min: dt.date | None, data_max: dt.date | None) -> str:
        """The exact dates and the other filters, for every page's caption.

        Where the sidebar sets no date, the period is the data's span (``data_min`` …
        ``data_max``) and the text says so: "1 Jan 2022 – 31 Dec 2025 (all data) · all
        districts, beats, priorities and call categories".
        """
        def day(d: dt.date) -> str:
            return f"{d.day} {d:%b %Y}"

        start, end = self.start or data_min, self.end or data_max
        if start is None or end is None:
            period = "no dated data"
        else:
            period = f"{day(start)} – {day(end)}"
            if self.start is None and self.end is None:
                period += " (all data)"
        rest = self.with_(start=None, end=None).describe()
        rest = ("all districts, beats, priorities and call categories" if rest == "all data"
                else rest)
        return f"Period {period} · {rest}"

    # -- application -----------------------------------------------------------------
    def apply(
        self,
        table: Any,
        *,
        time_col: str | None = "received_at",
        district_col: str | None = "district",
        beat_col: str | None = "beat",
        priority_col: str | None = "priority",
        category_col: str | None = "category",
    ) -> Any:
        """Filter an Ibis table; pass ``None`` for a column the table does not have.

        Dates are compared on whole days: ``start <= time_col < end + 1 day``.
        ``exclude_sensitive`` drops rows whose ``sensitive`` column is true
        (``call_facts`` and every aggregate built from it carry one; a table without
        it, such as the incidents, is left as it is).
        """
        preds = []
        if time_col is not None:
            col = table[time_col]
            if self.start is not None:
                preds.append(col >= dt.datetime.combine(self.start, dt.time()))
            if self.end is not None and self.end < dt.date.max:  # date.max: no upper bound
                preds.append(col < dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time()))
        if district_col is not None and self.districts:
            preds.append(table[district_col].isin(list(self.districts)))
        if beat_col is not None and self.beats:
            preds.append(table[beat_col].isin(list(self.beats)))
        if priority_col is not None and self.priorities:
            preds.append(table[priority_col].isin(list(self.priorities)))
        if category_col is not None and self.categories:
            preds.append(table[category_col].isin(list(self.categories)))
        if self.exclude_sensitive and "sensitive" in table.columns:
            preds.append(~table["sensitive"])
        return table.filter(preds) if preds else table

    # -- URL query string ------------------------------------------------------------
    def to_query_params(self) -> dict[str, str | list[str]]:
        """Query-string form (only the fields that are set)."""
        qp: dict[str, str | list[str]] = {}
        if self.start:
            qp["start"] = self.start.isoformat()
        if self.end:
            qp["end"] = self.end.isoformat()
        if self.districts:
            qp["district"] = list(self.districts)
        if self.beats:
            qp["beat"] = list(self.beats)
        if self.priorities:
            qp["priority"] = [str(p) for p in self.priorities]
        if self.categories:
            qp["category"] = list(self.categories)
        return qp

    @classmethod
    def from_query_params(cls, qp: Mapping[str, Any]) -> Filters:
        """Parse a query-string mapping; values that do not parse are ignored."""
        return cls.parse_query_params(qp)[0]

    @classmethod
    def parse_query_params(cls, qp: Mapping[str, Any]) -> tuple[Filters, tuple[str, ...]]:
        """Parse a query-string mapping into filters and the ``key=value`` items dropped
        because they do not parse (a date that is not ISO, a priority that is not a whole
        number 0–99 written in ASCII digits, a value longer than 200 characters, more than
        500 values for one key). Keys other than the filters' are not looked at."""
        dropped: list[str] = []

        def many(key: str) -> list[str]:
            getter = getattr(qp, "get_all", None)
            if getter is not None:
                vals = list(getter(key))
            else:
                v = qp.get(key)
                vals = [] if v is None else list(v) if isinstance(v, (list, tuple)) else [v]
            keep = []
            for v in vals:
                text = str(v)
                if len(text) > MAX_QP_VALUE_CHARS or len(keep) >= MAX_QP_VALUES:
                    dropped.append(f"{key}={text[:40]}…" if len(text) > 40 else f"{key}={text}")
                else:
                    keep.append(text)
            return keep

        def date(key: str) -> dt.date | None:
            vals = many(key)
            if not vals:
                return None
            try:
                return dt.date.fromisoformat(vals[0])
            except ValueError:
                dropped.append(f"{key}={vals[0]}")
                return None

        start, end = date("start"), date("end")
        if start and end and start > end:
            start, end = end, start
        prios = []
        for p in many("priority"):
            # str.isdigit accepts "²" and other digits int() refuses: ASCII digits only.
            if p.isascii() and p.isdigit() and int(p) <= 99:
                prios.append(int(p))
            else:
                dropped.append(f"priority={p}")
        f = cls(
            start=start,
            end=end,
            districts=tuple(many("district")),
            beats=tuple(many("beat")),
            priorities=tuple(prios),
            categories=tuple(many("category")),
        )
        return f, tuple(dropped)

