"""The tiny city of ``tests/tiny_city.py`` with hostile text in every data value a page
names: call category and description, district and beat names, the deployment note and
the incidents' offense. Each value holds a Markdown image, a raw HTML image and Markdown
bold, all pointing at a documentation address (203.0.113.0/24, TEST-NET-3) that no test
machine serves: a page that renders any of them fetches it, and the browser test sees it.
"""

from __future__ import annotations

import json
from pathlib import Path

from analytics import db, facts
from tests import tiny_city

HOST = "203.0.113.9"
IMG_MD = f"![x](http://{HOST}/md.png)"
IMG_HTML = f"<img src=http://{HOST}/html.png>"
BOLD = "**bold**"
CATEGORY = f"{IMG_MD} {BOLD}"
DESCRIPTION = f"{BOLD} {IMG_HTML}"
DISTRICT = f"{IMG_HTML} {BOLD}"
BEAT = f"{IMG_MD} beat"
NOTE = f"{IMG_HTML} {IMG_MD}"
OFFENSE = f"{IMG_MD} {IMG_HTML}"
CALL_TYPE = f"NOISE {IMG_MD}"
# A filter value a link may carry that the data do not have (the sidebar names it).
UNKNOWN = f"![q](http://{HOST}/link.png)"
VALUES = (CATEGORY, DESCRIPTION, DISTRICT, BEAT, NOTE, OFFENSE, CALL_TYPE)


def _square(x: float, y: float, d: float = 0.01) -> str:
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def build(path: Path) -> Path:
    """Write the hostile tiny city to ``path`` (a new DuckDB file) and return it."""
    con = db.connect(path)
    try:
        tiny_city.build(con)
        con.execute("UPDATE call_types SET category = ?, description = ?, call_type = ? "
                    "WHERE call_type = 'NOISE'", [CATEGORY, DESCRIPTION, CALL_TYPE])
        con.execute("UPDATE calls SET call_type = ? WHERE call_type = 'NOISE'", [CALL_TYPE])
        con.execute("UPDATE areas SET name = ? WHERE area_id = 'D1'", [DISTRICT])
        con.execute("UPDATE areas SET name = ? WHERE area_id = 'D1-B01'", [BEAT])
        # Boundaries, so the Maps page draws areas (and their tooltips and labels).
        shapes = {"D1-B01": (0.0, 0.0), "D1-B02": (0.01, 0.0), "D2-B01": (0.02, 0.0)}
        for area, (x, y) in shapes.items():
            con.execute("UPDATE areas SET geometry = ? WHERE area_id = ?", [_square(x, y), area])
        con.execute("UPDATE areas SET geometry = ? WHERE area_id = 'D1'",
                    [json.dumps({"type": "Polygon", "coordinates": [
                        [[0, 0], [0.02, 0], [0.02, 0.01], [0, 0.01], [0, 0]]]})])
        con.execute("UPDATE areas SET geometry = ? WHERE area_id = 'D2'", [_square(0.02, 0.0)])
        con.execute("UPDATE deployments SET note = ?", [NOTE])
        con.executemany(
            "INSERT INTO incidents (incident_id, occurred_at, reported_at, offense, "
            "offense_category, district, beat) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(f"i{i}", f"2024-0{1 + i % 2}-1{i % 9} 12:00", f"2024-0{1 + i % 2}-1{i % 9} 13:00",
              OFFENSE, OFFENSE if i % 2 else "property", "D1" if i % 3 else "D2",
              "D1-B01" if i % 3 else "D2-B01") for i in range(12)])
        facts.refresh_derived(con)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path
