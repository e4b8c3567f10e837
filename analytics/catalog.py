"""What the database holds: choices for the global filters and the data's date span."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FilterOptions:
    """Values offered by the sidebar filters."""

    min_date: dt.date | None
    max_date: dt.date | None
    districts: tuple[str, ...]
    beats: tuple[tuple[str, str | None], ...]  # (beat, its district)
    priorities: tuple[int, ...]
    categories: tuple[str, ...]

    def beats_in(self, districts: tuple[str, ...]) -> tuple[str, ...]:
        """Beats of the given districts (all beats when none is given)."""
        return tuple(b for b, d in self.beats if not districts or d in districts)


def to_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return getattr(value, "date", lambda: None)()


def filter_options(backend: Any) -> FilterOptions:
    """Distinct districts, beats, priorities, call categories and the call date span.

    Areas come from ``areas`` and from the calls themselves (imported calls may name beats
    the boundary file lacks), so every value present in the data can be selected.
    """
    f = backend.table("call_facts")
    span = f.aggregate(lo=f.received_at.min(), hi=f.received_at.max()).to_pandas()
    lo, hi = (span["lo"].iloc[0], span["hi"].iloc[0]) if len(span) else (None, None)
    lo = None if lo is None or lo != lo else lo  # NaT check without pandas import
    hi = None if hi is None or hi != hi else hi

    beats_calls = f.select("beat", "district").filter(f.beat.notnull()).distinct().to_pandas()
    a = backend.table("areas")
    beat_areas = (
        a.filter(a.level == "beat").select(beat=a.area_id, district=a.parent_id).to_pandas()
    )
    beat_map: dict[str, str | None] = {}
    for frame in (beat_areas, beats_calls):
        for b, d in zip(frame["beat"], frame["district"], strict=True):
            if b not in beat_map or beat_map[b] is None:
                beat_map[b] = None if d is None or d != d else str(d)
    districts = set(
        f.select("district").filter(f.district.notnull()).distinct().to_pandas()["district"]
    )
    districts |= set(a.filter(a.level == "district").select("area_id").to_pandas()["area_id"])
    prios = f.select("priority").filter(f.priority.notnull()).distinct().to_pandas()["priority"]
    cats = f.select("category").filter(f.category.notnull()).distinct().to_pandas()["category"]
    return FilterOptions(
        min_date=to_date(lo),
        max_date=to_date(hi),
        districts=tuple(sorted(str(d) for d in districts)),
        beats=tuple(sorted(beat_map.items())),
        priorities=tuple(sorted(int(p) for p in prios)),
        categories=tuple(sorted(str(c) for c in cats)),
    )
