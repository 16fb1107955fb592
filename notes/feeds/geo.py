"""Geohash cells and distances for the nearby feed: plain B-tree indexes that work on SQLite and
PostgreSQL alike, no PostGIS.

A note's place is stored as its geohash cells at precisions 3, 4 and 5 (about 156 km, 20-39 km and
5 km across). A query of radius ``r`` picks the finest precision whose cells are at least ``r``
wide and tall at that latitude; the cell of the centre and its eight neighbours then cover the
whole circle, so candidates are one ``geohashN IN (9 cells)`` lookup, and exact distances
(haversine) are computed on those rows only.
"""

from __future__ import annotations

import math

BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
PRECISIONS = (5, 4, 3)  # finest first
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


def encode(lat: float, lng: float, precision: int) -> str:
    """The geohash of a point."""
    lat_range, lng_range = [-90.0, 90.0], [-180.0, 180.0]
    chars, bits, value, even = [], 0, 0, True
    while len(chars) < precision:
        span = lng_range if even else lat_range
        point = lng if even else lat
        middle = (span[0] + span[1]) / 2
        value <<= 1
        if point >= middle:
            value |= 1
            span[0] = middle
        else:
            span[1] = middle
        even = not even
        bits += 1
        if bits == 5:
            chars.append(BASE32[value])
            bits = value = 0
    return "".join(chars)


def cell_size(precision: int) -> tuple[float, float]:
    """(height, width) of a cell in degrees."""
    total = 5 * precision
    lng_bits = (total + 1) // 2
    lat_bits = total // 2
    return 180.0 / 2**lat_bits, 360.0 / 2**lng_bits


def precision_for(radius_km: float, lat: float) -> int:
    """The finest precision whose cells are at least ``radius_km`` in both directions at ``lat``.
    Falls back to the coarsest stored precision (near the poles a 50 km circle may then be cut)."""
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    for precision in PRECISIONS:
        height, width = cell_size(precision)
        if height * KM_PER_DEGREE >= radius_km and width * KM_PER_DEGREE * cos_lat >= radius_km:
            return precision
    return PRECISIONS[-1]


def neighbourhood(lat: float, lng: float, precision: int) -> list[str]:
    """The cell of the point and its eight neighbours (fewer at the poles)."""
    height, width = cell_size(precision)
    centre = encode(lat, lng, precision)
    # The centre of the point's cell, so that offsets of one cell land squarely in the neighbours.
    cell_lat = (math.floor((lat + 90) / height) + 0.5) * height - 90
    cell_lng = (math.floor((lng + 180) / width) + 0.5) * width - 180
    cells = {centre}
    for dlat in (-height, 0.0, height):
        for dlng in (-width, 0.0, width):
            other_lat = cell_lat + dlat
            if not -90 < other_lat < 90:
                continue
            other_lng = (cell_lng + dlng + 180) % 360 - 180  # across the antimeridian
            cells.add(encode(other_lat, other_lng, precision))
    return sorted(cells)


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
