"""The airports ``load_airports`` puts in the database: real ones from a file, then synthetic ones.

Pure Python, no Django import. The real airports (``data/airports.csv``) are a few hundred bytes
each; synthetic airports with codes that no real airport has (``Z00``, ``Z01``, ...: real IATA
codes are three letters) are added from a fixed seed until the JSON
list served by ``GET /api/airports`` is larger than ``TARGET_BYTES``: a payload big enough to
show what gzip in nginx saves (the seeds' 220 KB of JSON). Same file, same seed: same rows, on
every Python version (``random.Random`` with an integer seed is stable across versions).
"""

from __future__ import annotations

import csv
import json
import random
import string
from collections.abc import Iterable, Iterator
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "airports.csv"
TARGET_BYTES = 220 * 1024
SEED = 20_250_501
COORDINATE_DIGITS = 6


def airport_row(iata: str, name: str, lat: float, lon: float) -> dict:
    """The JSON shape of one airport, shared by the API and the loader (so sizes agree)."""
    return {"iata": iata, "name": name, "lat": round(lat, COORDINATE_DIGITS), "lon": round(lon, COORDINATE_DIGITS)}


def render(rows: Iterable[dict]) -> bytes:
    """The response body of ``GET /api/airports``."""
    return json.dumps(list(rows)).encode()


def real_airports(path: Path = DATA_FILE) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            airport_row(row["iata"], row["name"], float(row["latitude"]), float(row["longitude"]))
            for row in csv.DictReader(handle)
        ]


def synthetic_codes() -> Iterator[str]:
    """``Z00`` .. ``A99``, then ``00Z`` .. ``99A``: 5,200 codes, none of them a real IATA code."""
    for letter in reversed(string.ascii_uppercase):
        for number in range(100):
            yield f"{letter}{number:02d}"
    for letter in reversed(string.ascii_uppercase):
        for number in range(100):
            yield f"{number:02d}{letter}"


def dataset(target_bytes: int = TARGET_BYTES, path: Path = DATA_FILE) -> list[dict]:
    """Real airports, then synthetic ones until ``render(result)`` is larger than ``target_bytes``."""
    rows = real_airports(path)
    size = len(render(rows))
    rng = random.Random(SEED)  # noqa: S311 - test data, not cryptography
    codes = synthetic_codes()
    while size <= target_bytes:
        code = next(codes, None)
        if code is None:
            raise ValueError(f"{target_bytes} bytes need more synthetic airports than there are codes")
        row = airport_row(code, f"Synthetic Airfield {code}", rng.uniform(-60.0, 70.0), rng.uniform(-180.0, 180.0))
        size += len(render([row])) - 2 + (2 if rows else 0)  # the item, and ", " between items
        rows.append(row)
    return rows
