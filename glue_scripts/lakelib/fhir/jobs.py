"""Orchestration of the FHIR jobs: read (lakelib.io), transform (bronze/silver/gold, pure),
write (lakelib.io); run id, reconciliation and the result's "writes" come from lakelib.runtime.job.

Atomicity (details in docs/fhir-data-model.md):
- bronze: data and quarantine appends first, the ingest log last. Every row carries the
  run's `ingest_seq` (= last logged seq + 1). A run that died before its log commit left rows
  with ingest_seq >= the next seq; the retry computes the same seq, re-reads the unlogged
  files and appends only the (source_file, line_number) keys not already stored.
- silver: MERGE by id keeping the newer version (idempotent), quarantine by insert-if-missing,
  the records waiting for their patient replaced in one overwrite (a replay takes a row held and
  appended once), the checkpoint of consumed bronze snapshots appended last. A crash replays,
  never skips.
- gold: full recompute, one atomic overwrite whose snapshot records what it was computed from
  (gold_inputs); a run whose inputs are all the same as that record rewrites nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Mapping

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..io import quality
from ..io.raw_files import check_gzip, list_all_files, read_lines
from ..io.tables import Lake, Table
from ..runtime.args import ArgSpec, base_uri, identifier, positive_int
from ..runtime.job import JobRun, ReconciliationError
from ..runtime.library import source_digest
from . import bronze as B
from . import bronze_files as BF
from . import gold as G
from . import silver as S
from .rules import DEFAULT_HAI_CODES, EXCLUDED_ENCOUNTER_STATUS, to_quarantine_rows
from .schemas import (
    BRONZE,
    BRONZE_TABLES,
    CHECKPOINT_TABLE,
    CHECKPOINTS,
    CMS_FACILITY_MONTHLY,
    GOLD_TABLE,
    INGEST_LOG,
    INGEST_LOG_TABLE,
    QUARANTINE_KEY,
    QUARANTINE_SCHEMA,
    QUARANTINE_TABLE,
    RESOURCE_TYPES,
    SILVER_PROPERTIES,
    SILVER_SCHEMAS,
    SILVER_TABLES,
    WAITING,
    WAITING_TABLE,
)

_COMMON = {"run_id": None, "JOB_RUN_ID": None, "warehouse": None, "quality_rules": None}
BRONZE_ARGS = ArgSpec(required=("catalog", "raw_path", "bronze_database"), optional=dict(_COMMON))
# compaction: rewrite a silver data file once this many merge-on-read delete files point at it
# max_waiting_runs: silver runs a record waits for its patient before unknown_patient (unset: until it arrives)
SILVER_ARGS = ArgSpec(required=("catalog", "bronze_database", "silver_database"),
                      optional={"delete_file_threshold": "8", "max_waiting_runs": None, **_COMMON})
GOLD_ARGS = ArgSpec(
    required=("catalog", "silver_database", "gold_database"),
    optional={"as_of": None, "hai_codes": DEFAULT_HAI_CODES, **_COMMON},
)
# in the summary of each gold snapshot: what it was computed from (a JSON object: gold_inputs), and
# the discharges silver held then, which the written rows must sum to (checked again when skipping)
GOLD_INPUTS_PROPERTY = "glue-lakehouse.gold-inputs"
GOLD_DISCHARGES_PROPERTY = "glue-lakehouse.gold-discharges"
SILVER_CONSUMER = "fhir.silver"
# Bronze's classified lines and silver's parsed batch are read a few times, then dropped. Kept in
# memory (MEMORY_AND_DISK), their cached blocks shared the local 2 GiB driver heap with the column
# builder of the next partition, and bronze ran out of heap at 4M encounters (a gzip file is one
# partition); on disk the same run passed at the same time cost (docs/benchmarks.md, third round).
WORKING_SET = StorageLevel.DISK_ONLY


# --- bronze ------------------------------------------------------------------------------

def run_bronze(spark: SparkSession, args: Mapping[str, str]) -> dict:
    job = JobRun.start("fhir.bronze", args, BRONZE_ARGS)
    a, run_id = job.args, job.run_id
    raw_path = base_uri("raw_path", a["raw_path"])
    db = identifier("bronze_database", a["bronze_database"])
    lake = Lake(spark, a["catalog"], run_id, job.writes)
    data_tables = {rt: lake.table(db, BRONZE_TABLES[rt]) for rt in RESOURCE_TYPES}
    log_t, quarantine_t = lake.table(db, INGEST_LOG_TABLE), lake.table(db, QUARANTINE_TABLE)
    for t in data_tables.values():
        lake.ensure_table(t, BRONZE)
    lake.ensure_table(log_t, INGEST_LOG)
    lake.ensure_table(quarantine_t, QUARANTINE_SCHEMA)

    # every file under fhir/ is read, ignored or quarantined as a whole (bronze_files), named in the result
    listed = list_all_files(spark, raw_path, "fhir/")
    plan = BF.plan_files(listed, RESOURCE_TYPES)
    logged = lake.read(log_t).agg(F.collect_set("source_file").alias("files"), F.max("ingest_seq").alias("seq")).first()
    already = set(logged["files"] or [])
    unlogged = [f for f in plan.to_read if f.source_file not in already]
    broken = check_gzip(spark, [f for f in unlogged if BF.is_gzip(f.source_file)])  # {file: error}
    pending = [f for f in unlogged if f.source_file not in broken]
    quarantined_files = [(f, v) for f, v in plan.quarantined if f.source_file not in already] + [
        (f, BF.corrupt_gzip(f.source_file, f.resource_type, broken[f.source_file]))
        for f in unlogged if f.source_file in broken]
    seq = (logged["seq"] or 0) + 1
    metrics = {
        "run_id": run_id, "ingest_seq": seq, "input": 0, "accepted": 0, "quarantined": 0,
        "files_listed": len(listed), "files_ingested": len(pending), "files_quarantined": len(quarantined_files),
        "files_already_ingested": sum(f.source_file in already
                                      for f in [*plan.to_read, *(f for f, _ in plan.quarantined)]),
        "files_ignored": len(plan.ignored), "recovered": 0,
        "written": {t.name: 0 for t in [*data_tables.values(), quarantine_t]},
        "ignored_files": BF.listing(plan.ignored), "quarantined_files": BF.listing(quarantined_files),
    }
    if metrics["files_listed"] != sum(metrics[k] for k in (
            "files_ingested", "files_quarantined", "files_ignored", "files_already_ingested")):
        raise ReconciliationError(f"fhir.bronze: {len(listed)} files listed but {metrics['files_ingested']} read + "
                                  f"{metrics['files_quarantined']} quarantined + {metrics['files_ignored']} ignored "
                                  f"+ {metrics['files_already_ingested']} ingested before")
    # a quarantined file is logged with its reason and 0 lines (not read again)
    log_rows = [(f.source_file, f.resource_type, f.size, 0, 0, 0, seq, run_id, None, v.reason, v.detail)
                for f, v in quarantined_files]
    if not pending:
        if log_rows:
            _append_log(spark, lake, log_t, log_rows)
        return job.finish(metrics)

    classified = B.with_line_classification(read_lines(spark, pending)).persist(WORKING_SET)
    try:
        per_file = {r["source_file"]: r for r in B.count_by_file(classified).collect()}  # one row per file
        for f in pending:
            r = per_file.get(f.source_file)
            acc, qua = (r["accepted"], r["quarantined"]) if r else (0, 0)
            lines = r["lines"] if r else 0
            if lines != acc + qua:
                raise ReconciliationError(f"fhir.bronze: {f.source_file}: {lines} lines read but "
                                          f"{acc} accepted + {qua} quarantined")
            if not lines and f.size and not BF.is_gzip(f.source_file):
                raise ReconciliationError(f"fhir.bronze: {f.source_file}: {f.size} bytes but no line read")
            log_rows.append((f.source_file, f.resource_type, f.size, lines, acc, qua, seq, run_id, None, None, None))
            metrics["input"] += lines
            metrics["accepted"] += acc
            metrics["quarantined"] += qua
        accepted_by_type = {rt: sum(r[4] for r in log_rows if r[1] == rt) for rt in RESOURCE_TYPES}

        def unstored(rows: DataFrame, t: Table, where=F.lit(True)) -> DataFrame:
            # keys left by an earlier run with this seq that died before its ingest log
            # (pruned to files of this seq by Iceberg's min/max statistics)
            return B.filter_unstored(rows, lake.read(t).where((F.col("ingest_seq") >= seq) & where))

        for rt, t in data_tables.items():
            if accepted_by_type[rt]:
                rows = unstored(B.to_bronze_rows(classified, rt, seq, run_id), t)
                metrics["written"][t.name] = lake.append(rows, t)
        if metrics["quarantined"]:
            q = to_quarantine_rows(B.with_quarantine_columns(classified, seq), "bronze", run_id)
            metrics["written"][quarantine_t.name] = lake.append(
                unstored(q, quarantine_t, F.col("stage") == "bronze"), quarantine_t)
    finally:
        classified.unpersist()

    written = sum(metrics["written"].values())
    metrics["recovered"] = metrics["accepted"] + metrics["quarantined"] - written
    if metrics["recovered"] < 0:
        raise ReconciliationError(f"fhir.bronze: wrote {written} rows for {metrics['input']} input lines")
    _append_log(spark, lake, log_t, log_rows)
    return job.finish(metrics)


def _append_log(spark: SparkSession, lake: Lake, log_t: Table, log_rows: list[tuple]) -> None:
    log = spark.createDataFrame(log_rows, INGEST_LOG).withColumn("ingested_at", F.current_timestamp())
    lake.append(log, log_t)  # last: commits the files as ingested


# --- silver ------------------------------------------------------------------------------

def _last_checkpoints(lake: Lake, t: Table) -> tuple[dict[str, int], int]:
    rows = (
        lake.read(t).where(F.col("consumer") == SILVER_CONSUMER)
        .groupBy("source_table").agg(F.max_by("snapshot_id", "checkpoint_seq").alias("snapshot_id"),
                                     F.max("checkpoint_seq").alias("seq"))
        .collect()  # one row per bronze table
    )
    return {r["source_table"]: int(r["snapshot_id"]) for r in rows}, max([r["seq"] for r in rows], default=0)


def run_silver(spark: SparkSession, args: Mapping[str, str]) -> dict:
    job = JobRun.start("fhir.silver", args, SILVER_ARGS)
    a, run_id = job.args, job.run_id
    bronze_db = identifier("bronze_database", a["bronze_database"])
    silver_db = identifier("silver_database", a["silver_database"])
    delete_file_threshold = positive_int("delete_file_threshold", a["delete_file_threshold"])
    max_waiting_runs = S.parse_max_waiting_runs(a["max_waiting_runs"])
    lake = Lake(spark, a["catalog"], run_id, job.writes)
    targets = {rt: lake.table(silver_db, SILVER_TABLES[rt]) for rt in RESOURCE_TYPES}
    quarantine_t, checkpoint_t = lake.table(silver_db, QUARANTINE_TABLE), lake.table(silver_db, CHECKPOINT_TABLE)
    waiting_t = lake.table(silver_db, WAITING_TABLE)
    for rt, t in targets.items():
        lake.ensure_table(t, SILVER_SCHEMAS[rt], SILVER_PROPERTIES)
    lake.ensure_table(quarantine_t, QUARANTINE_SCHEMA)
    lake.ensure_table(checkpoint_t, CHECKPOINTS)
    lake.ensure_table(waiting_t, WAITING)

    consumed, ckpt_seq = _last_checkpoints(lake, checkpoint_t)
    run_seq = ckpt_seq + 1  # this run's checkpoint_seq: the age of a waiting record counts these
    zero = {"input": 0, "accepted": 0, "quarantined": 0, "waiting": 0, "retried": 0}
    metrics: dict = {"run_id": run_id, **zero, "by_type": {rt: dict(zero) for rt in RESOURCE_TYPES}}
    ranges = {}  # resource type -> (bronze table, after, upto): what is new since the checkpoint
    for rt in RESOURCE_TYPES:
        source = lake.table(bronze_db, BRONZE_TABLES[rt])
        upto = lake.current_snapshot_id(source) if lake.exists(source) else None
        if upto is not None and upto != consumed.get(source.name):
            ranges[rt] = (source, consumed.get(source.name), upto)
    if not ranges:  # nothing new, so no held record can have found its patient either
        quality.check(lake, job)  # the tables as they stand: a breach left by an earlier run still stops gold
        return job.finish({**metrics, "bronze_snapshots": {}, "compacted": {}})
    checkpoint_rows = [(SILVER_CONSUMER, source.name, upto, run_seq, run_id, None)
                       for source, _, upto in ranges.values()]
    # every record held by an earlier run is checked again, read as of one snapshot (the
    # table is replaced below)
    held_snapshot = lake.current_snapshot_id(waiting_t)
    held_all = lake.read(waiting_t, held_snapshot) if held_snapshot is not None else None
    held_counts = {} if held_all is None else {
        r["resource_type"]: r["count"] for r in held_all.groupBy("resource_type").count().collect()}  # <= 2 rows
    parsers = {"Patient": S.parse_patients, "Encounter": S.parse_encounters, "Condition": S.parse_conditions}
    quarantined_frames, waiting_frames, persisted = [], [], []
    try:
        for rt in RESOURCE_TYPES:  # Patient first: encounters/conditions are checked against it
            held = held_all.where(F.col("resource_type") == rt) if held_counts.get(rt) else None
            appended = None
            if rt in ranges:
                # bronze holds a batch in one or two Parquet files (one read task each): spread the
                # raw lines over every core before the JSON parse, silver's heaviest step
                appended = lake.read_appended(*ranges[rt]).repartition(spark.sparkContext.defaultParallelism)
            if appended is None and held is None:
                continue
            parsed = parsers[rt](S.with_held(appended, held) if held is not None else appended)
            if rt != "Patient":
                parsed = S.with_patient_reference(parsed, lake.read(targets["Patient"]).select("patient_id"),
                                                  run_seq, max_waiting_runs)
            parsed = S.with_raw_of_quarantined_only(parsed).persist(WORKING_SET)
            persisted.append(parsed)
            c = {**S.count_outcomes(parsed).first().asDict(),
                 "retried": held_counts.get(rt, 0) if held is not None else 0}
            metrics["by_type"][rt] = c
            for k in zero:
                metrics[k] += c[k]
            if c["accepted"]:
                lake.upsert(S.to_silver_rows(parsed, rt, run_id), targets[rt], S.SILVER_KEYS[rt],
                            S.NEWER_VERSION_SQL)
            if c["quarantined"]:
                quarantined_frames.append(to_quarantine_rows(parsed, "silver", run_id))
            if c["waiting"]:
                waiting_frames.append(S.to_waiting_rows(parsed, run_id))
        if quarantined_frames:
            lake.insert_missing(_union(quarantined_frames), quarantine_t, QUARANTINE_KEY)
        if waiting_frames or held_counts:  # the records still waiting replace the held ones
            rows = _union(waiting_frames) if waiting_frames else spark.createDataFrame([], WAITING)
            written = lake.overwrite(rows, waiting_t)
            if written != metrics["waiting"]:
                raise ReconciliationError(f"fhir.silver: {metrics['waiting']} records wait for their patient but "
                                          f"{written} were written to {waiting_t.name}")
    finally:
        for p in persisted:
            p.unpersist()
    # last: marks the bronze snapshots as consumed
    rows = spark.createDataFrame(checkpoint_rows, CHECKPOINTS).withColumn("committed_at", F.current_timestamp())
    lake.append(rows, checkpoint_t)
    metrics["bronze_snapshots"] = {r[1]: r[2] for r in checkpoint_rows}
    # after the checkpoint: maintenance that changes no row (a crash here loses nothing)
    metrics["compacted"] = {
        targets[rt].name: lake.compact(targets[rt], delete_file_threshold)["rewritten_data_files_count"]
        for rt in RESOURCE_TYPES if metrics["by_type"][rt]["accepted"]
    }
    # after the commit (a MERGE cannot be checked before it): a `fail` breach fails the run, so gold does not start
    quality.check(lake, job)
    return job.finish(metrics)


def _union(frames: list[DataFrame]) -> DataFrame:
    out = frames[0]
    for more in frames[1:]:
        out = out.unionByName(more)
    return out


# --- gold --------------------------------------------------------------------------------

def run_gold(spark: SparkSession, args: Mapping[str, str]) -> dict:
    job = JobRun.start("fhir.gold", args, GOLD_ARGS)
    a, run_id = job.args, job.run_id
    silver_db = identifier("silver_database", a["silver_database"])
    gold_db = identifier("gold_database", a["gold_database"])
    hai = G.parse_hai_codes(a["hai_codes"])
    as_of = G.parse_as_of(a["as_of"])
    lake = Lake(spark, a["catalog"], run_id, job.writes)
    sources = {rt: lake.table(silver_db, SILVER_TABLES[rt]) for rt in RESOURCE_TYPES}
    missing = [t.qualified for t in sources.values() if not lake.exists(t)]
    if missing:
        raise RuntimeError(f"fhir.gold: silver tables {missing} do not exist; run the silver job first")
    target = lake.table(gold_db, GOLD_TABLE)
    lake.ensure_table(target, CMS_FACILITY_MONTHLY)
    snapshots = {rt: lake.current_snapshot_id(t) for rt, t in sources.items()}
    inputs = gold_inputs({sources[rt].name: s for rt, s in snapshots.items()}, a, source_digest(),
                         f"spark {spark.version}")
    summary = lake.current_summary(target)
    recorded = summary.get(GOLD_INPUTS_PROPERTY) if GOLD_DISCHARGES_PROPERTY in summary else None
    changed = changed_inputs(recorded, inputs)
    if not changed:
        # the stored rows were computed from these very inputs: the same rows again, so nothing is
        # rewritten. Their checks are repeated, so a run that failed them after its commit still fails:
        # the reconciliation (against the discharges recorded) and the rules (a fail breach fails the run)
        _reconcile_gold(lake, target, int(summary[GOLD_DISCHARGES_PROPERTY]))
        quality.check(lake, job)
        return job.finish({"run_id": run_id, "input": 0, "accepted": 0, "quarantined": 0, "up_to_date": True})
    # silver read as of the snapshots recorded in `inputs`, whatever commits meanwhile
    patients, conditions = (lake.read(sources[rt], snapshots[rt]) for rt in ("Patient", "Condition"))
    # the metrics scan encounters five times (stays, nearby stays, as-of date, checks): read
    # the columns they use once
    encounters = (lake.read(sources["Encounter"], snapshots["Encounter"]).select(*G.ENCOUNTER_COLUMNS)
                  .persist(StorageLevel.MEMORY_AND_DISK))
    try:
        metrics = _write_gold(lake, job, target, patients, encounters, conditions, hai, as_of,
                              json.dumps(inputs, sort_keys=True))
    finally:
        encounters.unpersist()
    return job.finish({"run_id": run_id, **metrics, "recomputed_for": changed})


def gold_inputs(silver_snapshots: Mapping[str, int | None], args: Mapping[str, str | None], library: str,
                engine: str) -> dict:
    """Everything gold's rows and their checks depend on: the silver snapshots read, the arguments
    that change the metrics or their rules (the rules as a digest: they are long), the lakelib
    release the job runs (runtime.library) and the engine that runs it (a new Glue version brings
    another Spark). One flat level, so a change can be named."""
    rules = args.get("quality_rules") or ""
    return {
        **{f"silver.{name}": None if sid is None else str(sid) for name, sid in sorted(silver_snapshots.items())},
        "as_of": args.get("as_of"), "hai_codes": args.get("hai_codes"),
        "quality_rules": hashlib.sha256(rules.encode()).hexdigest()[:16], "lakelib": library, "engine": engine,
    }


def changed_inputs(recorded: str | None, inputs: Mapping[str, str | None]) -> list[str]:
    """The keys of `inputs` that differ from the JSON `recorded` with the stored gold: all of them
    when there is no readable record (a gold written by an older release, or by maintenance)."""
    try:
        before = json.loads(recorded) if recorded else {}
    except ValueError:
        before = {}
    if not isinstance(before, dict):
        before = {}
    return [k for k in inputs if k not in before or before[k] != inputs[k]]


def _reconcile_gold(lake: Lake, target: Table, discharges: int) -> None:
    written = lake.read(target).agg(F.coalesce(F.sum("discharges"), F.lit(0)).alias("d")).first()["d"]
    if written != discharges:
        raise ReconciliationError(f"fhir.gold: {discharges} discharges in silver but {written} in gold")


def _write_gold(lake: Lake, job: JobRun, target: Table, patients: DataFrame, encounters: DataFrame,
                conditions: DataFrame, hai: tuple[G.HaiCode, ...], as_of: dt.date | None, inputs: str) -> dict:
    stays = G.filter_inpatient_stays(encounters)
    seen = encounters.agg(
        F.count(F.lit(1)).alias("input"),
        F.count(F.when(F.col("status").isin(*EXCLUDED_ENCOUNTER_STATUS), 1)).alias("excluded_status"),
    ).first()
    facts = stays.agg(
        F.count(F.when(F.col("discharge_date").isNotNull(), 1)).alias("discharges"),
        F.max(F.greatest("admit_date", "discharge_date")).alias("latest_date"),
    ).first()
    gold = G.to_cms_facility_monthly(patients, encounters, conditions, hai, as_of).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        # before the overwrite: a `fail` breach keeps the previous gold for its readers
        quality.check(lake, job, frames={target.name: gold})
        rows = lake.overwrite(gold, target, {GOLD_INPUTS_PROPERTY: inputs,
                                             GOLD_DISCHARGES_PROPERTY: str(facts["discharges"])})
    finally:
        gold.unpersist()
    _reconcile_gold(lake, target, facts["discharges"])
    return {
        "input": seen["input"], "accepted": seen["input"], "quarantined": 0,
        "excluded_status": seen["excluded_status"], "discharges": facts["discharges"], "rows": rows,
        "as_of": str(as_of or facts["latest_date"]), "hai_codes": len(hai),
    }
