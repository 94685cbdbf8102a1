"""Each data-quality rule type on real Spark (lakelib.runtime.quality): it passes on good data and
fails on a crafted breach, reporting what it observed; and lakelib.io.quality.check records every
outcome in dq_results, fails the job on a `fail` breach (before the write when given the frame) and
only records a `warn` breach. Rules come from the model, as the job receives them (--quality_rules)."""

from __future__ import annotations

import pytest

from lakehouse.model.pipelines import parse_pipeline
from lakehouse.model.quality import RESULTS_TABLE, quality_argument
from lakelib.io import quality as io_quality
from lakelib.io.tables import Lake
from lakelib.runtime.args import ArgSpec, JobArgumentError
from lakelib.runtime.job import JobRun
from lakelib.runtime.quality import QualityError, evaluate, parse_rules
from lakelib.runtime.session import local_spark_session

SCHEMA = "k string, m string, n bigint, rate double, g string"
GOOD = [("a", "2024-01", 3, 0.0, "male"), ("b", "2024-01", 1, 1.0, "female"), ("c", "2024-02", 2, None, None)]


def rules(*quality: dict, table: str = "facts"):
    """The rules as the job receives them: declared, parsed by the model, sent as JSON, parsed by lakelib."""
    data = {"name": "demo", "jobs": [{"name": "gold", "script": "fhir/gold.py",
                                      "writes": [{"zone": "gold", "tables": [table, RESULTS_TABLE]}],
                                      "quality": [{"table": table, **q} for q in quality]}]}
    return parse_rules(quality_argument(parse_pipeline(data).job("gold").quality))


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return local_spark_session(tmp_path_factory.mktemp("quality"), shuffle_partitions=2)


def outcome(session, rows, rule: dict):
    (o,) = evaluate(session.createDataFrame(rows, SCHEMA), rules(rule), "gold.facts")
    return o.passed, o.observed, o.detail


# rule, a breach of GOOD, what the breach observes, and the detail it gives
CASES = [
    ({"rule": "RowCount", "min": 1, "max": 3}, GOOD + [("d", "2024-03", 1, 0.5, "male")], 4.0, "4 rows"),
    ({"rule": "IsComplete", "column": "k"}, GOOD + [(None, "2024-03", 1, 0.5, "male")], 0.75, "1 of 4 rows null"),
    ({"rule": "Completeness", "column": "g", "min": 0.6}, GOOD + [("d", "2024-03", 1, 0.5, None)], 0.5,
     "2 of 4 rows null"),
    ({"rule": "IsUnique", "column": "k"}, GOOD + [("a", "2024-03", 1, 0.5, "male")], 0.5,
     "1 values repeated, over 2 of 4 non-null rows"),
    ({"rule": "Uniqueness", "column": "k", "min": 0.5}, GOOD + [("a", "x", 1, 0.5, None), ("b", "x", 1, 0.5, None)],
     0.2, "2 values repeated, over 4 of 5 non-null rows"),
    ({"rule": "IsPrimaryKey", "columns": ["k", "m"]},
     GOOD + [("a", "2024-01", 1, 0.5, None), (None, "x", 1, 0.5, None)], 0.4,
     "1 of 5 rows with a null key column, 1 keys repeated"),
    ({"rule": "ColumnValues", "column": "n", "min": 1}, GOOD + [("d", "2024-03", 0, 0.5, None)], 0.75,
     "1 of 4 rows outside [1, inf]; min 0, max 3"),
    ({"rule": "ColumnValues", "column": "rate", "min": 0, "max": 1, "nulls": "allowed"},
     GOOD + [("d", "2024-03", 1, 1.5, None), ("e", "2024-03", 1, -0.25, None)], 0.5,
     "2 of 4 rows outside [0, 1]; min -0.25, max 1.5"),
    ({"rule": "ColumnValues", "column": "g", "in": ["male", "female"], "nulls": "allowed"},
     GOOD + [("d", "2024-03", 1, 0.5, "mail")], 2 / 3, "1 of 3 rows not in ['male', 'female']"),
]


@pytest.mark.parametrize("rule, breach, observed, detail", CASES, ids=[c[0]["rule"] + str(i) for i, c in
                                                                       enumerate(CASES)])
def test_each_rule_type_passes_good_data_and_reports_a_breach(session, rule, breach, observed, detail):
    passed, _, _ = outcome(session, GOOD, rule)
    assert passed
    assert outcome(session, breach, rule) == (False, pytest.approx(observed), detail)


def test_every_rule_type_is_exercised():
    from lakelib.runtime.quality import RULE_TYPES

    assert {c[0]["rule"] for c in CASES} == set(RULE_TYPES)


def test_a_null_fails_column_values_unless_nulls_are_allowed(session):
    assert outcome(session, GOOD, {"rule": "ColumnValues", "column": "rate", "min": 0, "max": 1})[:2] == (
        False, pytest.approx(2 / 3))
    assert outcome(session, GOOD, {"rule": "ColumnValues", "column": "rate", "min": 0, "max": 1,
                                   "nulls": "allowed"})[:2] == (True, 1.0)


def test_bounds_are_inclusive_and_an_empty_table_breaches_no_per_row_rule(session):
    assert outcome(session, [("a", "m", 0, 0.0, None), ("b", "m", 1, 1.0, None)],
                   {"rule": "ColumnValues", "column": "rate", "min": 0, "max": 1})[0]
    for rule in ({"rule": "IsComplete", "column": "k"}, {"rule": "IsPrimaryKey", "columns": ["k"]},
                 {"rule": "ColumnValues", "column": "n", "min": 1}):
        assert outcome(session, [], rule)[:2] == (True, 1.0)
    assert outcome(session, [], {"rule": "RowCount", "min": 1}) == (False, 0.0, "0 rows")


def test_a_rule_on_a_missing_column_fails_whatever_its_severity(session):
    with pytest.raises(QualityError, match=r"gold.facts: data-quality rules name columns \['nope'\]"):
        evaluate(session.createDataFrame(GOOD, SCHEMA), rules({"rule": "IsComplete", "column": "nope",
                                                                "severity": "warn"}), "gold.facts")


def test_a_malformed_rules_argument_names_the_argument():
    with pytest.raises(JobArgumentError, match="--quality_rules: got"):
        parse_rules('[{"zone": "gold"}]')
    assert parse_rules(None) == ()


# --- check: record, warn, fail ----------------------------------------------------------------------

SPEC = ArgSpec(required=("catalog", "gold_database"), optional={"run_id": None, "quality_rules": None})


def job_run(*quality: dict, run_id: str) -> JobRun:
    return JobRun.start("demo.gold", {"--catalog": "local", "--gold_database": "lake_gold", "--run_id": run_id,
                                      "--quality_rules": quality_argument_of(*quality)}, SPEC)


def quality_argument_of(*quality: dict) -> str:
    data = {"name": "demo", "jobs": [{"name": "gold", "script": "fhir/gold.py",
                                      "writes": [{"zone": "gold", "tables": ["facts", RESULTS_TABLE]}],
                                      "quality": [{"table": "facts", **q} for q in quality]}]}
    return quality_argument(parse_pipeline(data).job("gold").quality)


def results(session, run_id: str) -> list[tuple]:
    return sorted(tuple(r) for r in session.table(f"local.lake_gold.{RESULTS_TABLE}").where(f"run_id = '{run_id}'")
                  .select("table_name", "rule", "severity", "passed", "observed", "checked").collect())


def test_check_records_every_outcome_logs_a_warning_and_fails_on_a_fail_breach(session, caplog):
    lake = Lake(session, "local", "r1")
    table = lake.table("lake_gold", "facts")
    good = session.createDataFrame(GOOD, SCHEMA)
    lake.replace_all(good, table)
    before = lake.current_snapshot_id(table)

    # warn breach, after the write: recorded, logged, returned; the run goes on
    job = job_run({"rule": "RowCount", "max": 2, "severity": "warn"}, {"rule": "IsUnique", "column": "k"}, run_id="r1")
    with caplog.at_level("WARNING", logger="lakelib.quality"):
        out = io_quality.check(Lake(session, "local", "r1", job.writes), job)
    assert [(o["rule"], o["severity"], o["passed"], o["observed"]) for o in out] == [
        ("RowCount <= 2", "warn", False, 3.0), ('IsUnique "k"', "fail", True, 1.0)]
    assert "data-quality warning: gold.facts: RowCount <= 2 [warn] observed 3 (3 rows)" in caplog.text
    assert results(session, "r1") == [("facts", "IsUnique \"k\"", "fail", True, 1.0, "after_write"),
                                      ("facts", "RowCount <= 2", "warn", False, 3.0, "after_write")]
    assert job.finish({"input": 3, "accepted": 3, "quarantined": 0})["quality"] == out
    assert "gold.dq_results" in job.writes.sorted()

    # fail breach, before the write: recorded, raised with table, rule and observed value; nothing written
    job = job_run({"rule": "ColumnValues", "column": "n", "max": 2}, run_id="r2")
    bad = session.createDataFrame(GOOD + [("d", "2024-03", 7, 0.5, None)], SCHEMA)
    with pytest.raises(QualityError) as e:
        io_quality.check(Lake(session, "local", "r2", job.writes), job, frames={"facts": bad})
        lake.overwrite(bad, table)  # never reached
    assert ('demo.gold: 1 data-quality rule(s) of severity fail breached (not written: the table keeps its '
            'previous snapshot; every outcome is in dq_results, run r2): gold.facts: ColumnValues "n" <= 2 [fail] '
            'observed 0.5 (2 of 4 rows outside [-inf, 2]; min 1, max 7)') == str(e.value)
    assert [q["passed"] for q in e.value.quality] == [False]
    assert results(session, "r2") == [("facts", 'ColumnValues "n" <= 2', "fail", False, 0.5, "before_write")]
    assert lake.current_snapshot_id(table) == before


def test_a_job_that_skips_its_rules_cannot_finish():
    job = job_run({"rule": "RowCount", "min": 1}, run_id="r3")
    with pytest.raises(RuntimeError, match=r"demo.gold: the data-quality rules of \['gold.facts'\] were not evaluated"):
        job.finish({"input": 0, "accepted": 0, "quarantined": 0})
