"""Orchestration of the orders jobs: read (lakelib.io), transform (bronze/silver/gold, pure), write
(lakelib.io); run id, reconciliation (input = accepted + quarantined) and "writes" from lakelib.runtime.job.

- extract: raw -> bronze. The sources are read through the crawler's tables (lakelib.io.crawled: the
  Glue Data Catalog on AWS, the runner's inferred record locally), batch folder by batch folder, files
  not yet in orders_ingested_files only. Each batch's columns are planned against the bronze table
  (lakelib.orders.evolution): additions and widenings applied as Iceberg DDL before its rows are
  appended; an incompatible batch's rows quarantined as a whole; a value that does not parse quarantined
  row by row. Data and quarantine first, the ingest log last; a retry deletes what a run that died
  before its log left of an unlogged file, then reads it again.
- transform: bronze -> silver, a full recompute (bronze holds every version): typed, flattened, checked,
  deduplicated; each silver table overwritten in one snapshot, new bronze columns added to it first.
- load: silver -> gold orders_daily_revenue, one atomic overwrite, checked against silver.
"""

from __future__ import annotations

from typing import Mapping

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from ..io import quality
from ..io.crawled import classification, crawled_partitions, read_partition_file
from ..io.raw_files import list_all_files
from ..io.tables import Lake, Table
from ..runtime.args import ArgSpec, JobArgumentError, base_uri, identifier
from ..runtime.job import JobRun, ReconciliationError
from . import bronze as B
from . import gold as G
from . import silver as S
from .evolution import AliasError, EvolutionPlan, parse_aliases, plan_evolution, read_schema
from .schemas import (
    BRONZE_BASE,
    BRONZE_TABLES,
    CRAWLER_TABLES,
    CUSTOMERS,
    FORMATS,
    GOLD,
    GOLD_TABLE,
    INGEST_LOG,
    INGEST_LOG_TABLE,
    LINEAGE,
    LINEAGE_COLUMNS,
    ORDERS,
    QUARANTINE,
    QUARANTINE_TABLE,
    REQUIRED,
    SILVER_KEYS,
    SILVER_TABLES,
    SOURCES,
)

_COMMON = {"run_id": None, "JOB_RUN_ID": None, "warehouse": None, "quality_rules": None}
# raw_database: the raw zone's Glue database, where the crawler writes its tables (set by the platform
# on AWS, lakehouse.model.platform); inferred_catalog: the folder of the local crawl records (set by the
# runner, and preferred when given: a local run may carry the raw database's name too).
# column_aliases: declared renames, old=new[,old=new].
EXTRACT_ARGS = ArgSpec(required=("catalog", "raw_path", "bronze_database"),
                       optional={"raw_database": None, "inferred_catalog": None, "column_aliases": None,
                                 **_COMMON})
TRANSFORM_ARGS = ArgSpec(required=("catalog", "bronze_database", "silver_database"), optional=dict(_COMMON))
LOAD_ARGS = ArgSpec(required=("catalog", "silver_database", "gold_database"), optional=dict(_COMMON))


def _data_schema(df_schema: StructType) -> StructType:
    return StructType([f for f in df_schema.fields if f.name not in LINEAGE_COLUMNS])


# --- extract -----------------------------------------------------------------------------

def run_extract(spark: SparkSession, args: Mapping[str, str]) -> dict:
    job = JobRun.start("orders.extract", args, EXTRACT_ARGS)
    a, run_id = job.args, job.run_id
    raw_path = base_uri("raw_path", a["raw_path"])
    db = identifier("bronze_database", a["bronze_database"])
    try:
        aliases = parse_aliases(a["column_aliases"])
    except AliasError as e:
        raise JobArgumentError([str(e)]) from None
    if not a["raw_database"] and not a["inferred_catalog"]:
        raise JobArgumentError(["--raw_database (AWS: the crawler's Glue database) or --inferred_catalog "
                                "(local: the runner's crawl records): one is required"])
    lake = Lake(spark, a["catalog"], run_id, job.writes)
    tables = {s: lake.table(db, BRONZE_TABLES[s]) for s in SOURCES}
    log_t, quarantine_t = lake.table(db, INGEST_LOG_TABLE), lake.table(db, QUARANTINE_TABLE)
    for s, t in tables.items():
        if not lake.exists(t):  # the base once; afterwards the table's own (evolved) schema rules
            lake.ensure_table(t, StructType([*BRONZE_BASE[s].fields, *LINEAGE.fields]))
    lake.ensure_table(log_t, INGEST_LOG)
    lake.ensure_table(quarantine_t, QUARANTINE)
    logged = {r[0] for r in lake.read(log_t).select("source_file").distinct().collect()}
    # files of a run that died before its log commit: their rows are deleted before the file is read again
    leftovers = {r[0] for t in [*tables.values(), quarantine_t]
                 for r in lake.read(t).select("source_file").distinct().collect() if r[0] not in logged}

    metrics: dict = {"run_id": run_id, "input": 0, "accepted": 0, "quarantined": 0,
                     "by_source": {s: {"input": 0, "accepted": 0, "quarantined": 0} for s in SOURCES},
                     "batches": [], "files_ignored": [], "files_already_ingested": 0}
    log_rows: list[tuple] = []
    for source in SOURCES:
        for part in crawled_partitions(spark, CRAWLER_TABLES[source], crawler_database=a["raw_database"],
                                       inferred_catalog=a["inferred_catalog"]):
            if not part.location.startswith(raw_path):
                raise RuntimeError(f"orders.extract: crawler table {CRAWLER_TABLES[source]} partition {part.name} "
                                   f"is at {part.location}, outside --raw_path {raw_path}")
            listed = list_all_files(spark, raw_path, part.location[len(raw_path):])
            files = []
            for f in listed:
                if classification(f.source_file) != FORMATS[source]:
                    metrics["files_ignored"].append(f.source_file)  # named in the result, never silently
                elif f.source_file in logged:
                    metrics["files_already_ingested"] += 1
                else:
                    files.append(f)
            if not files:
                continue
            table = tables[source]
            plan = plan_evolution(_data_schema(lake.read(table).schema), part.columns, aliases, REQUIRED[source])
            _apply(lake, table, plan)
            target = _data_schema(lake.read(table).schema)
            batch = {"source": source, "table": CRAWLER_TABLES[source], "partition": part.name,
                     "files": [f.source_file for f in files], **plan.as_dict(), "input": 0, "accepted": 0,
                     "quarantined": 0}
            for f in files:
                if f.source_file in leftovers:
                    lake.delete_where_in(table, "source_file", [f.source_file])
                    lake.delete_where_in(quarantine_t, "source_file", [f.source_file])
                    metrics["files_retried"] = metrics.get("files_retried", 0) + 1
                acc, qua = _extract_file(spark, lake, table, quarantine_t, f, source, part, plan, target, run_id)
                log_rows.append((f.source_file, source, part.name, acc + qua, acc, qua, run_id,
                                 "schema_incompatible" if plan.incompatible else None, plan.incompatible))
                for d in (batch, metrics, metrics["by_source"][source]):
                    d["input"] += acc + qua
                    d["accepted"] += acc
                    d["quarantined"] += qua
            metrics["batches"].append(batch)
    if log_rows:  # last: commits the files as ingested
        lake.append(spark.createDataFrame(log_rows, INGEST_LOG), log_t)
    return job.finish(metrics)


def _apply(lake: Lake, table: Table, plan: EvolutionPlan) -> None:
    if plan.incompatible:
        return
    for c in plan.widenings:
        lake.widen_column(table, c.path, c.dtype)
    for c in plan.additions:
        lake.add_column(table, c.path, c.dtype)


def _extract_file(spark, lake: Lake, table: Table, quarantine_t: Table, f, source: str, part, plan: EvolutionPlan,
                  target: StructType, run_id: str) -> tuple[int, int]:
    kind = FORMATS[source]
    text = StructType([StructField(c.name, StringType()) for c in part.columns.fields])
    if plan.incompatible:
        schema = text if kind == "csv" else part.columns
    else:
        schema = text if kind == "csv" else read_schema(target, part.columns, plan.renames)
    raw = read_partition_file(spark, f, kind, schema)
    try:
        df = raw
        for old, new in plan.renames.items():
            df = df.withColumnRenamed(next(c for c in df.columns if c.lower() == old), new)
        if plan.incompatible:
            classified = B.with_batch_quarantined(df, plan.incompatible)
        elif kind == "csv":
            classified = B.with_typed_text(df, target)
        else:
            classified = B.with_parsed_json(df)
        classified = classified.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            acc, qua = B.count_outcomes(classified)
            if acc:
                lake.append_unstored(B.to_bronze_rows(classified, target, part.name, run_id), table)
            if qua:
                columns = [c for c in df.columns if c not in (B.CORRUPT, "source_file")]
                q = B.to_quarantine_rows(classified, source, SILVER_KEYS[source], run_id, columns)
                lake.append(q, quarantine_t)
        finally:
            classified.unpersist()
    finally:
        raw.unpersist()
    return acc, qua


# --- transform ---------------------------------------------------------------------------

def _write_evolving(lake: Lake, df: DataFrame, t: Table) -> int:
    """Overwrite `t` with `df`, adding first the columns `df` has and `t` lacks (a new source column)."""
    lake.ensure_table(t, df.schema)
    columns = lake.read(t).columns
    missing = [c for c in columns if c not in df.columns]  # a column no longer in bronze stays, null
    schema = {f.name: f.dataType for f in lake.read(t).schema.fields}
    rows = df.select(*[F.col(f"`{c}`") if c not in missing else F.lit(None).cast(schema[c]).alias(c)
                       for c in columns])
    return lake.overwrite(rows, t)


def run_transform(spark: SparkSession, args: Mapping[str, str]) -> dict:
    job = JobRun.start("orders.transform", args, TRANSFORM_ARGS)
    a, run_id = job.args, job.run_id
    bronze_db = identifier("bronze_database", a["bronze_database"])
    silver_db = identifier("silver_database", a["silver_database"])
    lake = Lake(spark, a["catalog"], run_id, job.writes)
    sources = {s: lake.table(bronze_db, BRONZE_TABLES[s]) for s in SOURCES}
    missing = [t.qualified for t in sources.values() if not lake.exists(t)]
    if missing:
        raise RuntimeError(f"orders.transform: bronze tables {missing} do not exist; run the extract job first")
    targets = {s: lake.table(silver_db, SILVER_TABLES[s]) for s in SOURCES}
    quarantine_t = lake.table(silver_db, QUARANTINE_TABLE)
    lake.ensure_table(quarantine_t, QUARANTINE)

    customers = S.with_checks(S.to_typed_customers(lake.read(sources[CUSTOMERS])), CUSTOMERS)
    customers = customers.persist(StorageLevel.MEMORY_AND_DISK)
    persisted = [customers]
    try:
        silver_customers = S.to_silver_rows(customers, CUSTOMERS).persist(StorageLevel.MEMORY_AND_DISK)
        persisted.append(silver_customers)
        orders = S.with_customer_check(S.with_checks(S.to_typed_orders(lake.read(sources[ORDERS])), ORDERS),
                                       silver_customers.select("customer_id")).persist(StorageLevel.MEMORY_AND_DISK)
        persisted.append(orders)
        frames = {CUSTOMERS: customers, ORDERS: orders}
        metrics: dict = {"run_id": run_id, "input": 0, "accepted": 0, "quarantined": 0, "by_source": {}}
        quarantined = []
        for s in SOURCES:
            acc, qua = B.count_outcomes(frames[s])
            rows = silver_customers if s == CUSTOMERS else S.to_silver_rows(orders, ORDERS)
            written = _write_evolving(lake, rows, targets[s])
            metrics["by_source"][s] = {"input": acc + qua, "accepted": acc, "quarantined": qua, "written": written,
                                       "duplicates": acc - written}
            if written > acc:
                raise ReconciliationError(f"orders.transform: {written} {s} written from {acc} accepted records")
            metrics["input"] += acc + qua
            metrics["accepted"] += acc
            metrics["quarantined"] += qua
            if qua:
                columns = [c for c in frames[s].columns if c not in (B.REASON, B.DETAIL)]
                quarantined.append(B.to_quarantine_rows(frames[s], s, SILVER_KEYS[s], run_id, columns, "silver"))
        q = quarantined[0] if quarantined else lake.spark.createDataFrame([], QUARANTINE)
        for more in quarantined[1:]:
            q = q.unionByName(more)
        if lake.overwrite(q, quarantine_t) != metrics["quarantined"]:
            raise ReconciliationError(f"orders.transform: {metrics['quarantined']} quarantined records but a "
                                      f"different number written to {quarantine_t.name}")
        metrics["added_columns"] = {s: [c for c in lake.read(targets[s]).columns
                                        if c not in {f.name for f in S.SILVER[s].fields}] for s in SOURCES}
    finally:
        for p in persisted:
            p.unpersist()
    return job.finish(metrics)


# --- load --------------------------------------------------------------------------------

def run_load(spark: SparkSession, args: Mapping[str, str]) -> dict:
    job = JobRun.start("orders.load", args, LOAD_ARGS)
    a, run_id = job.args, job.run_id
    silver_db = identifier("silver_database", a["silver_database"])
    gold_db = identifier("gold_database", a["gold_database"])
    lake = Lake(spark, a["catalog"], run_id, job.writes)
    sources = {s: lake.table(silver_db, SILVER_TABLES[s]) for s in SOURCES}
    missing = [t.qualified for t in sources.values() if not lake.exists(t)]
    if missing:
        raise RuntimeError(f"orders.load: silver tables {missing} do not exist; run the transform job first")
    target = lake.table(gold_db, GOLD_TABLE)
    lake.ensure_table(target, GOLD)
    orders, customers = lake.read(sources[ORDERS]), lake.read(sources[CUSTOMERS])
    seen = orders.agg(F.count(F.lit(1)).alias("input"),
                      F.count(F.when(F.col("status").isin(*G.EXCLUDED_FROM_REVENUE), 1)).alias("excluded")).first()
    counted = G.filter_revenue_orders(orders).agg(
        F.count(F.lit(1)).alias("orders"), F.coalesce(F.sum("line_amount"), F.lit(0)).alias("revenue")).first()
    gold = G.to_daily_revenue(orders, customers).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        # before the overwrite: a `fail` breach keeps the previous gold for its readers
        quality.check(lake, job, frames={GOLD_TABLE: gold})
        rows = lake.overwrite(gold, target)
    finally:
        gold.unpersist()
    written = lake.read(target).agg(F.coalesce(F.sum("orders"), F.lit(0)).alias("orders"),
                                    F.coalesce(F.sum("gross_revenue"), F.lit(0)).alias("revenue")).first()
    if written["orders"] != counted["orders"] or written["revenue"] != counted["revenue"]:
        raise ReconciliationError(f"orders.load: silver has {counted['orders']} orders worth {counted['revenue']} "
                                  f"but gold sums {written['orders']} worth {written['revenue']}")
    return job.finish({"run_id": run_id, "input": seen["input"], "accepted": seen["input"], "quarantined": 0,
                       "excluded_cancelled": seen["excluded"], "orders": counted["orders"],
                       "gross_revenue": str(counted["revenue"]), "rows": rows})
