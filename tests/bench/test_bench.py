"""bench/bench.py runs end to end at a tiny size, as the README tells a user to run it: every
figure measured, every gold (full, incremental, warm incremental) equal to the DuckDB
reference, and the ratios it prints computed from the figures it wrote. Timings are not
asserted (performance is the benchmark's business, not a test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.heavy(minutes=11)
FIGURES = {"floor", "full", "noop", "noop_force", "incremental", "incremental_warm", "warm_up", "duckdb"}


def run_bench(tmp_path: Path, *mode: str) -> tuple[subprocess.CompletedProcess, dict]:
    """bench/bench.py at 20 patients, one run, in `mode`; (the process, its JSON result)."""
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "bench/bench.py", "--patients", "20", "--runs", "1", *mode, "--work", str(tmp_path / "work"),
         "--out", str(out)],
        # a guard against a hang, not a timing: ~5 min idle, but xdist's other worker shares the 2 cores
        cwd=REPO, capture_output=True, text=True, timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, json.loads(out.read_text())


def test_the_benchmark_runs_and_writes_consistent_figures(tmp_path):
    proc, result = run_bench(tmp_path)
    assert result["gold_equals_duckdb"] is True
    med = result["seconds_median"]
    assert set(med) == FIGURES and all(v > 0 for k, v in med.items() if k != "warm_up")
    assert result["ratios"]["incremental/full"] == round(med["incremental"] / med["full"], 3)
    assert result["ratios"]["incremental_warm/full"] == round(med["incremental_warm"] / med["full"], 3)
    assert set(result["incremental_warm_jobs_seconds_median"]) == {"bronze", "silver", "gold"}
    assert (result["data"]["incremental_lines"] > 0
            and result["data"]["lines_total"] > result["data"]["incremental_lines"])
    assert result["glue_cost"]["dpu_hours"] > 0
    cpu = result["jvm_cpu_seconds_median"]  # the runner's driver JVM, by thread group
    assert set(cpu) == {"full", "noop_force", "incremental"}
    assert all(g["jit"] > 0 and g["tasks"] > 0 and g["driver"] > 0 for g in cpu.values()), cpu
    assert "JVM CPU, incremental:" in proc.stdout
    for figure in FIGURES - {"warm_up"}:
        assert figure in proc.stdout  # the printed table
    assert not any((tmp_path / "work").glob("wh-*"))  # warehouses removed without --keep


def test_the_scaling_mode_measures_floor_duckdb_and_full_only(tmp_path):
    proc, result = run_bench(tmp_path, "--scaling")
    assert result["gold_equals_duckdb"] is True
    assert set(result["seconds_median"]) == {"floor", "duckdb", "full"}
    assert set(result["ratios"]) == {"full/floor", "full/duckdb"}
    assert result["peak_memory_bytes"] > 0 and set(result["full_jobs_seconds_median"]) == {"bronze", "silver", "gold"}
    assert not [ln for ln in proc.stdout.splitlines() if ln.startswith(("noop", "incremental", "warm_up"))]
    assert not any((tmp_path / "work").glob("wh-*"))


def test_the_minimum_mode_bounds_full_over_duckdb_from_below(tmp_path):
    proc, result = run_bench(tmp_path, "--minimum")
    med = result["seconds_median"]
    assert set(med) == {"floor", "duckdb", "minimum"}
    # every generated line reached the typed silver table, per resource type
    assert result["minimum_rows"] == result["data"]["lines"] and result["minimum_rows_equal_lines"] is True
    stages = result["minimum_stages_seconds_median"]
    assert set(stages) == {"session", "bronze_min", "silver_min", "silver_min_files", "after_minimum"}
    # the figure is the process up to the end of silver_min: it holds the stages, not the comparison after them
    assert med["minimum"] >= stages["session"] + stages["bronze_min"] + stages["silver_min"]
    assert result["ratios"]["minimum/duckdb"] == round(med["minimum"] / med["duckdb"], 3)
    assert result["full/duckdb<=4 ruled out"] == (result["ratios"]["minimum/duckdb"] > 4)
    assert not [ln for ln in proc.stdout.splitlines() if ln.startswith(("full", "noop", "incremental"))]
