"""lakehouse.samples.climate: deterministic, plausible CSVs with bookkeeping the tests trust."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from lakehouse.samples.climate import FEED_HEADERS, write_sample


def _read(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_same_arguments_write_the_same_bytes_and_another_seed_differs(tmp_path):
    a, b, c = (write_sample(tmp_path / "a", seed=1), write_sample(tmp_path / "b", seed=1),
               write_sample(tmp_path / "c", seed=2))
    assert _read(tmp_path / "a") == _read(tmp_path / "b")
    assert _read(tmp_path / "a") != _read(tmp_path / "c")
    assert a.as_dict() == b.as_dict()
    assert sorted(_read(tmp_path / "a")) == [f"climate/{f}/batch-0001/{f}.csv"
                                            for f in ("climate", "health", "hospital", "locations")]
    assert c.files == [f"climate/{f}/batch-0001/{f}.csv" for f in ("locations", "climate", "health", "hospital")]


def test_headers_line_counts_and_bookkeeping_agree(tmp_path):
    s = write_sample(tmp_path, seed=0, locations=5, days=10, bad_share=0.2)
    for feed, header in FEED_HEADERS.items():
        lines = (tmp_path / f"climate/{feed}/batch-0001/{feed}.csv").read_text().splitlines()
        assert lines[0] == ",".join(header)
        assert len(lines) - 1 == s.feeds[feed].rows
        assert s.feeds[feed].quarantined == sum(s.feeds[feed].reasons.values())
    assert s.feeds["locations"].accepted == 5
    for feed in ("climate", "health", "hospital"):
        assert s.feeds[feed].accepted == 50  # every location on every day
        assert s.feeds[feed].quarantined == 10
    assert s.feeds["climate"].corrected_values == s.feeds["climate"].corrected_rows == 10
    assert s.feeds["health"].corrected_rows == 10 and 10 <= s.feeds["health"].corrected_values <= 20


def test_clean_values_are_plausible(tmp_path):
    write_sample(tmp_path, seed=4, locations=12, days=30, bad_share=0)
    with (tmp_path / "climate/climate/batch-0001/climate.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 360
    assert all(-30 <= float(r["temperature"]) <= 50 for r in rows)
    assert all(0 <= float(r[p]) <= 1 for r in rows for p in ("flood_probability", "drought_probability",
                                                              "heatwave_probability"))
    assert {date.fromisoformat(r["date"]) for r in rows} == {date(2024, 7, d) for d in range(1, 31)}
    with (tmp_path / "climate/hospital/batch-0001/hospital.csv").open() as fh:
        assert all(0 <= int(r["available_beds"]) <= int(r["total_beds"]) for r in csv.DictReader(fh))


def test_later_batches_cover_the_next_days_without_locations(tmp_path):
    s = write_sample(tmp_path, days=7, batch=3)
    assert s.first_day == "2024-07-15"
    assert not (tmp_path / "climate/locations/batch-0003").exists()


@pytest.mark.parametrize("kwargs,message", [
    ({"locations": 0}, "locations: got 0; allowed: 1..12"),
    ({"locations": 13}, "locations: got 13; allowed: 1..12"),
    ({"days": 0}, "days and batch: got 0, 1; allowed: >= 1"),
    ({"bad_share": 0.5}, "bad_share: got 0.5; allowed: 0 <= bad_share < 0.5"),
])
def test_bad_arguments_are_refused_with_the_allowed_range(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        write_sample(tmp_path, **kwargs)


def test_cli_writes_a_batch_and_prints_the_summary(tmp_path):
    out = subprocess.run([sys.executable, "-m", "lakehouse.samples.climate", "--out", str(tmp_path), "--locations",
                          "2", "--days", "3"], capture_output=True, text=True, check=True).stdout
    assert '"batch": 1' in out and '"location_ids": [\n    "LOC001",\n    "LOC002"\n  ]' in out
    assert (tmp_path / "climate/health/batch-0001/health.csv").is_file()
