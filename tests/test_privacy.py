"""Privacy tiers: where the tier comes from, what each tier may ask for, and that public
tables hide every small count in a way the published totals cannot undo."""

from __future__ import annotations

import datetime as dt
import io
import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from analytics import privacy
from analytics.errors import OptionError
from analytics.filters import Filters

K = privacy.DEFAULT_K


# -- the tier comes from server configuration only -------------------------------------
def test_default_tier_is_analyst(tmp_path) -> None:
    p = privacy.server_policy({}, secrets_files=[tmp_path / "none.toml"])
    assert p.tier == "analyst" and p.k == 10


def test_env_tier_and_deprecated_alias(tmp_path) -> None:
    none = [tmp_path / "none.toml"]
    assert privacy.server_policy({"CSO_TIER": "public"}, none).tier == "public"
    assert privacy.server_policy({"CSO_PRIVACY_TIER": "command"}, none).tier == "command"
    # the new name wins over the old
    env = {"CSO_TIER": "public", "CSO_PRIVACY_TIER": "analyst"}
    assert privacy.server_policy(env, none).tier == "public"
    assert privacy.server_policy({"CSO_TIER": "public", "CSO_PUBLIC_K": "5"}, none).k == 5


def test_secrets_file_tier(tmp_path) -> None:
    f = tmp_path / "secrets.toml"
    f.write_text('[privacy]\ntier = "command"\nk = 11\n', encoding="utf-8")
    p = privacy.server_policy({}, secrets_files=[f])
    assert (p.tier, p.k) == ("command", 11)
    assert privacy.server_policy({"CSO_TIER": "public"}, [f]).tier == "public"


@pytest.mark.parametrize("env", [{"CSO_TIER": "admin"}, {"CSO_TIER": "public", "CSO_PUBLIC_K": "x"},
                                 {"CSO_TIER": "public", "CSO_PUBLIC_K": "1"}])
def test_bad_configuration_is_named(env, tmp_path) -> None:
    with pytest.raises(OptionError):
        privacy.server_policy(env, [tmp_path / "none.toml"])


def test_url_cannot_set_sensitive_or_tier() -> None:
    f = Filters.from_query_params({"tier": "analyst", "exclude_sensitive": "false",
                                   "district": "D1"})
    assert f.exclude_sensitive is False and f.districts == ("D1",)
    pub = privacy.scope_filters(f, privacy.Policy("public"))
    assert pub.exclude_sensitive and pub.districts == ()


def test_public_scope_one_grid_cell_no_subgroups() -> None:
    f = Filters(start=dt.date(2024, 3, 17), end=dt.date(2024, 2 + 3, 2), districts=("D1",),
                beats=("D1-B01",), priorities=(1,), categories=("traffic",))
    pub = privacy.scope_filters(f, privacy.Policy("public"))
    # 17 Mar – 2 May 2024 lies in calendar year 2024: the whole year, the whole city
    assert pub == Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31),
                          exclude_sensitive=True)
    quarters = privacy.scope_filters(f, privacy.Policy("public", period_unit="quarter"))
    assert (quarters.start, quarters.end) == (dt.date(2024, 4, 1), dt.date(2024, 6, 30))
    cmd = privacy.scope_filters(f, privacy.Policy("command"))
    assert cmd == f.with_(exclude_sensitive=True)
    assert privacy.scope_filters(f, privacy.Policy("analyst")) is f
    args, kwargs = privacy.scope_call(("backend", f), {"filters": f, "x": 1},
                                      privacy.Policy("public"))
    assert args[1] == pub and kwargs == {"filters": pub, "x": 1}


# -- release: what a tier may see --------------------------------------------------------
def test_command_drops_sensitive_rows_only() -> None:
    pol = privacy.Policy("command", sensitive_types=frozenset({"DV"}))
    df = pd.DataFrame({"call_type": ["DV", "THEFT"], "calls": [3, 2]})
    out = privacy.release_frame(df, pol)
    assert out["call_type"].tolist() == ["THEFT"] and out["calls"].tolist() == [2]


def test_public_drops_points_free_text_and_records() -> None:
    pol = privacy.Policy("public")
    areas = pd.DataFrame({"area_id": ["D1", "D2"], "note": ["x", "y"], "lat": [1.0, 2.0],
                          "calls": [50, 60]})
    out = privacy.release_frame(areas, pol)
    assert list(out.columns) == ["area_id", "calls"]
    records = pd.DataFrame({"call_id": ["a"], "district": ["D1"], "minutes": [3.0]})
    assert privacy.release_frame(records, pol).empty


def test_hand_example_district_table() -> None:
    # D1 = 3 is primary; alone it could be read off the city total (98 − 40 − 55), so the
    # smallest other district (D2 = 40) is hidden with it.
    df = pd.DataFrame({"district": ["D1", "D2", "D3"], "calls": [3, 40, 55],
                       "share_pct": [10.0, 20.0, 30.0]})
    out = privacy.release_frame(df, privacy.Policy("public"))
    assert out["calls"].isna().tolist() == [True, True, False]
    assert out["share_pct"].isna().tolist() == [True, True, False]
    assert out["district"].tolist() == ["D1", "D2", "D3"]


def test_total_rows_are_judged_as_totals() -> None:
    df = pd.DataFrame({"offense_category": ["All", "arson", "theft", "assault"],
                       "current": [130, 2, 60, 68]})
    out = privacy.release_frame(df, privacy.Policy("public"))
    assert out["current"].isna().tolist() == [False, True, True, False]


def test_beats_follow_the_district_pattern() -> None:
    # District D2 (7) is hidden; its beats add up to it, so a beat of D2 must be hidden
    # too, and another district (D1, the smaller) to protect D2 in the city total.
    pol = privacy.Policy("public").with_data(
        parents={"D1-B1": "D1", "D1-B2": "D1", "D2-B1": "D2", "D3-B1": "D3", "D3-B2": "D3"})
    beats = pd.DataFrame({"beat": ["D1-B1", "D1-B2", "D2-B1", "D3-B1", "D3-B2"],
                          "calls": [30, 25, 7, 40, 45]})
    out = privacy.release_frame(beats, pol)
    hidden = out.loc[out["calls"].isna(), "beat"].tolist()
    assert "D2-B1" in hidden and len(hidden) >= 2
    published = beats.loc[~beats.index.isin(out.index[out["calls"].isna()]), "calls"]
    assert not ((published > 0) & (published < K)).any()


# -- property: no small count published, no hidden count recoverable --------------------
def _published_system(df: pd.DataFrame, released: pd.DataFrame, areas: list[str],
                      dims: list[str], count: str, policy: privacy.Policy):
    """Every coarser table (area levels up, dimensions summed out), released by the same
    policy as a page would; returns [(members mask over fine rows, value or None)]."""
    levels = [*areas, None]
    totals = []
    for a_i in range(len(levels)):
        for r in range(len(dims) + 1):
            for kept in itertools.combinations(dims, r):
                if a_i == 0 and len(kept) == len(dims):
                    continue
                by = ([levels[a_i]] if levels[a_i] else []) + list(kept)
                if by:
                    agg = df.groupby(by, as_index=False)[count].sum()
                    rel = privacy.release_frame(agg, policy)
                    for (_, row), (_, rrow) in zip(agg.iterrows(), rel.iterrows(), strict=True):
                        mask = np.ones(len(df), dtype=bool)
                        for c in by:
                            mask &= (df[c] == row[c]).to_numpy()
                        v = rrow[count]
                        totals.append((mask, None if pd.isna(v) else float(v), row[count]))
                else:
                    v = df[count].sum()
                    city = v if not (0 < v < policy.k) else None
                    totals.append((np.ones(len(df), dtype=bool), city, v))
    return totals


def _bounds(df, released, totals, count, target_mask):
    hidden = released[count].isna().to_numpy()
    idx = np.flatnonzero(hidden)
    known = df[count].to_numpy(float)
    a_eq, b_eq = [], []
    for mask, value, _ in totals:
        if value is None:
            continue
        a_eq.append(mask[idx].astype(float))
        b_eq.append(value - known[mask & ~hidden].sum())
    c = target_mask[idx].astype(float)
    kw = dict(A_eq=np.array(a_eq) if a_eq else None, b_eq=np.array(b_eq) if b_eq else None,
              bounds=[(0, None)] * len(idx), method="highs")
    lo = linprog(c, **kw)
    hi = linprog(-c, **kw)
    assert lo.status in (0, 3) and hi.status in (0, 3)
    return lo.fun, (np.inf if hi.status == 3 else -hi.fun)


@st.composite
def city_tables(draw):
    n_d = draw(st.integers(1, 3))
    beats = [(f"D{d}-B{b}", f"D{d}") for d in range(n_d)
             for b in range(draw(st.integers(1, 3)))]
    months = [f"2024-{m + 1:02d}" for m in range(draw(st.integers(1, 3)))]
    small = st.integers(0, 12)
    big = st.integers(10, 80)
    rows = [(b, d, m, draw(st.one_of(small, big))) for (b, d) in beats for m in months]
    return pd.DataFrame(rows, columns=["beat", "district", "month", "incidents"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(city_tables())
def test_no_small_count_published_and_none_recoverable(df: pd.DataFrame) -> None:
    # the server knows every beat's district (areas table), as a page's release does
    policy = privacy.Policy("public").with_data(parents=dict(zip(df.beat, df.district, strict=True)))
    released = privacy.release_frame(df, policy)
    pub = released["incidents"].dropna()
    assert not ((pub >= 1) & (pub < K)).any()
    assert (released["incidents"].dropna() == df.loc[pub.index, "incidents"]).all()
    totals = _published_system(df, released, ["beat", "district"], ["month"], "incidents",
                               policy)
    for _, value, _ in totals:
        assert value is None or not (1 <= value < K)
    hidden = released["incidents"].isna().to_numpy()
    # every hidden small beat-month cell: the published totals leave a range, not a value
    for i in np.flatnonzero(hidden):
        v = df["incidents"].iat[i]
        if 1 <= v < K:
            lo, hi = _bounds(df, released, totals, "incidents", np.arange(len(df)) == i)
            assert hi - lo > 0.5, (i, v, lo, hi)
    # every hidden small total (a district-month, a beat over all months …): likewise
    for mask, value, true in totals:
        if value is None and 1 <= true < K:
            lo, hi = _bounds(df, released, totals, "incidents", mask)
            assert hi - lo > 0.5, (true, lo, hi)


def test_overlapping_windows_are_separate_tables() -> None:
    # 28-day and 365-day windows overlap: their sum is no total, so a small 28-day cell
    # is protected inside the 28-day table only (by the "all" row and a complement).
    df = pd.DataFrame({"window": ["28-day"] * 4 + ["365-day"] * 4,
                       "offense_category": ["all", "arson", "theft", "assault"] * 2,
                       "current": [130, 3, 60, 67, 1500, 140, 700, 660]})
    out = privacy.release_frame(df, privacy.Policy("public"))
    assert out["current"].isna().tolist() == [False, True, True, False,
                                              False, False, False, False]


def test_breakdown_counts_hidden_cell_by_cell() -> None:
    # calls_total = calls + officer_initiated + above_cap. A month with 2 calls above the
    # cap hides that cell and a second part of the same row (the row total is known), not
    # the month's calls or median.
    df = pd.DataFrame({"month": ["2024-01", "2024-02", "2024-03"],
                       "calls_total": [150, 160, 170], "officer_initiated": [30, 30, 30],
                       "above_cap": [2, 30, 40], "calls": [118, 100, 100],
                       "median_min": [5.0, 6.0, 7.0]})
    out = privacy.release_frame(df, privacy.Policy("public"))
    assert out["median_min"].notna().all() and out["calls"].notna().all()
    assert out["above_cap"].isna().iat[0] and out["officer_initiated"].isna().iat[0]


def test_a_lone_breakdown_count_hides_its_row() -> None:
    # one part only: calls_total − calls would give it back, so the row goes (and a
    # complement row, for the column totals)
    df = pd.DataFrame({"month": ["2024-01", "2024-02", "2024-03"],
                       "calls_total": [120, 130, 140], "above_cap": [2, 30, 40],
                       "calls": [118, 100, 100]})
    out = privacy.release_frame(df, privacy.Policy("public"))
    assert out["calls"].isna().iat[0] and out["calls_total"].isna().iat[0]
    assert out["calls"].isna().sum() >= 2


# -- the metrics command's JSON -----------------------------------------------------------
def _records_lists(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _records_lists(v, f"{path}.{k}")
    elif isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
        yield path, obj
        for r in obj:
            yield from _records_lists(r, path + "[]")


# Integer fields of the report that count no one.
NOT_PEOPLE = {"priority", "hour", "year", "cso_count", "population", "n_units", "n_clusters"}


def test_public_metrics_json_has_no_small_count(demo_db_path, tmp_path, monkeypatch) -> None:
    import json
    import shutil

    from analytics import cli

    copy = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db_path, copy)
    monkeypatch.setenv("CSO_TIER", "public")
    out = tmp_path / "m.json"
    # --tier can only be stricter: asking for analyst on a public server stays public
    assert cli.main(["metrics", "--db", str(copy), "--json", str(out), "--tier", "analyst",
                     "--district", "D1"]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["privacy_tier"].startswith("Privacy tier: public")
    sensitive = set(pd.read_csv(io.StringIO(_crosswalk_csv(copy)))
                    .query("sensitive")["call_type"])
    seen = 0
    for path, rows in _records_lists(report):
        for r in rows:
            for k, v in r.items():
                if isinstance(v, int) and not isinstance(v, bool) and k not in NOT_PEOPLE:
                    seen += 1
                    assert not (1 <= v < K), (path, k, r)
                if isinstance(v, str):
                    assert v not in sensitive, (path, k)
    assert seen > 50  # the report does hold counts
    # the district filter was not applied (a public view is the whole city)
    assert '"D2"' in out.read_text(encoding="utf-8")


def _crosswalk_csv(path) -> str:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT call_type, sensitive FROM call_types").df().to_csv(index=False)


# -- periods on a grid: two public views never overlap in part (the differencing attack) --
SPAN = (dt.date(2022, 1, 1), dt.date(2025, 6, 17))  # 2022–2024 complete, 2025 not


def _public(unit: str = "year") -> privacy.Policy:
    return privacy.Policy("public", period_unit=unit).with_data(data_span=SPAN)


@settings(max_examples=300, deadline=None)
@given(a=st.tuples(st.dates(dt.date(2021, 6, 1), dt.date(2025, 12, 31)),
                   st.dates(dt.date(2021, 6, 1), dt.date(2025, 12, 31))),
       b=st.tuples(st.dates(dt.date(2021, 6, 1), dt.date(2025, 12, 31)),
                   st.dates(dt.date(2021, 6, 1), dt.date(2025, 12, 31))),
       unit=st.sampled_from(["year", "quarter"]))
def test_two_public_periods_are_equal_or_disjoint(a, b, unit) -> None:
    # Jan–Jun and Jan–Jul published side by side would give July by subtraction; on the
    # grid any two requested periods come out as the same cell or as cells that share no day.
    pol = _public(unit)
    fa = privacy.scope_filters(Filters(start=min(a), end=max(a)), pol)
    fb = privacy.scope_filters(Filters(start=min(b), end=max(b)), pol)
    same = (fa.start, fa.end) == (fb.start, fb.end)
    assert same or fa.end < fb.start or fb.end < fa.start, (fa, fb)
    for f in (fa, fb):  # a whole cell, inside the data
        assert SPAN[0] <= f.start and f.end <= SPAN[1]
        if unit == "year":
            assert (f.start.month, f.start.day, f.end.month, f.end.day) == (1, 1, 12, 31)
        else:
            assert f.start.day == 1 and f.start.month in (1, 4, 7, 10)
            assert (f.end + dt.timedelta(days=1)).month == (f.start.month + 3 - 1) % 12 + 1


def test_a_period_the_data_do_not_cover_fully_becomes_the_latest_whole_one() -> None:
    pol = _public()
    # 2025 runs only to 17 June: asking for it (a link, a CLI date) gives 2024, never a
    # part year that a later, fuller 2025 could be subtracted from
    f = privacy.scope_filters(Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31)), pol)
    assert (f.start, f.end) == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    f = privacy.scope_filters(Filters(start=dt.date(2023, 2, 1), end=dt.date(2023, 2, 28)), pol)
    assert (f.start, f.end) == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    # undated (the evaluation's "all data up to the end") stays open on that side
    f = privacy.scope_filters(Filters(end=dt.date(2023, 5, 1)), pol)
    assert (f.start, f.end) == (None, dt.date(2023, 12, 31))


def test_period_grid_comes_from_server_configuration(tmp_path) -> None:
    none = [tmp_path / "none.toml"]
    assert privacy.server_policy({"CSO_TIER": "public"}, none).period_unit == "year"
    assert privacy.server_policy({"CSO_TIER": "public", "CSO_PUBLIC_PERIOD": "quarter"},
                                 none).period_unit == "quarter"
    with pytest.raises(OptionError):
        privacy.server_policy({"CSO_TIER": "public", "CSO_PUBLIC_PERIOD": "month"}, none)


def test_windows_that_are_not_whole_public_periods_are_not_released() -> None:
    # Crime trends' windows end on the period's last day: the last 28 days of 2025 are
    # 4–31 Dec, so December's count minus theirs would give 1–3 December.
    d = dt.date
    df = pd.DataFrame({
        "window": ["28-day", "365-day"], "offense_category": ["all", "all"],
        "current_start": [d(2025, 12, 4), d(2025, 1, 1)],
        "current_end": [d(2025, 12, 31), d(2025, 12, 31)],
        "previous_start": [d(2025, 11, 6), d(2024, 1, 1)],
        "previous_end": [d(2025, 12, 3), d(2024, 12, 31)],
        "current": [120, 1500], "previous": [110, 1400]})
    out = privacy.release_frame(df, privacy.Policy("public"))
    assert out["window"].tolist() == ["365-day"]   # 2025 against 2024: whole years
    quarters = privacy.release_frame(df, privacy.Policy("public", period_unit="quarter"))
    assert quarters.empty
    assert privacy.release_frame(df, privacy.Policy("command")).equals(df)
