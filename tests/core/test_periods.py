"""The named period rules (analytics.core.periods): expected dates worked out by hand."""

from __future__ import annotations

import datetime as dt

from analytics.core import periods

D = dt.date


def test_grid_cells_are_calendar_years_and_quarters() -> None:
    assert periods.grid_cell(D(2024, 2, 29), "year") == (D(2024, 1, 1), D(2024, 12, 31))
    assert periods.grid_cell(D(2024, 2, 29), "quarter") == (D(2024, 1, 1), D(2024, 3, 31))
    assert periods.grid_cell(D(2024, 11, 5), "quarter") == (D(2024, 10, 1), D(2024, 12, 31))
    assert periods.grid_cell(D(2024, 6, 30), "quarter") == (D(2024, 4, 1), D(2024, 6, 30))


def test_complete_cells_only_those_the_data_cover_from_first_to_last_day() -> None:
    # data from 15 Mar 2022 to 17 Jun 2025: 2022 and 2025 are part years
    years = periods.complete_cells(D(2022, 3, 15), D(2025, 6, 17), "year")
    assert years == [(D(2024, 1, 1), D(2024, 12, 31)), (D(2023, 1, 1), D(2023, 12, 31))]
    quarters = periods.complete_cells(D(2022, 3, 15), D(2025, 6, 17), "quarter")
    assert quarters[0] == (D(2025, 1, 1), D(2025, 3, 31))      # Q2 2025 is not over
    assert quarters[-1] == (D(2022, 4, 1), D(2022, 6, 30))     # Q1 2022 began before the data
    assert len(quarters) == 12                                 # Q2 2022 … Q1 2025
    assert periods.complete_cells(None, None, "year") == []


def test_public_period_is_the_cell_containing_the_end_else_the_latest() -> None:
    lo, hi = D(2022, 1, 1), D(2025, 12, 31)
    assert periods.public_period(None, lo, hi) == (D(2025, 1, 1), D(2025, 12, 31))
    assert periods.public_period(D(2023, 7, 1), lo, hi) == (D(2023, 1, 1), D(2023, 12, 31))
    assert periods.public_period(D(2030, 1, 1), lo, hi) == (D(2025, 1, 1), D(2025, 12, 31))
    assert periods.public_period(None, D(2024, 1, 10), D(2024, 2, 10)) is None
    assert periods.describe_cell((D(2025, 7, 1), D(2025, 9, 30)), "quarter") == "Q3 2025"
    assert periods.describe_cell((D(2025, 1, 1), D(2025, 12, 31)), "year") == "2025"


def test_sidebar_one_click_periods() -> None:
    assert periods.last_12_months(D(2022, 1, 1), D(2025, 6, 17)) == (D(2024, 6, 18),
                                                                    D(2025, 6, 17))
    assert periods.last_12_months(D(2025, 1, 1), D(2025, 6, 17)) == (D(2025, 1, 1),
                                                                    D(2025, 6, 17))
    assert periods.last_12_months(D(2020, 1, 1), D(2024, 2, 29)) == (D(2023, 3, 1),
                                                                    D(2024, 2, 29))
    assert periods.year_to_date(D(2022, 1, 1), D(2025, 6, 17)) == (D(2025, 1, 1),
                                                                  D(2025, 6, 17))
