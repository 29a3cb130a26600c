"""Geo cells: a latitude/longitude grid at a few sizes, so a radius search starts from an index.

Each located event stores the cell it falls in at every size (``cells_of``); a radius query
asks for the cells covering the circle's bounding box at the finest size that needs no more
than ``MAX_QUERY_CELLS`` of them (``covering``), then checks the exact distance on those
candidates only. Plain strings in an ordinary index: the same plan on every MongoDB server.
"""

from __future__ import annotations

import math

#: Cell sizes in degrees, coarse to fine (~1,780 km, ~440 km, ~110 km, ~28 km, ~7 km of latitude).
SIZES = (16.0, 4.0, 1.0, 0.25, 0.0625)
MAX_QUERY_CELLS = 9
_KM_PER_DEGREE = 111.2


def _cell(level: int, lat: float, lon: float) -> str:
    size = SIZES[level]
    lon = (lon + 180.0) % 360.0 - 180.0
    return f"{level}:{math.floor(lat / size)}:{math.floor(lon / size)}"


def cells_of(lat: float, lon: float) -> list[str]:
    """The cell holding the point, at every size."""
    return [_cell(level, lat, lon) for level in range(len(SIZES))]


def covering(lat: float, lon: float, radius_km: float) -> list[str] | None:
    """Cells whose union contains the circle, at the finest size with few enough; None if none fits.

    None (a radius reaching a pole, or wider than the coarsest grid allows) means: no pre-filter,
    check the distance on every candidate.
    """
    dlat = radius_km / _KM_PER_DEGREE
    if abs(lat) + dlat >= 89.0:
        return None
    dlon = dlat / math.cos(math.radians(abs(lat) + dlat))
    if dlon >= 180.0:
        return None
    for level in range(len(SIZES) - 1, -1, -1):
        size = SIZES[level]
        rows = range(math.floor((lat - dlat) / size), math.floor((lat + dlat) / size) + 1)
        columns = range(math.floor((lon - dlon) / size), math.floor((lon + dlon) / size) + 1)
        if len(rows) * len(columns) > MAX_QUERY_CELLS:
            continue
        # A column past the antimeridian is the same cell as its wrapped twin.
        cells = {_cell(level, (row + 0.5) * size, (column + 0.5) * size) for row in rows for column in columns}
        return sorted(cells)
    return None
