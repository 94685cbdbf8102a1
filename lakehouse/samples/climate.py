"""Deterministic sample CSVs for the climate-health pipeline, with a known share of bad rows.

    python -m lakehouse.samples.climate --out sample_data                # batch 1
    python -m lakehouse.samples.climate --out sample_data --batch 2      # the next days

Writes `<out>/climate/{locations,climate,health,hospital}/batch-NNNN/<feed>.csv` (locations
only in batch 1; batch N covers the `days` days after batch N-1). Values are plausible for
the place and season: temperature from latitude and a seasonal cycle, probabilities from
rain and heat, case counts proportional to population and driven by the weather, beds
proportional to population. On top of the clean grid (every location x every day) each
feed gets bad rows, each with exactly one defect, and some clean rows get a negative value
the pipeline corrects to 0. `write_sample` returns what the pipeline must report, so
tests check the jobs against the generator's own bookkeeping.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

FEED_HEADERS = {
    "locations": ["location_id", "name", "type", "population", "area"],
    "climate": ["location_id", "date", "temperature", "precipitation", "humidity",
                "flood_probability", "drought_probability", "heatwave_probability"],
    "health": ["location_id", "date", "respiratory_cases", "heat_related_cases", "waterborne_cases",
               "vector_borne_cases"],
    "hospital": ["location_id", "date", "total_beds", "available_beds", "icu_beds", "staff_count"],
}

# (name, type, population, area km2, latitude, mean temperature C in January, in July)
PLACES = [
    ("Miami-Dade County", "county", 2_701_767, 6_297.0, 25.6, 20.0, 29.0),
    ("Phoenix", "city", 1_608_139, 1_344.9, 33.4, 13.0, 35.0),
    ("New Orleans", "city", 383_997, 906.1, 30.0, 12.0, 28.5),
    ("Houston", "city", 2_304_580, 1_651.1, 29.8, 12.0, 29.5),
    ("Sacramento County", "county", 1_585_055, 2_578.0, 38.5, 8.0, 25.0),
    ("Yuma County", "county", 203_881, 14_281.0, 32.7, 13.5, 34.0),
    ("Outer Banks", "coastal_region", 36_000, 800.0, 35.6, 6.5, 26.0),
    ("Rural Nebraska District 4", "rural_district", 54_000, 21_000.0, 41.1, -4.0, 24.0),
    ("Chicago", "city", 2_746_388, 606.1, 41.9, -4.5, 24.5),
    ("Seattle", "city", 737_015, 369.2, 47.6, 5.0, 19.0),
    ("San Juan", "city", 342_259, 199.0, 18.5, 25.0, 28.0),
    ("Anchorage", "city", 291_247, 5_079.0, 61.2, -8.0, 15.0),
]


@dataclass
class FeedSummary:
    rows: int = 0  # data lines written (what the job reports as input)
    quarantined: int = 0
    corrected_rows: int = 0  # accepted rows with at least one value corrected
    corrected_values: int = 0  # audit rows expected
    reasons: dict[str, int] = field(default_factory=dict)  # defect kind -> count

    @property
    def accepted(self) -> int:
        return self.rows - self.quarantined

    def bad(self, kind: str) -> None:
        self.quarantined += 1
        self.reasons[kind] = self.reasons.get(kind, 0) + 1


@dataclass
class SampleSummary:
    batch: int
    first_day: str
    days: int
    location_ids: list[str]
    feeds: dict[str, FeedSummary]
    files: list[str]

    def as_dict(self) -> dict:
        d = asdict(self)
        for k, v in self.feeds.items():
            d["feeds"][k]["accepted"] = v.accepted
        return d


def location_id(i: int) -> str:
    return f"LOC{i + 1:03d}"


def _fmt(x: float, nd: int = 2) -> str:
    return f"{x:.{nd}f}"


def _poisson(rng: random.Random, lam: float) -> int:
    if lam < 30:  # Knuth: exact for small means
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def _climate_row(rng: random.Random, place: tuple, day: date) -> dict:
    _, _, _, _, lat, t_jan, t_jul = place
    season = -math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)  # -1 mid-Jan, +1 mid-Jul
    if lat < 0:
        season = -season
    temp = (t_jan + t_jul) / 2 + season * (t_jul - t_jan) / 2 + rng.gauss(0, 2.5)
    rain = 0.0 if rng.random() < 0.55 else rng.expovariate(1 / 9.0)
    humidity = min(99.0, max(12.0, 60 + 1.2 * rain + rng.gauss(0, 10) - (temp - 25) * 0.8))
    flood = min(0.98, max(0.0, 0.02 + rain / 80 + rng.gauss(0, 0.02)))
    drought = min(0.95, max(0.0, 0.05 + (0.3 if rain == 0 else 0.0) * (temp / 35) + rng.gauss(0, 0.03)))
    heatwave = min(0.99, max(0.0, 1 / (1 + math.exp(-(temp - 33) / 2.0)) + rng.gauss(0, 0.01)))
    return {"temperature": temp, "precipitation": rain, "humidity": humidity, "flood_probability": flood,
            "drought_probability": drought, "heatwave_probability": heatwave}


def _health_row(rng: random.Random, place: tuple, weather: dict) -> dict:
    pop = place[2]
    per = pop / 100_000
    heat = max(0.0, weather["temperature"] - 30)
    return {
        "respiratory_cases": _poisson(rng, per * (6 + 0.2 * max(0.0, 10 - weather["temperature"]))),
        "heat_related_cases": _poisson(rng, per * (0.05 + 0.6 * heat)),
        "waterborne_cases": _poisson(rng, per * (0.3 + 8 * weather["flood_probability"])),
        "vector_borne_cases": _poisson(rng, per * (0.2 + 0.02 * max(0.0, weather["temperature"] - 15)
                                                   * weather["humidity"] / 60)),
    }


def _hospital_row(rng: random.Random, place: tuple) -> dict:
    total = max(20, round(place[2] / 1000 * rng.uniform(2.2, 2.8)))
    return {"total_beds": total, "available_beds": round(total * rng.uniform(0.05, 0.35)),
            "icu_beds": max(2, round(total * rng.uniform(0.08, 0.12))),
            "staff_count": round(total * rng.uniform(2.5, 3.5))}


def _write(path: Path, feed: str, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        fh.write(",".join(FEED_HEADERS[feed]) + "\n")
        for r in rows:
            if isinstance(r, str):  # a deliberately malformed line, written as is
                fh.write(r + "\n")
            else:
                csv.writer(fh, lineterminator="\n").writerow(r)


def write_sample(out: str | Path, seed: int = 0, locations: int = 8, days: int = 14, batch: int = 1,
                 start: str = "2024-07-01", bad_share: float = 0.06) -> SampleSummary:
    """Write one batch; deterministic for (seed, locations, days, batch, start, bad_share)."""
    if not 1 <= locations <= len(PLACES):
        raise ValueError(f"locations: got {locations}; allowed: 1..{len(PLACES)}")
    if days < 1 or batch < 1:
        raise ValueError(f"days and batch: got {days}, {batch}; allowed: >= 1")
    if not 0 <= bad_share < 0.5:
        raise ValueError(f"bad_share: got {bad_share}; allowed: 0 <= bad_share < 0.5")
    out = Path(out)
    rng = random.Random(f"{seed}:{batch}")
    first = date.fromisoformat(start) + timedelta(days=days * (batch - 1))
    places = PLACES[:locations]
    ids = [location_id(i) for i in range(locations)]
    feeds = {f: FeedSummary() for f in FEED_HEADERS}
    folder = f"batch-{batch:04d}"
    files: list[str] = []
    grid = [(i, first + timedelta(days=d)) for d in range(days) for i in range(locations)]
    n_bad = max(1, round(bad_share * len(grid))) if bad_share > 0 else 0

    if batch == 1:
        rows = [[ids[i], p[0], p[1], str(p[2]), _fmt(p[3], 1)] for i, p in enumerate(places)]
        bad_locations = [
            ("missing name", ["LOCX01", "", "city", "1000", "10.0"]),
            ("population not an integer", ["LOCX02", "Springfield", "city", "12k", "40.5"]),
            ("area not a number", ["LOCX03", "Shelbyville", "city", "65000", "n/a"]),
            ("missing type", ["LOCX04", "Ogdenville", "", "9000", "12.0"]),
        ]
        for kind, r in bad_locations:
            rows.insert(rng.randrange(len(rows) + 1), r)
            feeds["locations"].bad(kind)
        feeds["locations"].rows = len(rows)
        path = out / "climate" / "locations" / folder / "locations.csv"
        _write(path, "locations", rows)
        files.append(str(path.relative_to(out)))

    climate_rows, health_rows, hospital_rows = [], [], []
    weather = {}
    for i, day in grid:
        w = _climate_row(rng, places[i], day)
        weather[(i, day)] = w
        climate_rows.append([ids[i], day.isoformat(), _fmt(w["temperature"], 1), _fmt(w["precipitation"], 1),
                             _fmt(w["humidity"], 1), _fmt(w["flood_probability"], 3),
                             _fmt(w["drought_probability"], 3), _fmt(w["heatwave_probability"], 3)])
        h = _health_row(rng, places[i], w)
        health_rows.append([ids[i], day.isoformat(), *(str(h[k]) for k in FEED_HEADERS["health"][2:])])
        b = _hospital_row(rng, places[i])
        hospital_rows.append([ids[i], day.isoformat(), *(str(b[k]) for k in FEED_HEADERS["hospital"][2:])])

    # Corrections: negative probabilities / case counts on clean rows (accepted, audited).
    for idx in rng.sample(range(len(grid)), n_bad):
        col = rng.choice([5, 6, 7])
        climate_rows[idx][col] = _fmt(-rng.uniform(0.001, 0.05), 3)
        feeds["climate"].corrected_rows += 1
        feeds["climate"].corrected_values += 1
    for idx in rng.sample(range(len(grid)), n_bad):
        cols = rng.sample([2, 3, 4, 5], rng.choice([1, 2]))
        for col in cols:
            health_rows[idx][col] = str(-rng.randint(1, 5))
        feeds["health"].corrected_rows += 1
        feeds["health"].corrected_values += len(cols)

    def some_day(k: int) -> str:
        return (first + timedelta(days=k % days)).isoformat()

    bad_climate = [
        ("invalid date", lambda k: [ids[k % locations], f"{first.year}-13-{k % 28 + 1:02d}", "21.0", "0.0", "50.0",
                                    "0.1", "0.1", "0.1"]),
        ("missing temperature", lambda k: [ids[k % locations], some_day(k), "", "1.0", "50.0", "0.1", "0.1", "0.1"]),
        ("probability above 1", lambda k: [ids[k % locations], some_day(k), "30.0", "0.0", "40.0", "0.2",
                                           _fmt(1 + rng.uniform(0.01, 0.5), 3), "0.3"]),
        ("unknown location", lambda k: [f"LOC9{k:02d}", some_day(k), "25.0", "0.0", "50.0", "0.1", "0.1", "0.1"]),
        ("malformed line", lambda k: f"{ids[k % locations]},{some_day(k)},25.0"),
        ("duplicate superseded", None),
    ]
    bad_health = [
        ("invalid date", lambda k: [ids[k % locations], f"{some_day(k)}T00:00", "1", "1", "1", "1"]),
        ("count not an integer", lambda k: [ids[k % locations], some_day(k), "3.5", "0", "1", "0"]),
        ("missing location_id", lambda k: ["", some_day(k), "1", "1", "1", "1"]),
        ("duplicate superseded", None),
    ]
    bad_hospital = [
        ("available above total", lambda k: [ids[k % locations], some_day(k), "100", "120", "10", "300"]),
        ("negative count", lambda k: [ids[k % locations], some_day(k), "100", "20", "10", "-3"]),
        ("invalid date", lambda k: [ids[k % locations], some_day(k).replace("-", "/"), "100", "20", "10", "300"]),
        ("duplicate superseded", None),
    ]
    for feed, rows, kinds in (("climate", climate_rows, bad_climate), ("health", health_rows, bad_health),
                              ("hospital", hospital_rows, bad_hospital)):
        picked = [kinds[k % len(kinds)] + (k,) for k in range(n_bad)]
        # Duplicates first, while `rows` is still the clean grid: an exact copy of a clean row
        # goes right before it; the later line wins and the copy is quarantined as superseded.
        dups = sorted(rng.sample(range(len(rows)), sum(1 for _, make, _ in picked if make is None)), reverse=True)
        for src in dups:
            rows.insert(src, list(rows[src]))
        for kind, make, k in picked:
            if make is not None:
                rows.insert(rng.randrange(len(rows) + 1), make(k))
            feeds[feed].bad(kind)
        feeds[feed].rows = len(rows)
        path = out / "climate" / feed / folder / f"{feed}.csv"
        _write(path, feed, rows)
        files.append(str(path.relative_to(out)))
    return SampleSummary(batch, first.isoformat(), days, ids, feeds, files)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lakehouse.samples.climate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="sample_data", help="raw zone folder (default ./sample_data)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--locations", type=int, default=8, help=f"1..{len(PLACES)} (default 8)")
    ap.add_argument("--days", type=int, default=14, help="days per batch (default 14)")
    ap.add_argument("--batch", type=int, default=1, help="batch number (default 1)")
    ap.add_argument("--start", default="2024-07-01", help="first day of batch 1 (default 2024-07-01)")
    ap.add_argument("--bad-share", dest="bad_share", type=float, default=0.06,
                    help="bad rows per feed as a share of the clean rows (default 0.06)")
    a = ap.parse_args(argv)
    try:
        summary = write_sample(a.out, a.seed, a.locations, a.days, a.batch, a.start, a.bad_share)
    except ValueError as e:
        ap.error(str(e))
    print(json.dumps(summary.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
