"""Maps that work offline: call density, choropleths, deployment areas, before/after change.

PRODUCT.md section 5 (maps) and section 6 (privacy tiers). Every layer is built from an
aggregated frame computed in the database — counts per grid cell or per area, never raw calls
— and no layer carries more than a few thousand features:

- **density**: calls (or incidents) binned to square grid cells in SQL
  (``floor((lat - lat0) / dlat)``); cells are enlarged until at most ``MAX_CELLS`` remain;
  the polygons are built here with plain arithmetic.
- **choropleth**: one metric per beat or district (:data:`METRICS`) with a legend and
  tooltips. Call metrics follow the Overview definitions (PRODUCT.md section 3).
- **deployments**: the ``deployments`` areas outlined and labelled with their start (and
  end) dates and CSO counts.
- **change**: counts per area in a "before" and an "after" window of equal length;
  difference and Poisson z = √2(√after − √before) per area on a diverging scale, the exact
  conditional p-value and a flag when the Benjamini–Hochberg q-value over the areas is
  below 0.0027 (``analytics.poisson_change``); areas where either count is below
  ``SMALL_COUNT`` (10) are greyed.
- **points**: incident points, for the analyst tier only and only when the filtered count
  is at most ``MAX_POINTS`` (2,000).

The HTML comes from ``offlinefolium`` (the ``folium-offline`` package, a folium fork that
inlines Leaflet instead of linking a CDN). Only Leaflet's JS and CSS are embedded (no
jQuery, Bootstrap or Font Awesome: nothing here uses them), so a map is about 0.2 MB of
self-contained HTML. The basemap is none by default; a tile URL for a department's own
tile server can be stored in ``settings`` (``map_tile_url``, ``map_tile_attribution``).

Clicking an area posts ``{"type": "cso-map-click", "area_id": ..., "level": ...}`` to the
parent window, so a page can turn a click into a filter.
Layout: :mod:`~analytics.maps.measures` (the aggregated frames, in Ibis),
:mod:`~analytics.maps.rendering` (the HTML) and :mod:`~analytics.maps.settings` (basemap,
privacy tier). Every public name is importable from ``analytics.maps``.
"""

from analytics.maps.measures import (
    AREA_LEVELS,
    CHANGE_OUTCOMES,
    DENSITY_SOURCES,
    MAX_CELLS,
    MAX_POINTS,
    METRICS,
    PUBLIC_MIN_CELL,
    SMALL_COUNT,
    TIERS,
    AreaLevel,
    AreaMetric,
    ChangeMap,
    ChangeOutcome,
    ChangeWindows,
    DensityGrid,
    DensitySource,
    Deployments,
    IncidentPoints,
    Metric,
    MetricSpec,
    Tier,
    area_metric,
    area_shapes,
    call_metrics_expr,
    change_by_area,
    default_change_windows,
    density_cells,
    deployment_areas,
    incident_metrics_expr,
    incident_points,
    shapes_bounds,
)
from analytics.maps.rendering import (
    change_map_html,
    choropleth_html,
    density_map_html,
    deployments_map_html,
    points_map_html,
)
from analytics.maps.settings import TileSetting, resolve_tier, set_tile_setting, tile_setting

__all__ = [
    "AREA_LEVELS", "CHANGE_OUTCOMES", "DENSITY_SOURCES", "MAX_CELLS", "MAX_POINTS", "METRICS",
    "PUBLIC_MIN_CELL", "SMALL_COUNT", "TIERS", "AreaLevel", "AreaMetric", "ChangeMap",
    "ChangeOutcome", "ChangeWindows", "DensityGrid", "DensitySource", "Deployments",
    "IncidentPoints", "Metric", "MetricSpec", "Tier", "TileSetting", "area_metric",
    "area_shapes", "call_metrics_expr", "change_by_area", "change_map_html", "choropleth_html",
    "default_change_windows", "density_cells", "density_map_html", "deployment_areas",
    "deployments_map_html", "incident_metrics_expr", "incident_points", "points_map_html",
    "resolve_tier", "set_tile_setting", "shapes_bounds", "tile_setting",
]
