"""What the database holds: choices for the global filters and the data's date span."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from analytics import engines


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
    the boundary file lacks), so every value present in the data can be selected. One
    grouped scan of the smallest table that has these columns: ``area_day_facts`` (calls
    per day × area × priority × category, about a tenth of ``call_facts`` at 10M calls)
    when it exists, else ``call_facts``.
    """
    if engines.has_table(backend, "area_day_facts"):
        f = backend.table("area_day_facts")
        day = f.day
    else:
        f = backend.table("call_facts")
        day = f.received_at
    combos = (f.group_by(["district", "beat", "priority", "category"])
              .aggregate(lo=day.min(), hi=day.max()).to_pandas())
    los = [v for v in combos["lo"] if v is not None and v == v]  # NaT check
    his = [v for v in combos["hi"] if v is not None and v == v]
    a = backend.table("areas").select("area_id", "level", "parent_id").to_pandas()
    beat_map: dict[str, str | None] = {}
    calls_beats = combos[combos["beat"].notna()][["beat", "district"]].drop_duplicates()
    area_beats = a[a["level"] == "beat"].rename(columns={"area_id": "beat",
                                                         "parent_id": "district"})
    for frame in (area_beats, calls_beats):
        for b, d in zip(frame["beat"], frame["district"], strict=True):
            if b not in beat_map or beat_map[b] is None:
                beat_map[b] = None if d is None or d != d else str(d)
    districts = {str(d) for d in combos["district"] if d is not None and d == d}
    districts |= {str(d) for d in a.loc[a["level"] == "district", "area_id"]}
    prios = {int(p) for p in combos["priority"] if p is not None and p == p}
    cats = {str(c) for c in combos["category"] if c is not None and c == c}
    return FilterOptions(
        min_date=to_date(min(los)) if los else None,
        max_date=to_date(max(his)) if his else None,
        districts=tuple(sorted(districts)),
        beats=tuple(sorted(beat_map.items())),
        priorities=tuple(sorted(prios)),
        categories=tuple(sorted(cats)),
    )
