"""A city's warning districts as a generated tiling: a square cut into a grid or Voronoi cells.

Why it exists: a city-wide warning service warns by district, and a fine partition warns fewer
people per rocket (Israel's alert zones were refined from 258 to about 3,000, FACTS.md).
Writing three thousand polygons by hand into a scenario file would bury the file; a scenario
instead says ``warning_districts: {extent_m, cells_per_side, layout}`` and the districts are
generated here, deterministically from their ``seed``, when the scenario is resolved.

``grid`` cuts the square into equal squares. ``voronoi`` places one seed point per grid cell,
moved uniformly by up to ``jitter`` of a cell from its centre, and takes the Voronoi cells of
those points clipped to the square (shapely, GEOS): irregular districts of nearly equal area,
like a city's, that still tile the square without gaps or overlaps. Districts are numbered row
by row from the south-west corner (``district-0001`` …), so a name always means the same cell
for the same specification.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon, box

__all__ = ["district_names", "district_polygons"]


def district_names(prefix: str, cells_per_side: int) -> tuple[str, ...]:
    """The generated districts' names, ``{prefix}-0001`` … (at least four digits)."""
    count = cells_per_side * cells_per_side
    width = max(4, len(str(count)))
    return tuple(f"{prefix}-{k:0{width}d}" for k in range(1, count + 1))


def district_polygons(
    center_en: tuple[float, float],
    extent_m: float,
    cells_per_side: int,
    layout: str = "voronoi",
    jitter: float = 0.35,
    seed: int = 0,
) -> tuple[Polygon, ...]:
    """``cells_per_side``² polygons tiling the square of side ``extent_m`` centred on
    ``center_en`` (site-frame east/north metres), in row-major order from the south-west."""
    n = int(cells_per_side)
    if n < 1 or not extent_m > 0:
        raise ValueError("district_polygons: cells_per_side must be >= 1 and extent_m > 0")
    cell = extent_m / n
    e0 = center_en[0] - extent_m / 2
    n0 = center_en[1] - extent_m / 2
    if layout == "grid" or n == 1:
        return tuple(box(e0 + c * cell, n0 + r * cell, e0 + (c + 1) * cell, n0 + (r + 1) * cell)
                     for r in range(n) for c in range(n))
    if layout != "voronoi":
        raise ValueError(f"district_polygons: layout must be 'grid' or 'voronoi'; got {layout!r}")
    rng = np.random.default_rng(seed)
    rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    offset = rng.uniform(-jitter, jitter, size=(n * n, 2))
    east = e0 + (cols.ravel() + 0.5 + offset[:, 0]) * cell
    north = n0 + (rows.ravel() + 0.5 + offset[:, 1]) * cell
    square = box(e0, n0, e0 + extent_m, n0 + extent_m)
    cells = shapely.voronoi_polygons(MultiPoint(np.column_stack([east, north])),
                                     extend_to=square, ordered=True)
    clipped = shapely.intersection(np.asarray(cells.geoms), square)
    return tuple(shapely.normalize(shapely.make_valid(c)) if not c.is_valid else c
                 for c in clipped)
