"""Grid cells around a point: the covering holds every point within the radius, at few cells."""

import math
import random

from eventonight_events.domain.geocells import MAX_QUERY_CELLS, cells_of, covering


def _destination(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    d = km / 6371.0
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing))
    l2 = l1 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


def test_every_point_within_the_radius_lies_in_a_covering_cell():
    rng = random.Random(3)
    for lat, lon, km in [
        (52.52, 13.405, 30),
        (0.0, 179.9, 50),
        (-33.9, 151.2, 1),
        (64.1, -21.9, 400),
        (40.4, -3.7, 999),
    ]:
        cells = covering(lat, lon, km)
        assert cells is not None and len(cells) <= MAX_QUERY_CELLS, (lat, lon, km)
        for _ in range(300):
            plat, plon = _destination(lat, lon, rng.uniform(0, km * 0.999), rng.uniform(0, 2 * math.pi))
            assert set(cells_of(plat, plon)) & set(cells), (lat, lon, km, plat, plon)


def test_a_small_radius_uses_fine_cells_and_a_pole_none():
    assert all(c.startswith("4:") for c in covering(52.52, 13.405, 2))
    assert covering(88.5, 0, 100) is None, "no pre-filter: every candidate's distance is checked"
    assert covering(0, 0, 30000) is None
