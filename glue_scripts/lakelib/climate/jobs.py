"""Orchestration of the climate-health jobs: read (raw files through lakelib.io.raw_files,
PostgreSQL through lakelib.io.jdbc), transform (ingest / metrics, pure), write (PostgreSQL
through lakelib.io.jdbc, Iceberg through lakelib.io.tables, extracts through lakelib.io.extracts);
run id, reconciliation and the result's "writes" come from lakelib.runtime.job.

Ingest jobs (one per feed) take the CSV files under `<raw_path>climate/<feed>/` that the
bronze table `climate_ingested_files` does not list yet, validate them, upsert the accepted
rows into PostgreSQL, then append the quarantined rows, the correction audit rows and
finally the ingested files to bronze. A run that fails before that last append leaves the
files un-ingested, so the next run retries them (the upsert makes that safe).
`run_metrics` recomputes the gold per-location daily metrics from PostgreSQL (full refresh).
"""

from __future__ import annotations

import pyspark.sql.functions as F
from pyspark.sql import SparkSession

from ..io import extracts, jdbc, quality, raw_files
from ..io.tables import Lake
from ..runtime.args import ArgSpec, base_uri, identifier
from ..runtime.job import JobRun
from . import ingest, metrics
from .rules import KNOWN_LOCATION_FEEDS
from .schemas import (
    BRONZE_TABLES,
    CORRECTIONS,
    EXTRACTS_PREFIX,
    FEEDS,
    INGESTED_FILES,
    METRICS_TABLE,
    QUARANTINE,
    RAW_PREFIX,
    csv_kind,
    feed,
    schema_ddl,
)

JDBC_ARGS = {"jdbc_url": None, "jdbc_secret_file": None, "jdbc_ca_file": None, "connection_name": None,
             "jdbc_database": None}
COMMON_ARGS = {"run_id": None, "JOB_RUN_ID": None, "warehouse": None, "quality_rules": None, **JDBC_ARGS}
INGEST_ARGS = ArgSpec(required=("catalog", "raw_path", "bronze_database"), optional=COMMON_ARGS)
METRICS_ARGS = ArgSpec(required=("catalog", "gold_path", "gold_database"), optional=COMMON_ARGS)


# --- ingest jobs -----------------------------------------------------------------------------

def run_ingest(spark: SparkSession, args: dict, feed_name: str) -> dict:
    """One feed: new CSV files -> validated rows -> PostgreSQL upsert + bronze audit."""
    job = JobRun.start(f"climate.ingest_{feed_name}", args, INGEST_ARGS)
    a, run_id = job.args, job.run_id
    catalog = identifier("catalog", a["catalog"])
    bronze = identifier("bronze_database", a["bronze_database"])
    raw = base_uri("raw_path", a["raw_path"])
    fd = feed(feed_name)
    target = jdbc.resolve_target(spark, a)
    # Idempotent; process_locations runs first in the DAG, so by the time the three
    # parallel jobs get here everything exists and none of them races to create it.
    jdbc.apply_schema(spark, target, schema_ddl())
    lake = Lake(spark, catalog, run_id, job.writes)
    t = {name: lake.table(bronze, name) for name in BRONZE_TABLES}
    for name, columns in BRONZE_TABLES.items():
        lake.ensure_table(t[name], columns)

    files = raw_files.list_files(spark, raw, f"{RAW_PREFIX}{fd.name}/", csv_kind(fd.name))
    done = {r[0] for r in lake.read(t[INGESTED_FILES]).where(F.col("feed") == fd.name)
            .select("source_file").collect()}
    new = [f for f in files if f.source_file not in done]
    result = {"input": 0, "accepted": 0, "quarantined": 0, "corrected": 0, "files": len(new),
              "skipped_files": len(files) - len(new), "upserted": 0, "table": fd.table, "run_id": run_id}
    if not new:
        return job.finish(result)

    lines = raw_files.read_lines(spark, new).select(
        "value", F.col("source_file").alias("_source_file"), F.col("line_number").alias("_source_line"))
    known = (jdbc.read_table(spark, target, feed("locations").table, ["location_id"])
             if fd.name in KNOWN_LOCATION_FEEDS else None)
    validated = ingest.validate(ingest.parse_lines(lines, fd), fd, known).persist()
    try:
        counts = {r["ok"]: r["n"] for r in validated.groupBy(F.col("_reason").isNull().alias("ok"))
                  .agg(F.count(F.lit(1)).alias("n")).collect()}
        corrections = ingest.to_correction_rows(validated, fd, run_id).withColumn("corrected_at", F.current_timestamp())
        n_corrections = corrections.count()
        result.update(input=sum(counts.values()), accepted=counts.get(True, 0),
                      quarantined=counts.get(False, 0), corrected=n_corrections)
        job.reconcile(result)  # before any write
        result["upserted"] = jdbc.upsert(spark, target, ingest.to_accepted_rows(validated, fd), fd.table, fd.key,
                                         run_id, compare=[c for c in fd.columns if c not in fd.key],
                                         writes=job.writes)
        new_files = [f.source_file for f in new]
        quarantined = ingest.to_quarantine_rows(validated, fd, run_id).withColumn("quarantined_at",
                                                                                  F.current_timestamp())
        lake.append_unstored(quarantined, t[QUARANTINE], key=("source_file", "source_line"), source_files=new_files)
        if n_corrections:
            lake.append_unstored(corrections, t[CORRECTIONS], key=("source_file", "source_line", "column_name"),
                                 source_files=new_files)
        per_file = validated.groupBy(F.col("_source_file").alias("source_file")).agg(
            F.count(F.lit(1)).alias("lines"))
        ingested = (spark.createDataFrame([(f.source_file, f.size) for f in new], "source_file string, size bigint")
                    .join(per_file, "source_file", "left")
                    .select(F.lit(fd.name).alias("feed"), "source_file", "size",
                            F.coalesce("lines", F.lit(0)).cast("bigint").alias("lines"),
                            F.lit(run_id).alias("run_id"), F.current_timestamp().alias("ingested_at")))
        lake.append_unstored(ingested, t[INGESTED_FILES])  # last: commits the files as ingested
    finally:
        validated.unpersist()
    return job.finish(result)


def run_locations(spark: SparkSession, args: dict) -> dict:
    return run_ingest(spark, args, "locations")


def run_climate(spark: SparkSession, args: dict) -> dict:
    return run_ingest(spark, args, "climate")


def run_health(spark: SparkSession, args: dict) -> dict:
    return run_ingest(spark, args, "health")


def run_hospital(spark: SparkSession, args: dict) -> dict:
    return run_ingest(spark, args, "hospital")


# --- derived metrics -------------------------------------------------------------------------

def run_metrics(spark: SparkSession, args: dict) -> dict:
    """Gold per-location daily metrics from PostgreSQL: Iceberg table + CSV/JSON extracts."""
    job = JobRun.start("climate.metrics", args, METRICS_ARGS)
    a = job.args
    catalog = identifier("catalog", a["catalog"])
    gold = identifier("gold_database", a["gold_database"])
    gold_path = base_uri("gold_path", a["gold_path"])
    target = jdbc.resolve_target(spark, a)
    tables = {name: jdbc.read_table(spark, target, feed(name).table, feed(name).columns) for name in FEEDS}
    daily = metrics.to_daily_metrics(tables["locations"], tables["climate"], tables["health"],
                                     tables["hospital"]).orderBy("location_id", "date").persist()
    try:
        n_input = metrics.to_metric_keys(tables["climate"], tables["health"], tables["hospital"]).count()
        n_rows = daily.count()
        # Keys whose location is missing cannot be computed; the foreign keys make this 0.
        result = job.reconcile({"input": n_input, "accepted": n_rows, "quarantined": n_input - n_rows,
                                "table": f"{gold}.{METRICS_TABLE}"})
        lake = Lake(spark, catalog, job.run_id, job.writes)
        # before the refresh: a `fail` breach keeps the previous table and extracts
        quality.check(lake, job, frames={METRICS_TABLE: daily})
        lake.replace_all(daily, lake.table(gold, METRICS_TABLE))  # full refresh in one snapshot
        result["extracts"] = extracts.write_csv_and_json(daily, gold_path, EXTRACTS_PREFIX, "daily_metrics",
                                                         job.writes)
        return job.finish(result)
    finally:
        daily.unpersist()
