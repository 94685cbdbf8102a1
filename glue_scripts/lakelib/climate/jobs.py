"""Orchestration of the climate-health jobs: read (raw files through lakelib.raw_files,
PostgreSQL), transform (lakelib.climate, pure), write (PostgreSQL through lakelib.jdbc,
Iceberg bookkeeping through lakelib.tables).

Ingest jobs (one per feed) take the CSV files under `<raw_path>climate/<feed>/` that the
bronze table `climate_ingested_files` does not list yet, validate them, upsert the accepted
rows into PostgreSQL, then append the quarantined rows, the correction audit rows and
finally the ingested files to bronze. A run that fails before that last append leaves the
files un-ingested, so the next run retries them (the upsert makes that safe).
`run_metrics` recomputes the gold per-location daily metrics from PostgreSQL (full refresh).
"""

from __future__ import annotations

import pkgutil
import uuid

import pyspark.sql.functions as F
from pyspark.sql import DataFrame, SparkSession

from . import climate, jdbc, raw_files
from .args import ArgSpec, base_uri, identifier, resolve
from .tables import Lake

RAW_PREFIX = "climate/"
EXTRACTS_PREFIX = "climate/extracts/"
JDBC_ARGS = {"jdbc_url": None, "jdbc_secret_file": None, "connection_name": None, "jdbc_database": None}
COMMON_ARGS = {"run_id": None, "JOB_RUN_ID": None, "warehouse": None, **JDBC_ARGS}
INGEST_ARGS = ArgSpec(required=("catalog", "raw_path", "bronze_database"), optional=COMMON_ARGS)
METRICS_ARGS = ArgSpec(required=("catalog", "gold_path", "gold_database"), optional=COMMON_ARGS)

INGESTED_FILES = "climate_ingested_files"
QUARANTINE = "climate_quarantine"
CORRECTIONS = "climate_corrections"
METRICS_TABLE = "climate_daily_metrics"
BRONZE_TABLES = {
    INGESTED_FILES: "feed string, source_file string, size bigint, lines bigint, run_id string, "
                    "ingested_at timestamp",
    QUARANTINE: "feed string, source_file string, source_line int, raw_line string, reason string, "
                "run_id string, quarantined_at timestamp",
    CORRECTIONS: "table_name string, row_key string, column_name string, original_value string, "
                 "corrected_value string, rule string, run_id string, source_file string, source_line int, "
                 "corrected_at timestamp",
}


def schema_ddl() -> str:
    """The PostgreSQL schema (lakelib/climate_schema.sql), read as package data so it is the
    same file from a checkout and from the --extra-py-files zip on Glue."""
    return pkgutil.get_data("lakelib", "climate_schema.sql").decode("utf-8")


def run_id_of(a: dict) -> str:
    return a.get("JOB_RUN_ID") or a.get("run_id") or uuid.uuid4().hex


def reconcile(result: dict) -> dict:
    if result["input"] != result["accepted"] + result["quarantined"]:
        raise RuntimeError(f"input {result['input']} != accepted {result['accepted']} + "
                           f"quarantined {result['quarantined']}: {result}")
    return result


def csv_kind(feed_name: str):
    """The raw-file name filter of a feed: *.csv and *.csv.gz files are the feed's."""
    return lambda name: feed_name if name.endswith((".csv", ".csv.gz")) else None


def append(lake: Lake, df: DataFrame, table, key: tuple[str, ...] = (), files: list[str] = ()) -> None:
    """Append `df` in the table's column order (the rows carry extra working columns). With a
    `key`, rows of `files` already stored under that key are left out: a run killed after this
    append but before the ingested-files log re-reads the same files, and must not store
    their quarantine or audit rows twice."""
    columns = lake.read(table).columns
    rows = df.select(*columns)
    if key:
        stored = lake.read(table).where(F.col("source_file").isin(list(files))).select(*key).distinct()
        rows = rows.join(stored, list(key), "left_anti").select(*columns)
    lake.append(rows, table)


# --- ingest jobs -----------------------------------------------------------------------------

def run_ingest(spark: SparkSession, args: dict, feed_name: str) -> dict:
    """One feed: new CSV files -> validated rows -> PostgreSQL upsert + bronze audit."""
    a = resolve(args, INGEST_ARGS)
    catalog = identifier("catalog", a["catalog"])
    bronze = identifier("bronze_database", a["bronze_database"])
    raw = base_uri("raw_path", a["raw_path"])
    run_id = run_id_of(a)
    fd = climate.feed(feed_name)
    target = jdbc.resolve_target(spark, a)
    # Idempotent; process_locations runs first in the DAG, so by the time the three
    # parallel jobs get here everything exists and none of them races to create it.
    jdbc.apply_schema(spark, target, schema_ddl())
    lake = Lake(spark, catalog, run_id)
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
        return result

    lines = raw_files.read_lines(spark, new).select(
        "value", F.col("source_file").alias("_source_file"), F.col("line_number").alias("_source_line"))
    known = None if fd.name == "locations" else jdbc.read_table(spark, target, "locations", ["location_id"])
    validated = climate.validate(climate.parse_lines(lines, fd), fd, known).persist()
    try:
        counts = {r["ok"]: r["n"] for r in validated.groupBy(F.col("_reason").isNull().alias("ok"))
                  .agg(F.count(F.lit(1)).alias("n")).collect()}
        corrections = climate.corrections(validated, fd, run_id).withColumn("corrected_at", F.current_timestamp())
        n_corrections = corrections.count()
        result.update(input=sum(counts.values()), accepted=counts.get(True, 0),
                      quarantined=counts.get(False, 0), corrected=n_corrections)
        reconcile(result)
        result["upserted"] = jdbc.upsert(spark, target, climate.accepted(validated, fd), fd.table, fd.key, run_id,
                                         compare=[c for c in fd.columns if c not in fd.key])
        new_files = [f.source_file for f in new]
        append(lake, climate.quarantined(validated, fd, run_id).withColumn("quarantined_at", F.current_timestamp()),
               t[QUARANTINE], key=("source_file", "source_line"), files=new_files)
        if n_corrections:
            append(lake, corrections, t[CORRECTIONS], key=("source_file", "source_line", "column_name"),
                   files=new_files)
        per_file = validated.groupBy(F.col("_source_file").alias("source_file")).agg(
            F.count(F.lit(1)).alias("lines"))
        ingested = (spark.createDataFrame([(f.source_file, f.size) for f in new], "source_file string, size bigint")
                    .join(per_file, "source_file", "left")
                    .select(F.lit(fd.name).alias("feed"), "source_file", "size",
                            F.coalesce("lines", F.lit(0)).cast("bigint").alias("lines"),
                            F.lit(run_id).alias("run_id"), F.current_timestamp().alias("ingested_at")))
        append(lake, ingested, t[INGESTED_FILES])  # last: commits the files as ingested
    finally:
        validated.unpersist()
    return result


# --- derived metrics -------------------------------------------------------------------------

def run_metrics(spark: SparkSession, args: dict) -> dict:
    """Gold per-location daily metrics from PostgreSQL: Iceberg table + CSV/JSON extracts."""
    a = resolve(args, METRICS_ARGS)
    catalog = identifier("catalog", a["catalog"])
    gold = identifier("gold_database", a["gold_database"])
    gold_path = base_uri("gold_path", a["gold_path"])
    target = jdbc.resolve_target(spark, a)
    tables = {name: jdbc.read_table(spark, target, climate.feed(name).table, climate.feed(name).columns)
              for name in climate.FEEDS}
    metrics = climate.daily_metrics(tables["locations"], tables["climate"], tables["health"],
                                    tables["hospital"]).orderBy("location_id", "date").persist()
    try:
        keys = (tables["climate"].select("location_id", "date")
                .unionByName(tables["health"].select("location_id", "date"))
                .unionByName(tables["hospital"].select("location_id", "date")).distinct())
        n_input = keys.count()
        n_rows = metrics.count()
        # Keys whose location is missing cannot be computed; the foreign keys make this 0.
        result = reconcile({"input": n_input, "accepted": n_rows, "quarantined": n_input - n_rows,
                            "table": f"{gold}.{METRICS_TABLE}"})
        lake = Lake(spark, catalog, run_id_of(a))
        lake.replace_all(metrics, lake.table(gold, METRICS_TABLE))  # full refresh in one snapshot
        extract = f"{gold_path}{EXTRACTS_PREFIX}daily_metrics/"
        metrics.coalesce(1).write.mode("overwrite").option("header", "true").csv(extract + "csv/")
        metrics.coalesce(1).write.mode("overwrite").json(extract + "json/")
        result["extracts"] = [extract + "csv/", extract + "json/"]
        return result
    finally:
        metrics.unpersist()
