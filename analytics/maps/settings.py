"""Map settings: the optional basemap (tile server) and the server's privacy tier.

Both are server settings stored in ``settings`` (or the environment), never widgets.
Reads take an Ibis backend; :func:`set_tile_setting` writes and takes the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analytics.engines import execute
from analytics.errors import OptionError
from analytics.maps.measures import Tier
from analytics.privacy import server_policy


@dataclass(frozen=True)
class TileSetting:
    """An optional basemap from a department's own tile server."""

    url: str
    attribution: str = ""


def _settings(backend: Any, keys: tuple[str, ...]) -> dict[str, str]:
    s = backend.table("settings")
    got = execute(backend, s.filter(s.key.isin(list(keys))).select("key", "value"))[0]
    return dict(zip(got["key"], got["value"], strict=True))


def tile_setting(backend: Any) -> TileSetting | None:
    """The basemap tile URL from ``settings`` (``map_tile_url``), or None (no basemap)."""
    values = _settings(backend, ("map_tile_url", "map_tile_attribution"))
    url = (values.get("map_tile_url") or "").strip()
    if not url:
        return None
    return TileSetting(url, (values.get("map_tile_attribution") or "").strip())


def _check_tile_url(url: str) -> None:
    if not url.startswith(("http://", "https://", "/")):
        raise OptionError(f"tile URL must start with http://, https:// or /; got {url!r}")
    missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
    if missing:
        raise OptionError(f"tile URL must contain {{z}}, {{x}} and {{y}}; {', '.join(missing)} "
                          f"missing in {url!r}")


def set_tile_setting(con: Any, url: str | None,
                     attribution: str = "") -> None:
    """Store (or, with an empty ``url``, clear) the basemap tile URL and attribution."""
    url = (url or "").strip()
    if url:
        _check_tile_url(url)
    con.execute("DELETE FROM settings WHERE key IN ('map_tile_url', 'map_tile_attribution')")
    if url:
        con.execute("INSERT INTO settings VALUES ('map_tile_url', ?), "
                    "('map_tile_attribution', ?)", [url, attribution.strip()])


def resolve_tier(backend: Any = None) -> Tier:
    """The server's privacy tier (:func:`analytics.privacy.server_policy`: ``$CSO_TIER``
    or the secrets file). Set on the server, never by a widget or the database."""
    return server_policy().tier
