"""Safe exports: formula-like text neutralised (OWASP), missing values empty, stamps."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from analytics import exports

EVIL = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x.example/a","click")', "+1+2", "-2+3",
        "@SUM(A1)", "\tTAB", "\rCR"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "call_type": EVIL + ["THEFT"],
        "calls": [1, 2, 3, 4, 5, 6, 7, -8],
        "median_min": [1.5, np.nan, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        "shown": ["—", "ok", None, "x", "y", "z", "w", "v"],
    })


def test_neutralise_rule() -> None:
    for v in EVIL:
        assert exports.neutralise(v) == "'" + v
    assert exports.neutralise("THEFT") == "THEFT"
    assert exports.neutralise(-3) == -3 and exports.neutralise(2.5) == 2.5


def test_csv_has_no_live_formula_and_empty_missing() -> None:
    text = exports.csv_bytes(_frame()).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    for v in back["call_type"]:
        assert not str(v).startswith(exports.FORMULA_START), v
    assert back["call_type"].iloc[0] == "'=cmd|' /C calc'!A0"
    assert back["calls"].tolist()[-1] == -8  # numbers stay numbers
    assert back["median_min"].iloc[1] == ""  # NaN written empty
    assert back["shown"].iloc[0] == "" and back["shown"].iloc[2] == ""  # "—" and None too
    assert "—" not in text and "nan" not in text.lower().split(",")


def test_excel_cells_are_values_not_formulas() -> None:
    data = exports.excel_bytes(_frame(), about=exports.about_rows(
        title="t", filters="all data", tier="Privacy tier: public"))
    wb = load_workbook(io.BytesIO(data))
    ws = wb["data"]
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value
            if isinstance(cell.value, str):
                assert not cell.value.startswith(exports.FORMULA_START), cell.value
    assert ws.cell(row=3, column=3).value is None  # the missing median
    about = dict((r[0].value, r[1].value) for r in wb["about"].iter_rows(min_row=2))
    assert about["privacy tier"] == "Privacy tier: public"
    assert about["filters and period"] == "all data"


def test_view_zip_has_tables_and_readme() -> None:
    t1 = exports.ExportTable("By district", pd.DataFrame({"district": ["D1"], "calls": [12]}),
                             "Calls received in the period.")
    t2 = exports.ExportTable("By district", pd.DataFrame({"district": ["D2"], "calls": [40]}))
    data = exports.view_zip([t1, t2], page="Overview", filters="2024-01-01 to 2024-12-31",
                            tier="Privacy tier: public")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert set(names) == {"by_district.csv", "by_district.xlsx", "by_district_2.csv",
                          "by_district_2.xlsx", "README.txt"}
    readme = exports.readme_of(data)
    for part in ("Overview", "2024-01-01 to 2024-12-31", "Privacy tier: public",
                 "Calls received in the period.", "columns: district, calls"):
        assert part in readme
    assert exports.tables_of(data)["by_district_2.csv"]["calls"].tolist() == [40]
