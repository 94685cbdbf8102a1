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
FIGURES = {"floor", "full", "noop", "noop_force", "incremental", "maintain", "incremental_warm", "warm_up", "duckdb"}


def run_bench(tmp_path: Path, *mode: str, patients: int = 20) -> tuple[subprocess.CompletedProcess, dict]:
    """bench/bench.py at `patients`, one run, in `mode`; (the process, its JSON result)."""
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "bench/bench.py", "--patients", str(patients), "--runs", "1", *mode,
         "--work", str(tmp_path / "work"), "--out", str(out)],
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
    # the maintenance job ran on the increment's lake, did work in every step it can, and the cost
    # projection prices it from that measured work, not at the start-up floor of an unmeasured job
    assert set(result["maintenance_jobs_seconds_median"]) == {"maintain"}
    [did] = result["maintenance_did"]
    assert did["tables"] > 0 and did["rows"] > 0, did
    assert did["data_files_rewritten"] > 0 and did["snapshots_expired"] > 0 and did["files_expired"] > 0, did
    priced = result["glue_cost"]["jobs"]["maintain"]
    assert priced["measured"] is True
    assert priced["local_seconds"] == round(result["maintenance_jobs_seconds_median"]["maintain"], 1) > 0
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


def test_the_minimum_mode_bounds_both_missed_ratios_from_below(tmp_path):
    # 42 patients: the smallest size whose 1% batch holds newer versions of stored ids (2 of them)
    proc, result = run_bench(tmp_path, "--minimum", patients=42)
    med = result["seconds_median"]
    assert set(med) == {"floor", "duckdb", "full", "minimum", "minimum_with_gold", "minimum_increment",
                        "minimum_increment_with_gold", "same_gold", "same_gold_increment"}
    # every generated line reached the typed silver table, per resource type
    assert result["minimum_rows"] == result["data"]["lines"] and result["minimum_rows_equal_lines"] is True
    # the minimum increment did the batch's work: every id of the batch holds its latest version
    assert set(result["minimum_increment_ids_behind_the_batch"]) == {"Patient", "Encounter", "Condition"}
    assert not any(result["minimum_increment_ids_behind_the_batch"].values())
    # the full run the bounds are compared with, both gold_min tables and both same_gold tables (the
    # increment's against DuckDB's gold of the base and the batch) equal the DuckDB gold
    assert result["gold_equals_duckdb"] is True
    for name, silver_stages in (("minimum", ("bronze_min", "silver_min")),
                                ("minimum_increment", ("bronze_inc", "silver_inc"))):
        stages = result[f"{name}_stages_seconds_median"]
        assert {"session", *silver_stages, "gold_min", "after_minimum"} <= set(stages)
        # a figure is its process up to the end of its stages, not the checks after them
        assert med[name] >= stages["session"] + sum(stages[s] for s in silver_stages)
        assert med[f"{name}_with_gold"] == pytest.approx(med[name] + stages["gold_min"], abs=0.02)
    for name in ("same_gold", "same_gold_increment"):
        stages = result[f"{name}_stages_seconds_median"]
        assert set(stages) == {"session", "bronze_sg", "silver_sg", "gold_sg", "after_minimum"}
        assert med[name] >= sum(stages[s] for s in ("session", "bronze_sg", "silver_sg", "gold_sg"))
    for bound, den, target in (("minimum", "duckdb", 4), ("minimum_with_gold", "duckdb", 4), ("same_gold", "duckdb", 4),
                               ("minimum_increment", "full", 0.25), ("minimum_increment_with_gold", "full", 0.25),
                               ("same_gold_increment", "full", 0.25)):
        ratio = result["ratios"][f"{bound}/{den}"]
        assert ratio == round(med[bound] / med[den], 3)
        assert result["ruled_out"][f"{bound}/{den}>{target}"] == {"median": ratio > target, "every_run": ratio > target}
        assert f"verdict: {bound}/{den}>{target}:" in proc.stdout
    assert not [ln for ln in proc.stdout.splitlines() if ln.startswith(("noop", "incremental"))]
    assert not any((tmp_path / "work").glob("wh-*"))
