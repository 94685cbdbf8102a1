"""End to end through the local runner: generated FHIR -> bronze -> silver -> gold on local Spark +
Iceberg, checked against the independent DuckDB reference (lakehouse.samples.fhir_reference).

Kept small for a 2-core CI: three seeds of 60-200 patients. The incremental story shares one
warehouse; each step is a module-scoped fixture that depends on the previous one, so any test can
run alone.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest

from lakehouse.model.config import load_stack_config
from lakehouse.model.pipelines import load_pipeline
from lakehouse.runner import cli, executor
from lakehouse.samples.fhir import BAD_PAIRS, write_batch
from lakehouse.samples.fhir_reference import COLUMNS, quarantine_counts, reference_rows
from lakelib.fhir.rules import BRONZE_REASONS

CFG = load_stack_config("dev")
GOLD = f"{CFG.database_name('gold')}.cms_facility_monthly"
BRONZE_Q = f"{CFG.database_name('bronze')}.fhir_quarantine"
SILVER_Q = f"{CFG.database_name('silver')}.fhir_quarantine"
WAITING = f"{CFG.database_name('silver')}.fhir_waiting"


def run(input_dir: Path, warehouse: Path, *extra: str) -> dict:
    """One runner invocation in-process; returns the run report (fails the test on a non-zero exit)."""
    latest = warehouse / "_runs" / "latest.json"
    before = latest.read_text() if latest.exists() else None
    code = cli.main(["run", "--input", str(input_dir), "--warehouse", str(warehouse), *extra])
    assert code == 0, f"runner exit {code}" + (f": {latest.read_text()}" if latest.exists() else "")
    text = latest.read_text()
    return {"up_to_date": text == before, **json.loads(text)}


def gold_of(report: dict) -> list[tuple]:
    g = report["gold"][GOLD]
    assert tuple(g["columns"]) == COLUMNS
    return sorted(tuple(r) for r in g["rows"])


def assert_same_rows(actual: list[tuple], expected: list[tuple]) -> None:
    """Exact on keys and counts; rates within 1e-9 (relative); null where the reference is null."""
    assert [r[:2] for r in actual] == [r[:2] for r in expected]
    for a, e in zip(actual, expected):
        for col, x, y in zip(COLUMNS, a, e):
            if isinstance(y, float):
                assert x is not None and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), (a[:2], col, x, y)
            else:
                assert x == y, (a[:2], col, x, y)


def table_counts(warehouse: Path) -> dict[str, int]:
    from lakelib.runtime.session import local_spark_session

    spark = local_spark_session(warehouse)
    return {t: spark.table(f"local.{t}").count() for t in executor.list_tables(warehouse)}


def quarantine_by_file_type(warehouse: Path) -> dict[str, Counter]:
    """Quarantined records per stage -> Counter of (resource type of the source file, reason); and
    "waiting": the records silver holds for a patient that has not arrived, as `unknown_patient`
    (what they are when the patient never comes)."""
    from lakelib.runtime.session import local_spark_session

    spark = local_spark_session(warehouse)
    out = {}
    for stage, table in (("bronze", BRONZE_Q), ("silver", SILVER_Q)):
        rows = spark.table(f"local.{table}").select("source_file", "reason").collect()
        out[stage] = Counter((Path(r.source_file).name.split(".")[0], r.reason) for r in rows)
    rows = spark.table(f"local.{WAITING}").select("source_file").collect()
    out["waiting"] = Counter((Path(r.source_file).name.split(".")[0], "unknown_patient") for r in rows)
    return out


def manifest_bad(input_dir: Path) -> Counter:
    total = Counter()
    for m in sorted((input_dir / "manifest").glob("batch-*.json")):
        for rtype, kinds in json.loads(m.read_text())["bad"].items():
            total.update({(rtype, k): n for k, n in kinds.items()})
    return total


def manifest_lines(input_dir: Path, batch: int) -> int:
    return sum(json.loads((input_dir / "manifest" / f"batch-{batch:04d}.json").read_text())["lines"].values())


# --- several seeds and sizes, one run each -------------------------------------------------

@pytest.mark.parametrize("seed,patients", [(1, 60), (2, 120)])
def test_gold_equals_the_reference(spark, tmp_path, seed, patients):
    write_batch(tmp_path / "in", patients=patients, seed=seed)
    report = run(tmp_path / "in", tmp_path / "wh")
    expected = reference_rows(tmp_path / "in")
    assert len(expected) >= 10 and any(r[3] for r in expected) and any(r[8] for r in expected)
    assert any(r[10] for r in expected) and any(r[0] == "unknown" for r in expected)
    assert_same_rows(gold_of(report), expected)


# --- the incremental story on one warehouse (seed 3, 200 patients) --------------------------

@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    write_batch(root / "in", patients=200, seed=3)
    t0 = time.monotonic()
    report = run(root / "in", root / "wh")
    return {"root": root, "input": root / "in", "wh": root / "wh", "first": report,
            "first_seconds": time.monotonic() - t0}


def test_first_run_equals_the_reference(lake):
    assert_same_rows(gold_of(lake["first"]), reference_rows(lake["input"]))


def test_a_first_run_writes_exactly_the_tables_each_job_declares(lake):
    """pipelines/fhir.yaml and lakelib agree: what each job wrote on an empty warehouse (tables it
    created or committed to) is what its declaration names, so its IAM role grants exactly that."""
    declared = {j.name: sorted(j.declared_writes()) for j in load_pipeline("fhir").jobs if not j.is_maintenance}
    assert {j["job"]: j["result"]["writes"] for j in lake["first"]["jobs"]} == declared


def test_every_job_reconciles_input_with_accepted_plus_quarantined(lake):
    jobs = {j["job"]: j for j in lake["first"]["jobs"]}
    assert [j["status"] for j in lake["first"]["jobs"]] == ["succeeded"] * 3
    for j in jobs.values():
        assert j["input"] == j["accepted"] + j["quarantined"] + (j["waiting"] or 0), j
    bad = manifest_bad(lake["input"])
    assert jobs["bronze"]["input"] == manifest_lines(lake["input"], 1)
    assert jobs["bronze"]["quarantined"] == sum(n for (_, k), n in bad.items() if k in BRONZE_REASONS)
    assert jobs["silver"]["input"] == jobs["bronze"]["accepted"]
    # a record whose patient never comes waits (docs/fhir-data-model.md), it is not quarantined
    assert jobs["silver"]["quarantined"] == sum(n for (_, k), n in bad.items()
                                                if k not in BRONZE_REASONS and k != "unknown_patient")
    assert jobs["silver"]["waiting"] == sum(n for (_, k), n in bad.items() if k == "unknown_patient") > 0


def test_each_bad_record_kind_is_quarantined_with_its_reason_and_count(lake):
    bad = manifest_bad(lake["input"])
    expected = {
        "bronze": Counter({k: n for k, n in bad.items() if k[1] in BRONZE_REASONS}),
        "silver": Counter({k: n for k, n in bad.items() if k[1] not in BRONZE_REASONS | {"unknown_patient"}}),
        "waiting": Counter({k: n for k, n in bad.items() if k[1] == "unknown_patient"}),
    }
    assert set(bad) == set(BAD_PAIRS)  # every (resource type, kind) the generator writes
    assert quarantine_by_file_type(lake["wh"]) == expected
    assert Counter(quarantine_counts(lake["input"])) == bad  # the reference agrees record for record


@pytest.fixture(scope="module")
def rerun(lake):
    """A second run with no new input: up to date (Spark never starts), nothing changes."""
    before = table_counts(lake["wh"])
    t0 = time.monotonic()
    report = run(lake["input"], lake["wh"])
    return {"report": report, "seconds": time.monotonic() - t0, "before": before,
            "after": table_counts(lake["wh"])}


def test_second_run_without_new_files_is_quick_and_changes_nothing(lake, rerun):
    assert rerun["report"]["up_to_date"] and rerun["seconds"] < 5
    assert rerun["after"] == rerun["before"]


@pytest.fixture(scope="module")
def forced_rerun(lake, rerun):
    """The jobs themselves, run again over the same files (--force): nothing new to ingest."""
    before, gold_commits = table_counts(lake["wh"]), gold_metadata_version(lake["wh"])
    report = run(lake["input"], lake["wh"], "--force")
    return {"report": report, "before": before, "after": table_counts(lake["wh"]),
            "gold_commits": (gold_commits, gold_metadata_version(lake["wh"]))}


def gold_metadata_version(warehouse: Path) -> str:
    """The gold table's current metadata version in the Hadoop catalog: every commit moves it."""
    db, table = GOLD.split(".")
    return (warehouse / db / table / "metadata" / "version-hint.text").read_text().strip()


def gold_result(report: dict) -> dict:
    return next(j["result"] for j in report["jobs"] if j["job"] == "gold")


def test_forced_rerun_adds_no_rows_and_keeps_gold(lake, forced_rerun):
    jobs = {j["job"]: j for j in forced_rerun["report"]["jobs"]}
    assert jobs["bronze"]["input"] == 0 and jobs["silver"]["input"] == 0
    # silver did not change, so gold is not computed again: no commit, its rules checked as stored
    assert gold_result(forced_rerun["report"])["up_to_date"] is True
    before, after = forced_rerun["gold_commits"]
    assert after == before
    results = {t for t in forced_rerun["after"] if t.endswith(".dq_results")}  # one row per rule per run, by design
    assert {t: n for t, n in forced_rerun["after"].items() if t not in results} == {
        t: n for t, n in forced_rerun["before"].items() if t not in results}
    assert {t: forced_rerun["after"][t] - forced_rerun["before"][t] for t in results} == {
        f"{CFG.database_name(zone)}.dq_results": len(jobs[job]["result"]["quality"])
        for zone, job in (("silver", "silver"), ("gold", "gold"))}
    assert gold_of(forced_rerun["report"]) == gold_of(lake["first"])


@pytest.fixture(scope="module")
def second_batch(lake, forced_rerun):
    """Batch 2: newer, tied and stale versions, late stays, readmissions after their index stay."""
    write_batch(lake["input"], patients=200, seed=3, batch=2)
    report = run(lake["input"], lake["wh"])
    return {"report": report}


def test_added_and_updated_files_give_the_reference_and_the_from_scratch_gold(lake, second_batch, tmp_path):
    incremental = gold_of(second_batch["report"])
    assert incremental != gold_of(lake["first"])  # batch 2 changes the metrics
    jobs = {j["job"]: j for j in second_batch["report"]["jobs"]}
    assert jobs["bronze"]["input"] == manifest_lines(lake["input"], 2)
    silver_tables = ["silver.patients", "silver.encounters", "silver.conditions"]
    assert sorted(gold_result(second_batch["report"])["recomputed_for"]) == sorted(silver_tables)
    assert_same_rows(incremental, reference_rows(lake["input"]))
    scratch = gold_of(run(lake["input"], tmp_path / "scratch"))
    assert_same_rows(incremental, scratch)


def test_quarantine_after_two_batches_matches_both_manifests(lake, second_batch):
    bad = manifest_bad(lake["input"])
    q = quarantine_by_file_type(lake["wh"])
    assert q["bronze"] + q["silver"] + q["waiting"] == bad


def test_as_of_argument_reaches_gold(lake, second_batch):
    report = run(lake["input"], lake["wh"], "--as-of", "2024-09-30")
    assert report["as_of"] == "2024-09-30"
    assert gold_result(report)["recomputed_for"] == ["as_of"]
    expected = reference_rows(lake["input"], as_of="2024-09-30")
    assert_same_rows(gold_of(report), expected)
    assert all(r[7] == 0 for r in expected if r[1] > "2024-08")  # no index stay within 30 days of as-of


def test_a_new_release_of_the_library_recomputes_gold_over_unchanged_silver(lake, second_batch, monkeypatch):
    """Gold's record names the lakelib release that computed it: a release whose metrics differ must
    not leave the old release's rows in place because no data arrived."""
    from lakelib.fhir import jobs

    args = ("--as-of", "2024-09-30", "--force")
    run(lake["input"], lake["wh"], *args)  # gold as of that date, whichever tests ran before
    assert gold_result(run(lake["input"], lake["wh"], *args))["up_to_date"] is True
    before = gold_metadata_version(lake["wh"])
    monkeypatch.setattr(jobs, "source_digest", lambda: "0123456789abcdef")
    report = run(lake["input"], lake["wh"], *args)
    assert gold_result(report)["recomputed_for"] == ["lakelib"]
    assert gold_metadata_version(lake["wh"]) != before
    assert_same_rows(gold_of(report), reference_rows(lake["input"], as_of="2024-09-30"))


def test_show_prints_a_table_as_csv(lake, second_batch, capsys):
    capsys.readouterr()
    assert cli.main(["show", "gold.cms_facility_monthly", "--warehouse", str(lake["wh"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) - 1 == len(gold_of(second_batch["report"]))


def test_a_copied_warehouse_is_refused_before_it_can_touch_the_original(lake, second_batch, tmp_path, capsys):
    # Iceberg tables keep their absolute location, so a copy reads and writes the original's files:
    # maintenance of a copy deleted files the original still read (docs/benchmarks.md, twelfth round)
    def files(root: Path) -> dict[str, int]:
        return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}

    copy = tmp_path / "copy"
    shutil.copytree(lake["wh"], copy)
    original, copied = files(lake["wh"]), files(copy)
    capsys.readouterr()
    assert cli.main(["maintain", "--warehouse", str(copy), "--snapshot-retention-hours", "0",
                     "--orphan-file-age-hours", "0"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert f"--warehouse: got {str(copy)!r}, but its table lakehouse_dev_" in err
    assert f"is stored at '{lake['wh'].resolve()}/lakehouse_dev_" in err
    assert "allowed: a warehouse the runner wrote where it is" in err
    assert cli.main(["run", "--input", str(lake["input"]), "--warehouse", str(copy), "--force"]) == cli.EXIT_USAGE
    assert files(lake["wh"]) == original and files(copy) == copied
