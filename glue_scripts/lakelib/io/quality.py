"""Evaluating a job's data-quality rules and storing the outcome (docs/data-quality.md).

`check(lake, job, frames)` evaluates the rules of the job's tables (lakelib.runtime.quality): a
table given in `frames` is checked as that DataFrame, before the job writes it (a `fail` breach
then keeps the table's previous snapshot); any other as stored, after the job's commit (a `fail`
breach then fails the run, so the workflow starts nothing downstream and the job's failure alarm
fires). Every outcome is appended to `<zone>.dq_results` first, one row per rule with the run id;
a `warn` breach is logged and returned in the run's result; a `fail` breach raises QualityError
naming the table, the rule and the observed value.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Mapping

from pyspark.sql import DataFrame
from pyspark.sql.types import BooleanType, DoubleType, StringType, StructField, StructType, TimestampType

from ..runtime.args import identifier
from ..runtime.job import JobRun
from ..runtime.quality import QualityError, as_dict, breaches, describe, evaluate
from .tables import Lake

RESULTS_TABLE = "dq_results"  # in each zone whose tables have rules; declared in the job's writes
DQ_RESULTS = StructType([
    StructField("run_id", StringType()),
    StructField("job", StringType()),  # e.g. fhir.gold
    StructField("zone", StringType()),
    StructField("table_name", StringType()),
    StructField("rule", StringType()),  # the rule's DQDL text, as in the table's DataQualityRuleset
    StructField("rule_type", StringType()),
    StructField("severity", StringType()),  # fail | warn
    StructField("passed", BooleanType()),
    StructField("observed", DoubleType()),  # the rule type's metric: rows, or a fraction of rows
    StructField("detail", StringType()),
    StructField("checked", StringType()),  # before_write | after_write
    StructField("evaluated_at", TimestampType()),
])
log = logging.getLogger("lakelib.quality")


def check(lake: Lake, job: JobRun, frames: Mapping[str, DataFrame] | None = None,
          tables: tuple[str, ...] | None = None) -> list[dict]:
    """Evaluate the rules of the job's tables (only those named in `tables` when given), record them,
    and raise QualityError on a `fail` breach. Returns the outcomes (also kept in job.quality)."""
    frames = frames or {}
    groups: dict[tuple[str, str], list] = {}
    for r in job.rules:
        if tables is None or r.table in tables:
            groups.setdefault((r.zone, r.table), []).append(r)
    outcomes, when, now = [], {}, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    for (zone, table), rules in groups.items():
        database = identifier(f"{zone}_database", job.args.get(f"{zone}_database"))
        if table in frames:
            df, when[(zone, table)] = frames[table], "before_write"
        else:
            t = lake.table(database, table)
            if not lake.exists(t):
                raise QualityError(f"{job.job}: {zone}.{table} does not exist; its data-quality rules cannot be "
                                   "evaluated")
            df, when[(zone, table)] = lake.read(t), "after_write"
        outcomes += evaluate(df, rules, f"{zone}.{table}")
        job.checked.add((zone, table))
    for zone in dict.fromkeys(o.rule.zone for o in outcomes):
        rows = [(job.run_id, job.job, o.rule.zone, o.rule.table, o.rule.dqdl, o.rule.rule, o.rule.severity,
                 o.passed, float(o.observed), o.detail, when[(o.rule.zone, o.rule.table)], now)
                for o in outcomes if o.rule.zone == zone]
        results = lake.table(identifier(f"{zone}_database", job.args.get(f"{zone}_database")), RESULTS_TABLE)
        lake.ensure_table(results, DQ_RESULTS)
        lake.append(lake.spark.createDataFrame(rows, DQ_RESULTS), results)
    job.quality.extend(as_dict(o) for o in outcomes)
    for o in breaches(outcomes, "warn"):
        log.warning("%s: data-quality warning: %s", job.job, describe(o))
    failed = breaches(outcomes, "fail")
    if failed:
        kept = {when[(o.rule.zone, o.rule.table)] for o in failed}
        what = ("not written: the table keeps its previous snapshot" if kept == {"before_write"}
                else "already committed: the run fails so nothing downstream starts")
        raise QualityError(f"{job.job}: {len(failed)} data-quality rule(s) of severity fail breached ({what}; "
                           f"every outcome is in {RESULTS_TABLE}, run {job.run_id}): "
                           + "; ".join(describe(o) for o in failed), [as_dict(o) for o in outcomes])
    return [as_dict(o) for o in outcomes]
