"""The climate-health pipeline end to end on local Spark + Iceberg + a real PostgreSQL:
generated CSVs -> five jobs run wave by wave by the local runner (lakehouse.runner.executor.run_pipeline,
with the JDBC arguments of lakehouse.runner.pg_local) -> PostgreSQL tables, bronze audit tables, gold
metrics. Checked against the sample generator's own bookkeeping, the seed's validation queries
and an independent computation of the metrics in SQL inside PostgreSQL.

One warehouse for the whole story; each step is a module-scoped fixture depending on the
previous one, so any test can run alone.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from climate_support import pg  # noqa: F401  (fixture)

from lakehouse.model.config import load_stack_config
from lakehouse.model.pipelines import load_pipeline
from lakehouse.runner import executor
from lakehouse.samples.climate import write_sample

CFG = load_stack_config("dev")
PIPELINE = load_pipeline("climate")
BRONZE, GOLD = CFG.database_name("bronze"), CFG.database_name("gold")
FEED_JOBS = {"locations": "process_locations", "climate": "process_climate_data",
             "health": "process_health_data", "hospital": "process_hospital_data"}
TABLES = {"locations": "locations", "climate": "climate_data", "health": "health_data", "hospital": "hospital_data"}
METRIC_SQL = """
WITH keys AS (SELECT location_id, date FROM climate_data UNION SELECT location_id, date FROM health_data
              UNION SELECT location_id, date FROM hospital_data)
SELECT k.location_id, k.date,
       l.population::float8 / l.area,
       CASE WHEN c.location_id IS NULL OR num_nonnulls(c.flood_probability, c.drought_probability,
                                                       c.heatwave_probability) = 0 THEN NULL
            ELSE 1 - (1 - coalesce(c.flood_probability, 0)) * (1 - coalesce(c.drought_probability, 0))
                   * (1 - coalesce(c.heatwave_probability, 0)) END,
       h.respiratory_cases + h.heat_related_cases + h.waterborne_cases + h.vector_borne_cases,
       CASE WHEN l.population > 0 THEN (h.respiratory_cases + h.heat_related_cases + h.waterborne_cases
                                        + h.vector_borne_cases) * 100000.0 / l.population END,
       CASE WHEN l.population > 0 THEN h.heat_related_cases * 100000.0 / l.population END,
       CASE WHEN b.total_beds > 0 THEN (b.total_beds - b.available_beds)::float8 / b.total_beds END,
       CASE WHEN l.population > 0 THEN b.total_beds * 100000.0 / l.population END
FROM keys k JOIN locations l USING (location_id)
LEFT JOIN climate_data c USING (location_id, date)
LEFT JOIN health_data h USING (location_id, date)
LEFT JOIN hospital_data b USING (location_id, date)
ORDER BY 1, 2
"""
METRIC_CHECKED = ("location_id", "date", "population_density", "climate_risk_index", "total_cases",
                  "cases_per_100k", "heat_related_cases_per_100k", "bed_occupancy_rate", "beds_per_100k")


class Lake:
    def __init__(self, root: Path, server):
        self.raw, self.warehouse, self.pg = root / "raw", root / "warehouse", server
        from lakelib.runtime.session import local_spark_session

        self.spark = local_spark_session(self.warehouse)  # own `local` catalog, shared JVM
        self.where = executor.lake_location(CFG, self.raw, self.warehouse)

    def run(self, run_id: str) -> dict[str, dict]:
        runs = executor.plan_runs(PIPELINE)
        extra = {j.name: {**self.pg.job_arguments(), "--run_id": run_id} for j in PIPELINE.jobs}
        executor.run_pipeline(self.spark, runs, self.where, extra)
        failed = {r.job.name: r.error for r in runs if r.status != "succeeded"}
        assert not failed, failed
        assert [(r.wave, r.job.name) for r in runs] == [
            (0, "process_locations"), (1, "process_climate_data"), (1, "process_health_data"),
            (1, "process_hospital_data"), (2, "calculate_derived_metrics")]
        return {r.job.name: r.result for r in runs}

    def sql(self, text: str) -> list[tuple]:
        with self.pg.connect() as c:
            return c.execute(text).fetchall()

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every PostgreSQL row with its xmin (changes when a row is rewritten)."""
        return {t: self.sql(f"SELECT xmin::text, * FROM {t} ORDER BY 2, 3") for t in TABLES.values()}

    def table(self, db: str, name: str):
        return self.spark.table(f"local.{db}.{name}")


@pytest.fixture(scope="module")
def lake(tmp_path_factory, pg):  # noqa: F811
    return Lake(tmp_path_factory.mktemp("climate_e2e"), pg)


@pytest.fixture(scope="module")
def first(lake):
    summary = write_sample(lake.raw, seed=3, locations=4, days=7, batch=1, bad_share=0.25)
    return summary, lake.run("run-1")


@pytest.fixture(scope="module")
def rerun(lake, first):
    before = lake.snapshot()
    gold_before = sorted(tuple(r) for r in lake.table(GOLD, "climate_daily_metrics").collect())
    return before, gold_before, lake.run("run-2")


@pytest.fixture(scope="module")
def second(lake, rerun):
    summary = write_sample(lake.raw, seed=3, locations=4, days=7, batch=2, bad_share=0.25)
    return summary, lake.run("run-3")


def test_a_first_run_writes_exactly_the_tables_each_job_declares(first):
    """pipelines/climate.yaml and lakelib agree, PostgreSQL included: what each job wrote on an empty
    warehouse and database is what its declaration names."""
    _, results = first
    assert {name: r["writes"] for name, r in results.items()} == {
        j.name: sorted(j.declared_writes()) for j in PIPELINE.jobs if not j.is_maintenance}


def test_each_ingest_job_reports_what_the_generator_wrote(first):
    summary, results = first
    for feed, job in FEED_JOBS.items():
        s, r = summary.feeds[feed], results[job]
        assert (r["input"], r["accepted"], r["quarantined"], r["corrected"], r["files"]) == (
            s.rows, s.accepted, s.quarantined, s.corrected_values, 1), feed
        assert r["upserted"] == s.accepted


def test_postgres_tables_hold_exactly_the_accepted_rows(lake, first):
    summary, _ = first
    for feed, table in TABLES.items():
        assert lake.sql(f"SELECT count(*) FROM {table}") == [(summary.feeds[feed].accepted,)], table
    assert [r[0] for r in lake.sql("SELECT location_id FROM locations ORDER BY 1")] == summary.location_ids
    # the clean grid: every location on every day, in every fact table
    for table in ("climate_data", "health_data", "hospital_data"):
        assert lake.sql(f"SELECT count(DISTINCT location_id), count(DISTINCT date), min(date)::text "
                        f"FROM {table}") == [(4, 7, "2024-07-01")]


def test_the_seed_validation_queries_pass(lake, first):
    assert lake.sql("SELECT COUNT(*) FROM climate_data WHERE flood_probability < 0 OR flood_probability > 1") == [(0,)]
    for p in ("drought_probability", "heatwave_probability"):
        assert lake.sql(f"SELECT COUNT(*) FROM climate_data WHERE {p} < 0 OR {p} > 1") == [(0,)]
    for table in ("climate_data", "health_data", "hospital_data"):
        assert lake.sql(f"SELECT location_id, date, COUNT(*) FROM {table} GROUP BY location_id, date "
                        "HAVING COUNT(*) > 1") == []
    assert lake.sql("SELECT COUNT(*) FROM hospital_data WHERE available_beds > total_beds") == [(0,)]
    assert lake.sql("SELECT COUNT(*) FROM health_data WHERE least(respiratory_cases, heat_related_cases, "
                    "waterborne_cases, vector_borne_cases) < 0") == [(0,)]


def test_quarantine_keeps_every_rejected_line_with_file_line_and_reason(lake, first):
    summary, _ = first
    q = lake.table(BRONZE, "climate_quarantine").collect()
    for feed in TABLES:
        rows = [r for r in q if r["feed"] == feed]
        assert len(rows) == summary.feeds[feed].quarantined, feed
        assert all(r["source_file"] == f"climate/{feed}/batch-0001/{feed}.csv" and r["source_line"] >= 2
                   and r["reason"] and r["run_id"] == "run-1" for r in rows)
    # the line number points at the very line that was quarantined
    for r in q:
        text = (lake.raw / r["source_file"]).read_text().splitlines()[r["source_line"] - 1]
        assert text == r["raw_line"]
    reasons = sorted(r["reason"] for r in q if r["feed"] == "climate")
    assert sum("is not a known location" in x for x in reasons) == summary.feeds["climate"].reasons["unknown location"]
    assert (sum(x.startswith("duplicate key") for x in reasons)
            == summary.feeds["climate"].reasons["duplicate superseded"])


def test_corrections_are_audited_with_original_and_corrected_values(lake, first):
    summary, _ = first
    audit = lake.table(BRONZE, "climate_corrections").collect()
    for feed, table in (("climate", "climate_data"), ("health", "health_data")):
        rows = [r for r in audit if r["table_name"] == table]
        assert len(rows) == summary.feeds[feed].corrected_values
        assert all(float(r["original_value"]) < 0 and r["corrected_value"] == "0" and r["run_id"] == "run-1"
                   for r in rows)
        for r in rows:  # the loaded row holds the corrected value
            loc, day = (kv.split("=")[1] for kv in r["row_key"].split("|"))
            assert lake.sql(f"SELECT {r['column_name']} FROM {table} WHERE location_id = '{loc}' "
                            f"AND date = '{day}'") == [(0,)], r


def test_derived_metrics_match_an_independent_computation_in_postgres(lake, first):
    _, results = first
    expected = lake.sql(METRIC_SQL)
    gold = lake.table(GOLD, "climate_daily_metrics").select(*METRIC_CHECKED).orderBy("location_id", "date").collect()
    assert results["calculate_derived_metrics"]["accepted"] == len(expected) == len(gold) == 28
    for e, g in zip(expected, gold):
        for col, x, y in zip(METRIC_CHECKED, g, e):
            if y is None or col in ("location_id", "date", "total_cases"):
                assert x == y, (e[:2], col, x, y)
            else:  # PostgreSQL numeric (Decimal) or float8
                assert x is not None and math.isclose(x, float(y), rel_tol=1e-9), (e[:2], col, x, y)


def test_extracts_for_the_api_hold_the_gold_rows(lake, first):
    base = lake.warehouse / GOLD / "climate" / "extracts" / "daily_metrics"
    [csv_file] = list((base / "csv").glob("part-*.csv"))
    with csv_file.open() as fh:
        rows = list(csv.DictReader(fh))
    gold = {(r["location_id"], r["date"].isoformat()): r for r in lake.table(GOLD, "climate_daily_metrics").collect()}
    assert sorted((r["location_id"], r["date"]) for r in rows) == sorted(gold)
    assert list(rows[0]) == list(lake.table(GOLD, "climate_daily_metrics").columns)
    json_rows = [json.loads(line) for f in (base / "json").glob("part-*.json") for line in f.read_text().splitlines()]
    assert len(json_rows) == len(gold)
    for j in json_rows:
        g = gold[(j["location_id"], j["date"])]
        assert j.get("total_cases") == g["total_cases"] and j.get("cases_per_100k") == g["cases_per_100k"]


def test_a_rerun_ingests_nothing_and_rewrites_no_row(lake, rerun):
    before, gold_before, results = rerun
    for job in FEED_JOBS.values():
        r = results[job]
        assert (r["input"], r["accepted"], r["quarantined"], r["files"], r["skipped_files"]) == (0, 0, 0, 0, 1), job
    assert lake.snapshot() == before  # same rows, same xmin: nothing duplicated or rewritten
    assert sorted(tuple(r) for r in lake.table(GOLD, "climate_daily_metrics").collect()) == gold_before


def test_a_new_batch_adds_only_its_files_and_days(lake, second, first):
    summary2, results = second
    summary1, _ = first
    assert results["process_locations"]["files"] == 0  # batch 2 carries no location file
    for feed in ("climate", "health", "hospital"):
        r, s = results[FEED_JOBS[feed]], summary2.feeds[feed]
        assert (r["input"], r["accepted"], r["quarantined"], r["files"], r["skipped_files"]) == (
            s.rows, s.accepted, s.quarantined, 1, 1)
        assert lake.sql(f"SELECT count(*), max(date)::text FROM {TABLES[feed]}") == [
            (summary1.feeds[feed].accepted + s.accepted, "2024-07-14")]
    assert results["calculate_derived_metrics"]["accepted"] == 56
    ingested = sorted((r["feed"], r["source_file"], r["run_id"])
                      for r in lake.table(BRONZE, "climate_ingested_files").collect())
    assert ingested == sorted(
        [(f, f"climate/{f}/batch-0001/{f}.csv", "run-1") for f in TABLES]
        + [(f, f"climate/{f}/batch-0002/{f}.csv", "run-3") for f in ("climate", "health", "hospital")])
