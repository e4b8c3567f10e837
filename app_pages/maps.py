"""Maps: where calls and crimes are, how the CSO programme reaches each area, and what
changed after a deployment. Works with no internet access (Leaflet is inlined)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from analytics import maps
from analytics.errors import CSOError
from analytics.filters import Filters
from ui import components, state
from ui.cache import cached
from ui.text import md, plain

MAP_HEIGHT = 620
KEY_LAYER = "maps_layer"
KEY_CLICK = "maps_click"
KEY_TABLE = "maps_table"

LAYERS = {
    "choropleth": "Metric by area",
    "deployments": "Deployment areas",
    "change": "Before / after change",
    "density": "Call density",
    "points": "Incident points",
}

st.title("🗺️ Maps")
if state.empty_database_notice():  # an `init` database before its first import
    st.stop()

backend = state.get_backend()
filters = state.current_filters()

# -- the click-to-filter map component ---------------------------------------------------
# The map HTML (Leaflet inlined) goes into an iframe; a click on an area posts a message
# that this small component turns into a trigger value. Pan and zoom send nothing, so they
# never rerun the page.
_MAP_JS = """
export default function(component) {
  const { data, parentElement, setTriggerValue } = component;
  let frame = parentElement.querySelector('iframe');
  if (!frame) {
    frame = document.createElement('iframe');
    frame.title = 'map';
    frame.style.width = '100%';
    frame.style.border = '0';
    parentElement.appendChild(frame);
  }
  frame.style.height = data.height + 'px';
  if (frame.dataset.key !== data.key) {
    frame.dataset.key = data.key;
    frame.srcdoc = data.html;
  }
  const onMessage = (e) => {
    if (e.source !== frame.contentWindow || !e.data || e.data.type !== 'cso-map-click') return;
    setTriggerValue('clicked', {area_id: e.data.area_id, level: e.data.level, at: Date.now()});
  };
  window.addEventListener('message', onMessage);
  return () => window.removeEventListener('message', onMessage);
}
"""
_map_component = st.components.v2.component("cso_offline_map", js=_MAP_JS)


def _set_area_filter(area_id: str | None, level: str | None) -> None:
    """Make a clicked/selected area the global filter (clicking it again clears it)."""
    if not area_id:
        return
    key = state.KEY_BEATS if level == "beat" else state.KEY_DISTRICTS
    current = list(st.session_state.get(key) or [])
    st.session_state[key] = [] if current == [area_id] else [area_id]
    if level != "beat":
        st.session_state[state.KEY_BEATS] = []


def _on_map_click() -> None:
    result = st.session_state.get(KEY_CLICK)
    clicked = getattr(result, "clicked", None)
    if clicked is None and isinstance(result, dict):
        clicked = result.get("clicked")
    if isinstance(clicked, dict):
        _set_area_filter(clicked.get("area_id"), clicked.get("level"))


def show_map(html: str, key: str) -> None:
    """Render a self-contained map; ``key`` changes whenever ``html`` does."""
    _map_component(key=KEY_CLICK, data={"html": html, "key": key, "height": MAP_HEIGHT},
                   height=MAP_HEIGHT + 10, on_clicked_change=_on_map_click)


# -- analytics behind each layer (called through ui.cache.cached) --------------------------
def _deployments(backend, filters: Filters):
    return cached(maps.deployment_areas, backend, filters)


def _choropleth(backend, filters, level, metric, tier, show_dep, tiles):
    shapes = cached(maps.area_shapes, backend, level)
    # through cached: released for the server's tier before anything is drawn from it
    values = cached(maps.area_metric, backend, filters, level, metric, tier=tier, _shapes=shapes)
    dep = _deployments(backend, filters) if show_dep else None
    html = maps.choropleth_html(shapes, values, deployments=dep, tiles=tiles,
                                period=filters.describe())
    return html, values


def _density(backend, filters, source, cell_m, tier, show_dep, tiles):
    shapes = cached(maps.area_shapes, backend, "beat")
    grid = cached(maps.density_cells, backend, filters, source=source, cell_m=cell_m, tier=tier)
    dep = _deployments(backend, filters) if show_dep else None
    return maps.density_map_html(shapes, grid, deployments=dep, tiles=tiles,
                                 period=filters.describe()), grid


def _change(backend, filters, level, outcome, windows, show_dep, tiles):
    shapes = cached(maps.area_shapes, backend, level)
    change = cached(maps.change_by_area, backend, filters, level, outcome, windows,
                    _shapes=shapes)
    dep = _deployments(backend, Filters()) if show_dep else None
    return maps.change_map_html(shapes, change, deployments=dep, tiles=tiles), change


def _deployment_map(backend, filters, tiles):
    dep = _deployments(backend, filters)
    return maps.deployments_map_html(cached(maps.area_shapes, backend, "beat"), dep,
                                     tiles=tiles), dep


def _points(backend, filters, tier, show_dep, tiles):
    pts = cached(maps.incident_points, backend, filters, tier=tier)
    if pts.frame is None:
        return None, pts
    dep = _deployments(backend, filters) if show_dep else None
    return maps.points_map_html(cached(maps.area_shapes, backend, "beat"), pts, deployments=dep,
                                tiles=tiles), pts


DRAWING = "Drawing the map…"


def _table(df, title: str, level: str | None) -> None:
    """The layer's numbers; selecting a row filters the whole app to that area."""
    if level is None:
        components.table_with_downloads(df, title, filters=filters, key=KEY_TABLE)
        return

    def on_select() -> None:
        rows = st.session_state[KEY_TABLE].selection.rows
        if rows:
            _set_area_filter(str(df.iloc[rows[0]]["area"]), level)

    components.show_table(df, on_select=on_select, selection_mode="single-row", key=KEY_TABLE)
    components.download_table(df, title, filters=filters, key=f"{KEY_TABLE}_dl")


# -- widgets -------------------------------------------------------------------------------
try:
    tier = state.policy().tier  # the server's configuration (analytics.privacy)
    tiles = maps.tile_setting(backend)
except CSOError as exc:
    st.error(f"Map settings are not usable: {components.plain(exc)}. Fix the `settings` table or "
             "the CSO_TIER variable.")
    st.stop()

layer_keys = [k for k in LAYERS if k != "points" or tier == "analyst"]
if st.session_state.get(KEY_LAYER) not in (None, *layer_keys):
    st.session_state[KEY_LAYER] = "choropleth"   # e.g. points on a public-tier server
layer = st.segmented_control("Layer", layer_keys, format_func=LAYERS.get,
                             default="choropleth", key=KEY_LAYER,
                             bind="query-params") or "choropleth"  # shareable: ?maps_layer=
c2, c3, c4 = st.columns([2, 1, 2], vertical_alignment="bottom")
with c4:
    show_dep = st.toggle("Show CSO deployment areas", value=True,
                         help="Dashed purple outlines labelled with start dates and CSO "
                              "counts.") if layer != "deployments" else True

components.period_caption(
    filters, md("Privacy tier: **{}** · basemap: {} · click an area (or a table row) to filter "
                "every page to it.", tier,
                "tiles from " + tiles.url if tiles else "none (boundaries only)"))
_presence = state.data_presence()
if layer != "density" and _presence.missing("areas"):
    components.missing_data(["areas"], "Maps by beat and district (the boundaries to draw)")
    st.caption("The **Call density** layer needs only call coordinates.")
    st.stop()
if layer == "deployments" and _presence.missing("deployments"):
    components.missing_data(["deployments"], "The deployment map")
    st.stop()

try:
    if layer == "choropleth":
        with c2:
            metric = st.selectbox("Metric", list(maps.METRICS),
                                  format_func=lambda k: maps.METRICS[k].label,
                                  index=list(maps.METRICS).index("cso_share"), key="maps_metric",
                                  bind="query-params")
        with c3:
            level = st.radio("Areas", maps.AREA_LEVELS, horizontal=True, key="maps_level",
                             format_func=str.title, bind="query-params")
        html, values = cached(_choropleth, backend, filters, level, metric, tier, show_dep, tiles,
                              spinner=DRAWING)
        show_map(html, f"choro-{hash(html)}")
        spec = maps.METRICS[metric]
        if values.unmapped:
            st.caption(md("{:,} {} are in areas without a boundary and are not drawn.",
                          values.unmapped, spec.source))
        df = values.frame[values.frame["in_filter"]].drop(columns=["in_filter"])
        df = df.rename(columns={"area_id": "area", "value": spec.label,
                                "n": "count behind the value"})
        _table(df.reset_index(drop=True), f"{spec.label} by {level}", level)
        components.how_computed(md("**{}** — {}\n\n", spec.label, spec.definition)
                                + (maps.__doc__ or ""),
                                sql=values.sql, key="maps_how")

    elif layer == "density":
        with c2:
            source = st.selectbox("Count", maps.DENSITY_SOURCES, format_func=str.title,
                                  key="maps_density_source")
        with c3:
            cell_m = st.select_slider("Cell size (metres)", [250, 500, 1000, 2000], value=500,
                                      key="maps_cell", help="Cells grow automatically "
                                      f"when more than {maps.MAX_CELLS:,} would be needed.")
        html, grid = cached(_density, backend, filters, source, float(cell_m), tier, show_dep,
                            tiles, spinner=DRAWING)
        if grid.n_total == 0:
            components.no_data(filters, f"{source} with coordinates")
        show_map(html, f"density-{hash(html)}")
        st.caption(md("{:,} {} with coordinates in {:,} cells of {:,.0f} m.", grid.n_total,
                      source, len(grid.frame), grid.cell_m))
        components.how_computed(maps.density_cells.__doc__ or "", sql=grid.sql,
                                key="maps_how")

    elif layer == "deployments":
        html, dep = cached(_deployment_map, backend, filters, tiles, spinner=DRAWING)
        if dep.frame.empty:
            st.info("No CSO deployments match the filters. Add deployments on the **Data** "
                    "page, or widen the date range.")
        show_map(html, f"dep-{hash(html)}")
        df = dep.frame[["area_id", "level", "name", "district", "periods", "start_date",
                        "cso_count"]].rename(columns={"area_id": "area"})
        _table(df, "CSO deployments", None)
        components.how_computed("Deployment periods from the `deployments` table, joined to "
                                "their boundaries in `areas`.", sql=dep.sql, key="maps_how")

    elif layer == "change":
        options = cached(maps.default_change_windows, backend)
        labels = [w.label for w in options] + ["Custom windows…"]
        with c2:
            outcome = st.selectbox("Count", maps.CHANGE_OUTCOMES,
                                   format_func=lambda k: k.replace("_", " ").capitalize(),
                                   key="maps_change_outcome")
        choice = st.selectbox("Before / after around", labels, key="maps_change_window",
                              help="Defaults come from the deployments table: the same "
                                   "number of days before and after each start date.")
        with c3:
            level = st.radio("Areas", maps.AREA_LEVELS, horizontal=True,
                             key="maps_change_level", format_func=str.title)
        if choice == labels[-1]:
            w1, w2, w3 = st.columns(3)
            default = options[0].after_start if options else dt.date.today()
            after_start = w1.date_input("After starts", value=default, key="maps_after")
            days = int(w2.number_input("Days in each window", 7, 3650, 365, key="maps_days"))
            windows = maps.ChangeWindows(
                "custom", after_start - dt.timedelta(days=days),
                after_start - dt.timedelta(days=1), after_start,
                after_start + dt.timedelta(days=days - 1))
            w3.caption(md("Before: {} – {}  \nAfter: {} – {}", windows.before_start,
                          windows.before_end, windows.after_start, windows.after_end))
        else:
            windows = options[labels.index(choice)]
        html, change = cached(_change, backend, filters, level, outcome, windows, show_dep, tiles,
                              spinner=DRAWING)
        show_map(html, f"change-{hash(html)}")
        st.caption("Blue: fewer after; red: more. z = √2(√after − √before), about N(0, 1) "
                   "when nothing changed; a change is notable when its Benjamini–Hochberg "
                   "q-value over the areas shown (from the exact test's p) is below 0.0027. "
                   f"Grey: fewer than {maps.SMALL_COUNT} before or after — "
                   "too few to read. The windows replace the sidebar dates; area, priority "
                   "and category filters still apply.")
        df = change.frame[change.frame["in_filter"]].drop(columns=["in_filter"])
        df = df.assign(pct=df["pct"].round(1), z=df["z"].round(2)).rename(
            columns={"area_id": "area", "pct": "change %", "small": f"< {maps.SMALL_COUNT}",
                     "p_exact": "exact p", "q_bh": "BH q (areas shown)",
                     "flagged": "notable (BH q < 0.0027)"})
        _table(df.reset_index(drop=True), f"Before-after change in {outcome}", level)
        components.how_computed(maps.change_by_area.__doc__ or "", sql=change.sql,
                                key="maps_how")

    else:  # points (analyst tier only)
        html, pts = cached(_points, backend, filters, tier, show_dep, tiles, spinner=DRAWING)
        if html is None:
            st.info(plain(pts.reason))
        else:
            show_map(html, f"points-{hash(html)}")
            _table(pts.frame, "Incident points", None)
            components.how_computed(maps.incident_points.__doc__ or "", sql=pts.sql,
                                    key="maps_how")
except CSOError as exc:
    st.error(f"This map cannot be drawn: {components.plain(exc)}")

if not state.read_only():  # a command or public server saves nothing
    with st.expander("Basemap (optional)"):
        st.markdown(
            "Maps show boundaries only, so they work with no internet access. If your "
            "department runs its own tile server, enter its URL template here "
            "(`{z}`, `{x}`, `{y}` placeholders). Leave it empty for no basemap.")
        with st.form("maps_tiles"):
            url = st.text_input("Tile URL", value=tiles.url if tiles else "",
                                placeholder="https://tiles.example.gov/{z}/{x}/{y}.png")
            attribution = st.text_input("Attribution", value=tiles.attribution if tiles else "")
            if st.form_submit_button("Save basemap setting"):
                try:
                    maps.set_tile_setting(state.get_con(), url, attribution)
                except CSOError as exc:
                    st.error(f"Not saved: {components.plain(exc)}")
                else:
                    st.success("Saved. The maps use the new basemap setting now.")
                    st.rerun()
