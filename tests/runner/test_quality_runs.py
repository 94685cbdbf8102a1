"""A data-quality breach does what docs/data-quality.md says, through the runner and the real jobs on
local Spark + Iceberg: the declared rules pass on sample data; a `warn` breach is recorded in
dq_results, in the run report and on the console while the run succeeds; a `fail` breach in silver
fails the run after the commit and gold does not start; a `fail` breach in gold fails the run before
the write, so gold keeps its previous snapshot. Each run adds one rule to the real declaration."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from lakehouse.model.config import load_stack_config
from lakehouse.model.pipelines import PIPELINES_DIR, parse_pipeline
from lakehouse.runner import executor
from lakehouse.runner.run import RunRequest, execute
from lakehouse.runner.state import RunState
from lakehouse.samples.fhir import write_batch

CFG = load_stack_config("dev")
SILVER, GOLD = CFG.database_name("silver"), CFG.database_name("gold")


def pipeline_with(job: str, *extra: dict):
    """The declared fhir pipeline, with `extra` rules added to `job`."""
    data = yaml.safe_load((PIPELINES_DIR / "fhir.yaml").read_text())
    for j in data["jobs"]:
        if j["name"] == job:
            j["quality"] = j["quality"] + list(extra)
    return parse_pipeline(data, "pipelines/fhir.yaml + a test rule")


def run(root: Path, pipeline) -> tuple[bool, dict, str]:
    """One run of `pipeline` by the runner; (succeeded, the run report, what the console said)."""
    console_text = io.StringIO()
    from rich.console import Console

    warehouse = root / "warehouse"
    ok = execute(Console(file=console_text, width=240), RunRequest(
        cfg=CFG, pipeline=pipeline, input_dir=root / "raw", warehouse=warehouse, as_of=None,
        fingerprint={"input": "test", "args": []}, state=RunState.load(warehouse)))
    return ok, json.loads((warehouse / "_runs" / "latest.json").read_text()), console_text.getvalue()


def job_of(report: dict, name: str) -> dict:
    return next(j for j in report["jobs"] if j["job"] == name)


def dq_rows(root: Path, database: str, run_id: str) -> list[tuple]:
    spark = executor.spark_session(root / "warehouse")
    rows = spark.table(f"local.{database}.dq_results").where(f"run_id = '{run_id}'").select(
        "job", "table_name", "rule", "severity", "passed", "observed", "checked").collect()
    return sorted(tuple(r) for r in rows)


def gold_snapshots(root: Path) -> list[int]:
    spark = executor.spark_session(root / "warehouse")
    return [r[0] for r in spark.sql(f"SELECT snapshot_id FROM local.{GOLD}.cms_facility_monthly.snapshots").collect()]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("dq")
    write_batch(root / "raw", patients=60, seed=5)
    return root


@pytest.fixture(scope="module")
def warned(root):
    """First run: every declared rule, plus a warn rule gold breaches (it has rows)."""
    return run(root, pipeline_with("gold", {"table": "cms_facility_monthly", "rule": "RowCount", "max": 0,
                                            "severity": "warn"}))


def test_declared_rules_pass_on_sample_data_and_a_warn_breach_is_recorded_and_reported(root, warned):
    ok, report, console = warned
    assert ok and report["status"] == "succeeded"
    silver, gold = job_of(report, "silver")["result"], job_of(report, "gold")["result"]
    assert silver["quality"] and all(q["passed"] for q in silver["quality"]), silver["quality"]
    rows = len(report["gold"][f"{GOLD}.cms_facility_monthly"]["rows"])
    breached = [q for q in gold["quality"] if not q["passed"]]
    assert breached == [{"table": "gold.cms_facility_monthly", "rule": "RowCount <= 0", "type": "RowCount",
                         "severity": "warn", "passed": False, "observed": float(rows), "detail": f"{rows} rows"}]
    assert f"data-quality warning: fhir.gold: gold.cms_facility_monthly: RowCount <= 0 observed {rows}" in console
    recorded = dq_rows(root, GOLD, report["run_id"])
    assert len(recorded) == len(gold["quality"])
    assert ("fhir.gold", "cms_facility_monthly", "RowCount <= 0", "warn", False, float(rows),
            "before_write") in recorded
    assert len(dq_rows(root, SILVER, report["run_id"])) == len(silver["quality"])
    assert f"{GOLD}.dq_results" not in report["gold"]  # the results are no gold summary


def test_a_fail_breach_in_silver_fails_the_run_and_gold_does_not_start(root, warned):
    patients = next(q for q in job_of(warned[1], "silver")["result"]["quality"]
                    if q["rule"] == 'IsPrimaryKey "patient_id"')
    ok, report, console = run(root, pipeline_with("silver", {"table": "patients", "rule": "RowCount", "max": 1}))
    assert not ok and report["status"] == "failed"
    silver = job_of(report, "silver")
    assert silver["status"] == "failed" and job_of(report, "gold")["status"] == "skipped"
    assert "QualityError: fhir.silver: 1 data-quality rule(s) of severity fail breached (already committed" \
        in silver["error"]
    assert "silver.patients: RowCount <= 1 [fail] observed " in silver["error"]
    observed = next(q["observed"] for q in silver["result"]["quality"] if q["rule"] == "RowCount <= 1")
    assert observed > 1 and patients["passed"]
    assert ("fhir.silver", "patients", "RowCount <= 1", "fail", False, observed, "after_write") in dq_rows(
        root, SILVER, report["run_id"])
    assert "job fhir.silver failed" in console


def test_a_fail_breach_in_gold_keeps_the_previous_gold(root, warned):
    before = gold_snapshots(root)
    ok, report, _ = run(root, pipeline_with("gold", {"table": "cms_facility_monthly", "rule": "ColumnValues",
                                                     "column": "discharges", "max": 0}))
    assert not ok
    gold = job_of(report, "gold")
    assert gold["status"] == "failed" and job_of(report, "silver")["status"] == "succeeded"
    assert "(not written: the table keeps its previous snapshot;" in gold["error"]
    assert 'gold.cms_facility_monthly: ColumnValues "discharges" <= 0 [fail] observed 0 (' in gold["error"]
    assert gold_snapshots(root) == before
    assert ("fhir.gold", "cms_facility_monthly", 'ColumnValues "discharges" <= 0', "fail", False, 0.0,
            "before_write") in dq_rows(root, GOLD, report["run_id"])
