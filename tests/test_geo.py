"""Coordinates, boxes, distances and H3 cells (longitude first, always)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven.geo import BBox, LonLat, bbox_around, h3_cells, haversine_km

lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
lats = st.floats(min_value=-89, max_value=89, allow_nan=False)


def test_lonlat_refuses_out_of_range() -> None:
    for lon, lat in [(181, 0), (-180.5, 0), (0, 91), (0, -90.01), (math.nan, 0), (0, math.inf)]:
        with pytest.raises(ValueError):
            LonLat(lon, lat)


def test_haversine_known_distance() -> None:
    gaza_city = LonLat(34.4668, 31.5017)
    rafah = LonLat(34.2452, 31.2968)
    assert haversine_km(gaza_city, rafah) == pytest.approx(30.9, abs=0.5)
    assert haversine_km(gaza_city, gaza_city) == 0


@given(
    lon=lons, lat=lats, radius=st.floats(min_value=0.1, max_value=2000), bearing=st.floats(0, 360)
)
def test_box_around_holds_the_circle(
    *, lon: float, lat: float, radius: float, bearing: float
) -> None:
    centre = LonLat(lon, lat)
    box = bbox_around(centre, radius_km=radius)
    # a point on the circle, by the spherical destination formula
    d = radius / 6371.0088
    b = math.radians(bearing)
    lat1, lon1 = math.radians(lat), math.radians(lon)
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(b))
    lon2 = lon1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * math.sin(lat2)
    )
    on_circle = LonLat((math.degrees(lon2) + 540) % 360 - 180, math.degrees(lat2))
    shrunk = LonLat(
        centre.lon + (on_circle.lon - centre.lon) * 0.999
        if abs(on_circle.lon - centre.lon) < 180
        else on_circle.lon,
        centre.lat + (on_circle.lat - centre.lat) * 0.999,
    )
    assert box.contains(shrunk)


def test_bbox_parse_errors_say_what_is_wrong() -> None:
    assert BBox.parse("34,31,35,32") == BBox(34, 31, 35, 32)
    for bad in ["34,31,35", "a,b,c,d", "34,33,35,32", "200,0,10,10"]:
        with pytest.raises(ValueError):
            BBox.parse(bad)


def test_antimeridian_box() -> None:
    box = BBox(170, -10, -170, 10)
    assert box.contains(LonLat(179, 0))
    assert box.contains(LonLat(-179, 0))
    assert not box.contains(LonLat(0, 0))


def test_h3_cells_respect_precision() -> None:
    point = LonLat(34.4668, 31.5017)
    all_cells = h3_cells(point)
    assert all(all_cells.values())
    coarse = h3_cells(point, finest=4)
    assert coarse[4] == all_cells[4]
    assert coarse[6] is None and coarse[8] is None
