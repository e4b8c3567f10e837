"""Map rendering: self-contained HTML (Leaflet inlined by ``offlinefolium``) from the
aggregated frames of :mod:`analytics.maps.measures`; no queries here.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from analytics.errors import InsufficientDataError
from analytics.maps.measures import (
    METRICS,
    PUBLIC_MIN_CELL,
    SMALL_COUNT,
    AreaMetric,
    ChangeMap,
    DensityGrid,
    Deployments,
    IncidentPoints,
    _fmt_date,
    shapes_bounds,
)
from analytics.maps.settings import TileSetting
from analytics.poisson_change import FLAG_LEVEL_TEXT, fmt_pvalue

log = logging.getLogger(__name__)

GREY_SMALL = "#bdbdbd"    # small counts / suppressed
GREY_NODATA = "#f0f0f0"   # no data under the current filters
# ColorBrewer YlGnBu (5) and RdBu (7, reversed: blue = fewer, red = more).
SEQUENTIAL = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
DIVERGING = ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b")
Z_BREAKS = (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)
DEPLOY_COLOR = "#7b3294"


_CSS = """
<style>
  html, body {margin:0; padding:0;}
  .leaflet-container {background:#fafafa !important; font-family: 'Source Sans Pro', Arial, sans-serif;}
  path.leaflet-interactive:focus {outline: none;}
  .cso-legend {position:absolute; bottom:24px; right:10px; z-index:1000; background:rgba(255,255,255,.93);
    padding:6px 9px; border-radius:4px; box-shadow:0 1px 4px rgba(0,0,0,.3); font:12px Arial, sans-serif;
    max-width:260px; line-height:1.35;}
  .cso-legend b {display:block; margin-bottom:3px;}
  .cso-legend i {display:inline-block; width:16px; height:11px; margin-right:6px; vertical-align:-1px;
    border:1px solid #999;}
  .cso-dep-label {background:rgba(255,255,255,.88); border:1px solid #7b3294; color:#3f0f55;
    font:11px Arial, sans-serif; font-weight:600; padding:2px 5px; box-shadow:none; white-space:normal;
    max-width:170px; text-align:center;}
</style>
"""

_CLICK_JS = """
function(feature, layer) {
  layer.on('click', function() {
    try {
      window.parent.postMessage({type: 'cso-map-click', area_id: feature.properties.area_id,
                                 level: feature.properties.level}, '*');
    } catch (e) {}
  });
  layer.on('mouseover', function(e) { e.target.setStyle({weight: 3, color: '#222'}); });
  layer.on('mouseout', function(e) { e.target.setStyle({weight: feature.properties.style.weight,
                                                         color: feature.properties.style.color}); });
}
"""

_LABEL_JS = """
function(feature, layer) {
  layer.bindTooltip(feature.properties.label, {permanent: true, direction: 'center',
                                               className: 'cso-dep-label'});
}
"""


def _base_map(bounds: tuple[float, float, float, float] | None, tiles: TileSetting | None) -> Any:
    import offlinefolium

    m = offlinefolium.Map(location=None if bounds else [0, 0], zoom_start=2, tiles=None,
                          control_scale=True, width="100%", height="100%")
    # Leaflet only: jQuery, Bootstrap and Font Awesome are unused here and would add 1.3 MB.
    m.default_js = [p for p in m.default_js if p[0] == "leaflet"]
    m.default_css = [p for p in m.default_css if p[0] == "leaflet_css"]
    if tiles is not None:
        offlinefolium.TileLayer(tiles=tiles.url, attr=tiles.attribution or "basemap",
                                name="Basemap", overlay=False, control=False).add_to(m)
    if bounds:
        s, w, n, e = bounds
        m.fit_bounds([[s, w], [n, e]], padding=(10, 10))
    m.get_root().header.add_child(offlinefolium.Element(_CSS), name="cso_css")
    return m


def _legend(m: Any, title: str, rows: Sequence[tuple[str, str]], note: str = "") -> None:
    from branca.element import Element

    items = "".join(f"<div><i style='background:{c}'></i>{html.escape(t)}</div>" for c, t in rows)
    extra = f"<div style='margin-top:3px;color:#555'>{html.escape(note)}</div>" if note else ""
    m.get_root().html.add_child(Element(
        f"<div class='cso-legend'><b>{html.escape(title)}</b>{items}{extra}</div>"))


def _feature(area_id: str, level: str, geom: dict, style: dict, **props: Any) -> dict:
    return {"type": "Feature", "geometry": geom,
            "properties": {"area_id": area_id, "level": level, "style": style, **props}}


def _geojson_layer(features: list[dict], name: str, tooltip: Sequence[tuple[str, str]] | None,
                   on_each_feature: str | None) -> Any:
    import offlinefolium
    from offlinefolium.utilities import JsCode

    tip = None
    if tooltip:
        tip = offlinefolium.GeoJsonTooltip(fields=[f for f, _ in tooltip],
                                           aliases=[a for _, a in tooltip], sticky=True)
    return offlinefolium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=name, tooltip=tip,
        on_each_feature=JsCode(on_each_feature) if on_each_feature else None)


def _finish(m: Any, layers: int) -> str:
    import offlinefolium

    if layers > 1:
        offlinefolium.LayerControl(collapsed=False).add_to(m)
    return m.get_root().render()


def _breaks(values: pd.Series, k: int = 5) -> list[float]:
    """k equal-interval class edges over the finite values (k + 1 edges)."""
    v = values.dropna()
    if v.empty:
        return []
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        return [lo, hi]
    return [lo + (hi - lo) * i / k for i in range(k + 1)]


def _quantile_breaks(values: pd.Series, k: int = 5) -> list[float]:
    v = values.dropna()
    if v.empty:
        return []
    edges = sorted(set(float(x) for x in v.quantile([i / k for i in range(k + 1)])))
    return edges if len(edges) > 1 else [edges[0], edges[0]]


def _class_color(x: float, edges: list[float]) -> str:
    if len(edges) < 2 or edges[0] == edges[-1]:
        return SEQUENTIAL[2]
    k = len(edges) - 1
    for i in range(k):
        if x <= edges[i + 1]:
            return SEQUENTIAL[min(round(i * (len(SEQUENTIAL) - 1) / max(k - 1, 1)), 4)]
    return SEQUENTIAL[-1]


def _fmt(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "min":
        return f"{value:.1f} min"
    if unit == "per 1,000":
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _seq_legend_rows(edges: list[float], unit: str) -> list[tuple[str, str]]:
    if len(edges) < 2:
        return []
    if edges[0] == edges[-1]:
        return [(SEQUENTIAL[2], _fmt(edges[0], unit))]
    rows = []
    for i in range(len(edges) - 1):
        rows.append((_class_color((edges[i] + edges[i + 1]) / 2, edges),
                     f"{_fmt(edges[i], unit)} – {_fmt(edges[i + 1], unit)}"))
    return rows


def _add_deployments(m: Any, deployments: Deployments | None) -> int:
    if deployments is None or deployments.frame.empty:
        return 0
    import offlinefolium

    group = offlinefolium.FeatureGroup(name="CSO deployment areas")
    outlines = [
        _feature(r.area_id, r.level, r.geometry,
                 {"color": DEPLOY_COLOR, "weight": 2.5, "dashArray": "6 4", "fill": False})
        for r in deployments.frame.itertuples()
    ]
    # Not interactive: clicks and tooltips go to the areas underneath.
    layer = _geojson_layer(outlines, "outlines", None, None)
    layer.options["interactive"] = False
    layer.add_to(group)
    labels = deployments.labels if deployments.labels is not None else deployments.frame
    feats = [
        _feature("label", "", r.geometry, {"stroke": False, "fill": False},
                 label=html.escape(r.label).replace("\n", "<br>"))
        for r in labels.itertuples()
    ]
    layer = _geojson_layer(feats, "labels", None, _LABEL_JS)
    layer.options["interactive"] = False
    layer.add_to(group)
    group.add_to(m)
    return 1


def _count_text(v: Any) -> str:
    """A count for a tooltip; a value the privacy tier suppressed reads "suppressed"."""
    return "suppressed" if pd.isna(v) else f"{int(v):,}"


def choropleth_html(
    shapes: pd.DataFrame,
    values: AreaMetric,
    *,
    deployments: Deployments | None = None,
    tiles: TileSetting | None = None,
    period: str = "",
) -> str:
    """Self-contained HTML: areas coloured by one metric, legend, tooltips, deployments."""
    spec = METRICS[values.metric]
    frame = shapes[["area_id", "geometry"]].merge(values.frame, on="area_id", how="left")
    edges = _breaks(frame["value"])
    m = _base_map(shapes_bounds(shapes), tiles)
    feats = []
    for r in frame.itertuples():
        if r.suppressed:
            fill, shown = GREY_SMALL, "suppressed (small numbers)"
        elif pd.isna(r.value):
            fill = GREY_NODATA
            shown = "outside the filter" if not r.in_filter else "no data"
        else:
            fill, shown = _class_color(float(r.value), edges), _fmt(float(r.value), spec.unit)
        feats.append(_feature(
            r.area_id, values.level, r.geometry,
            {"color": "#555", "weight": 1, "fillColor": fill, "fillOpacity": 0.75},
            name=html.escape(str(r.name)), shown=shown, n=_count_text(r.n)))
    n_label = {"cso_share": "Eligible public calls", "p1_median_min": "P1 calls counted",
               "calls_per_1k": "Calls"}.get(values.metric, "Count")
    _geojson_layer(feats, spec.label, [("name", values.level.title()), ("shown", spec.label),
                                       ("n", n_label)], _CLICK_JS).add_to(m)
    layers = 1 + _add_deployments(m, deployments)
    rows = _seq_legend_rows(edges, spec.unit) + [(GREY_NODATA, "no data / outside filter")]
    if frame["suppressed"].fillna(False).any():
        rows.append((GREY_SMALL, "suppressed (small numbers)"))
    if deployments is not None and not deployments.frame.empty:
        rows.append(("#ffffff", "dashed purple: CSO deployment area"))
    _legend(m, f"{spec.label} by {values.level}", rows, period)
    return _finish(m, layers)


def density_map_html(
    shapes: pd.DataFrame,
    grid: DensityGrid,
    *,
    deployments: Deployments | None = None,
    tiles: TileSetting | None = None,
    period: str = "",
) -> str:
    """Self-contained HTML: grid cells shaded by count, beat outlines, deployments."""
    m = _base_map(shapes_bounds(shapes), tiles)
    outlines = [_feature(r.area_id, "beat", r.geometry,
                         {"color": "#777", "weight": 1, "fill": True, "fillOpacity": 0.0},
                         name=html.escape(str(r.name)))
                for r in shapes.itertuples()]
    _geojson_layer(outlines, "Boundaries", [("name", "Area")], _CLICK_JS).add_to(m)
    edges = _quantile_breaks(grid.frame["n"]) if len(grid.frame) else []
    feats = []
    for i, r in enumerate(grid.frame.itertuples()):
        ring = [[r.lon_min, r.lat_min], [r.lon_max, r.lat_min], [r.lon_max, r.lat_max],
                [r.lon_min, r.lat_max], [r.lon_min, r.lat_min]]
        feats.append({"type": "Feature",
                      "geometry": {"type": "Polygon", "coordinates": [ring]},
                      "properties": {"area_id": f"cell{i}", "n": _count_text(r.n),
                                     "style": {"stroke": False,
                                               "fillColor": _class_color(float(r.n), edges),
                                               "fillOpacity": 0.8}}})
    if feats:
        _geojson_layer(feats, f"{grid.source.title()} density",
                       [("n", grid.source.title())], None).add_to(m)
    layers = 2 + _add_deployments(m, deployments)
    size = f"{grid.cell_m:,.0f} m" if grid.cell_m < 1000 else f"{grid.cell_m / 1000:,.1f} km"
    note = f"{period} · cells of {size}"
    if grid.n_suppressed_cells:
        note += f" · {grid.n_suppressed_cells} cells with < {PUBLIC_MIN_CELL} hidden"
    _legend(m, f"{grid.source.title()} per cell", _seq_legend_rows(edges, grid.source), note)
    return _finish(m, layers)


def _z_color(z: float) -> str:
    for i, edge in enumerate(Z_BREAKS):
        if z < edge:
            return DIVERGING[i]
    return DIVERGING[-1]


def change_map_html(
    shapes: pd.DataFrame,
    change: ChangeMap,
    *,
    deployments: Deployments | None = None,
    tiles: TileSetting | None = None,
) -> str:
    """Self-contained HTML: Poisson z per area on a diverging scale, small counts grey."""
    frame = shapes[["area_id", "geometry"]].merge(change.frame, on="area_id", how="left")
    m = _base_map(shapes_bounds(shapes), tiles)
    feats = []
    for r in frame.itertuples():
        hidden = pd.isna(r.before) or pd.isna(r.after)  # suppressed by the privacy tier
        if not r.in_filter:
            fill = GREY_NODATA
        elif hidden or r.small:
            fill = GREY_SMALL
        else:
            fill = _z_color(float(r.z))
        pct = "—" if pd.isna(r.pct) else f"{r.pct:+.1f} %"
        flag = f"  (notable: BH q < {FLAG_LEVEL_TEXT})" if r.flagged and r.in_filter else ""
        feats.append(_feature(
            r.area_id, change.level, r.geometry,
            {"color": "#555", "weight": 1, "fillColor": fill, "fillOpacity": 0.8},
            name=html.escape(str(r.name)), before=_count_text(r.before),
            after=_count_text(r.after),
            diff="suppressed" if pd.isna(r.diff) else f"{int(r.diff):+,}", pct=pct,
            z="suppressed" if pd.isna(r.z) else f"{r.z:+.2f}",
            p="suppressed" if pd.isna(r.p_exact) else f"{fmt_pvalue(r.p_exact)}{flag}"))
    _geojson_layer(feats, "Before/after change",
                   [("name", change.level.title()), ("before", "Before"), ("after", "After"),
                    ("diff", "Difference"), ("pct", "Change"), ("z", "Poisson z"),
                    ("p", "Exact p")],
                   _CLICK_JS).add_to(m)
    layers = 1 + _add_deployments(m, deployments)
    labels = ["z < −3 (fewer)", "−3 to −2", "−2 to −1", "−1 to 1 (no clear change)",
              "1 to 2", "2 to 3", "z ≥ 3 (more)"]
    rows = list(zip(DIVERGING, labels, strict=True))
    rows.append((GREY_SMALL, f"before or after < {SMALL_COUNT}, or suppressed"))
    w = change.windows
    note = (f"before {w.before_start} – {w.before_end}, after {w.after_start} – {w.after_end}; "
            f"z = √2(√after − √before); notable: BH q < {FLAG_LEVEL_TEXT} over the areas shown")
    _legend(m, f"Change in {change.outcome.replace('_', ' ')}", rows, note)
    return _finish(m, layers)


WAVE_COLORS = ("#6a51a3", "#9e9ac8", "#cbc9e2", "#dadaeb", "#efedf5")


def deployments_map_html(
    shapes: pd.DataFrame, deployments: Deployments, *, tiles: TileSetting | None = None
) -> str:
    """Self-contained HTML: areas shaded by the date their CSO deployment started (one
    shade per start date, earliest darkest), never-deployed areas white, labels with dates
    and CSO counts."""
    m = _base_map(shapes_bounds(shapes), tiles)
    start_of: dict[str, Any] = {}
    for r in deployments.frame.itertuples():
        start_of[r.area_id] = min(start_of.get(r.area_id, r.start_date), r.start_date)
    waves = sorted(set(start_of.values()))
    color = {d: WAVE_COLORS[min(i, len(WAVE_COLORS) - 1)] for i, d in enumerate(waves)}
    feats = []
    for r in shapes.itertuples():
        start = start_of.get(r.area_id, start_of.get(r.parent_id))
        feats.append(_feature(
            r.area_id, "beat", r.geometry,
            {"color": "#777", "weight": 1,
             "fillColor": "#ffffff" if start is None else color[start], "fillOpacity": 0.7},
            name=html.escape(str(r.name)),
            treated="never (comparison)" if start is None else f"since {_fmt_date(start)}"))
    _geojson_layer(feats, "Boundaries", [("name", "Area"), ("treated", "CSO deployment")],
                   _CLICK_JS).add_to(m)
    layers = 1 + _add_deployments(m, deployments)
    rows = [(color[d], f"started {_fmt_date(d)}") for d in waves]
    _legend(m, "CSO deployments", [*rows, ("#ffffff", "never deployed (comparison)")],
            "labels: dates and CSO counts")
    return _finish(m, layers)


def points_map_html(
    shapes: pd.DataFrame,
    points: IncidentPoints,
    *,
    deployments: Deployments | None = None,
    tiles: TileSetting | None = None,
) -> str:
    """Self-contained HTML: incident points (analyst tier, small counts only)."""
    if points.frame is None:
        raise InsufficientDataError(points.reason or "no points to draw")
    import offlinefolium

    m = _base_map(shapes_bounds(shapes), tiles)
    outlines = [_feature(r.area_id, "beat", r.geometry,
                         {"color": "#777", "weight": 1, "fillColor": "#ffffff",
                          "fillOpacity": 0.3}, name=html.escape(str(r.name)))
                for r in shapes.itertuples()]
    _geojson_layer(outlines, "Boundaries", [("name", "Area")], _CLICK_JS).add_to(m)
    colors = {"violent": "#d7191c", "property": "#fdae61", "quality_of_life": "#2b83ba"}
    group = offlinefolium.FeatureGroup(name="Incidents")
    for r in points.frame.itertuples():
        when = "" if pd.isna(r.occurred) else f"{pd.Timestamp(r.occurred):%Y-%m-%d %H:%M}"
        offlinefolium.CircleMarker(
            location=[float(r.lat), float(r.lon)], radius=4, weight=1, color="#333",
            fill=True, fill_color=colors.get(r.offense_category, "#999"), fill_opacity=0.85,
            tooltip=html.escape(f"{r.offense or r.offense_category or 'incident'} · {when}"),
        ).add_to(group)
    group.add_to(m)
    layers = 2 + _add_deployments(m, deployments)
    rows = [(c, k.replace("_", " ")) for k, c in colors.items()] + [("#999", "other")]
    _legend(m, f"Incidents ({points.n_total:,})", rows, "analyst tier only")
    return _finish(m, layers)
