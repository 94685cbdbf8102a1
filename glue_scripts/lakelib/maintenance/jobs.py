"""The maintenance job: keeps a pipeline's Iceberg tables small and fast without changing a row.

Per table named by --tables (`<zone>.<table>`, the zone's database from --<zone>_database), in order:
1. compaction: Iceberg's bin-pack rewrite_data_files (Lake.compact: small files, and data files
   carrying merge-on-read delete files, at least --compact_min_input_files of them);
2. rewrite_manifests;
3. expire_snapshots older than --snapshot_retention_hours, but never a snapshot a checkpoint still
   reads from, nor any later one: an incremental read (silver's, from fhir_checkpoints) walks every
   snapshot from its checkpoint to the current one, so the cutoff is moved back to the oldest
   checkpointed snapshot (expiry_cutoff). --checkpoints names the checkpoint tables and the zone of
   the tables they name (`silver.fhir_checkpoints=bronze`);
4. remove_orphan_files older than --orphan_file_age_hours: files no snapshot references, such as
   those of a write that crashed before its commit. A younger file may belong to a write still in
   flight, so on AWS the declared age is at least the longest job timeout (lakehouse.model).
Compaction comes first so that the expiry of a later run can drop what it replaced. Rows are
counted before and after per table: a difference is a ReconciliationError (maintenance never
changes data). The result names, per table, what each step removed or rewrote.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Mapping

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ..io.tables import Lake, Table
from ..runtime.args import ArgSpec, JobArgumentError, identifier, positive_int
from ..runtime.job import LAKE_ZONES, JobRun, ReconciliationError

MAINTENANCE_ARGS = ArgSpec(
    required=("catalog", "tables"),
    optional={"checkpoints": None, "snapshot_retention_hours": "168", "orphan_file_age_hours": "72",
              "compact_min_input_files": "5", **{f"{z}_database": None for z in LAKE_ZONES},
              "run_id": None, "JOB_RUN_ID": None, "warehouse": None},
)
HOUR_MS = 3_600_000


def hours(name: str, value: str | None) -> int:
    """A whole number of hours >= 0 (0: everything older than now, for a local warehouse under lock)."""
    if value is None or not value.strip().isdigit():
        raise JobArgumentError([f"--{name}: got {value!r}; allowed: a whole number of hours >= 0"])
    return int(value)


def parse_tables(text: str, databases: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """--tables `bronze.a,silver.b` -> [(zone, table)]; each zone needs its --<zone>_database."""
    out, problems = [], []
    for item in [t.strip() for t in text.split(",") if t.strip()]:
        zone, _, name = item.partition(".")
        if zone not in LAKE_ZONES or not name:
            problems.append(f"--tables: got {item!r}; allowed: <zone>.<table> with zone one of {list(LAKE_ZONES)}")
        elif not databases.get(zone):
            problems.append(f"--tables: {item!r} needs --{zone}_database")
        else:
            out.append((zone, identifier("tables", name)))
    if problems or not out:
        raise JobArgumentError(problems or [f"--tables: got {text!r}; allowed: <zone>.<table>,... (at least one)"])
    return out


def parse_checkpoints(text: str | None, tables: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """--checkpoints `silver.fhir_checkpoints=bronze` -> {(zone, table): zone of the tables it names}."""
    out, problems, known = {}, [], set(tables)
    for item in [t.strip() for t in (text or "").split(",") if t.strip()]:
        table, _, source_zone = item.partition("=")
        zone, _, name = table.partition(".")
        if (zone, name) not in known or source_zone not in LAKE_ZONES:
            problems.append(f"--checkpoints: got {item!r}; allowed: <zone>.<table>=<zone> naming a table of "
                            f"--tables and one of {list(LAKE_ZONES)}")
        else:
            out[(zone, name)] = source_zone
    if problems:
        raise JobArgumentError(problems)
    return out


def expiry_cutoff(now_ms: int, retention_hours: int, protected_ms: Iterable[int]) -> int:
    """The older_than of expire_snapshots (which drops snapshots committed strictly before it):
    the retention cutoff, moved back to the oldest snapshot a checkpoint still reads from, so that
    snapshot and every later one stay."""
    return min([now_ms - retention_hours * HOUR_MS, *protected_ms])


def checkpointed_snapshots(lake: Lake, checkpoint: Table) -> dict[str, set[int]]:
    """Source table name -> the snapshots its consumers last consumed (one per consumer: the
    snapshot of its highest checkpoint_seq; an incremental run starts right after it)."""
    if not lake.exists(checkpoint):
        return {}  # no consumer has run: the first run reads the whole table as of its current snapshot
    rows = (lake.read(checkpoint).groupBy("consumer", "source_table")
            .agg(F.max_by("snapshot_id", "checkpoint_seq").alias("snapshot_id")).collect())  # consumers x sources
    out: dict[str, set[int]] = {}
    for r in rows:
        out.setdefault(r["source_table"].rsplit(".", 1)[-1], set()).add(int(r["snapshot_id"]))
    return out


def _literal_ts(ms: int) -> str:
    when = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    return f"TIMESTAMP '{when:%Y-%m-%d %H:%M:%S}.{when.microsecond // 1000:03d}+00:00'"


def _call(lake: Lake, procedure: str, table: Table, **args: str) -> list:
    named = ", ".join([f"table => '{table.database}.{table.name}'", *(f"{k} => {v}" for k, v in args.items())])
    return lake.spark.sql(f"CALL `{lake.catalog}`.system.{procedure}({named})").collect()


def remove_orphan_files(lake: Lake, table: Table, older_than_ms: int) -> list[str]:
    """Iceberg's DeleteOrphanFiles action: deletes the files under the table's location that no
    snapshot or metadata file references and that are older than `older_than_ms`; returns them.
    The action rather than the remove_orphan_files procedure, which refuses an age under 24 hours:
    the age is checked where it is declared (>= 48 hours on AWS), and a local warehouse is held
    under the runner's lock, so nothing writes it while this runs."""
    jvm, jspark = lake.spark.sparkContext._jvm, lake.spark._jsparkSession
    jtable = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(jspark, table.qualified)
    result = (jvm.org.apache.iceberg.spark.actions.SparkActions.get(jspark)
              .deleteOrphanFiles(jtable).olderThan(older_than_ms).execute())
    found, it = [], result.orphanFileLocations().iterator()
    while it.hasNext():
        found.append(str(it.next()))
    return found


def _snapshots(lake: Lake, table: Table) -> dict[int, int]:
    """snapshot id -> commit time (ms since the epoch)."""
    rows = lake.spark.sql(f"SELECT snapshot_id, unix_millis(committed_at) AS ms FROM {table.meta('snapshots')}")
    return {int(r["snapshot_id"]): int(r["ms"]) for r in rows.collect()}


def maintain_table(lake: Lake, table: Table, now_ms: int, retention_hours: int, orphan_age_hours: int,
                   min_input_files: int, protected: set[int] = frozenset()) -> dict:
    """The four steps on one table; what each did, and its rows before and after (equal, or
    ReconciliationError)."""
    rows_before = lake.read(table).count()
    snapshots_before = _snapshots(lake, table)
    compacted = lake.compact(table, min_input_files)
    manifests = _call(lake, "rewrite_manifests", table)[0].asDict()
    kept = sorted(s for s in protected if s in snapshots_before)
    older_than = expiry_cutoff(now_ms, retention_hours, [snapshots_before[s] for s in kept])
    expired = _call(lake, "expire_snapshots", table, older_than=_literal_ts(older_than), retain_last="1")[0].asDict()
    orphans = remove_orphan_files(lake, table, now_ms - orphan_age_hours * HOUR_MS)
    rows_after = lake.read(table).count()
    if rows_after != rows_before:
        raise ReconciliationError(f"maintenance: {table.qualified} held {rows_before} rows before and "
                                  f"{rows_after} after")
    lake.writes.table(table.database, table.name)
    snapshots_after = _snapshots(lake, table)
    return {
        "rows": rows_after,
        # after: including the snapshots compaction and the manifest rewrite just committed
        "snapshots_before": len(snapshots_before), "snapshots_after": len(snapshots_after),
        "snapshots_expired": len(set(snapshots_before) - set(snapshots_after)),
        "kept_for_checkpoints": kept,
        "missing_checkpoint_snapshots": sorted(protected - set(snapshots_before)),
        "rewritten_data_files": compacted["rewritten_data_files_count"],
        "added_data_files": compacted["added_data_files_count"],
        "removed_delete_files": compacted.get("rewritten_delete_files_count", 0),
        "rewritten_manifests": int(manifests["rewritten_manifests_count"]),
        "added_manifests": int(manifests["added_manifests_count"]),
        "expired_files": {k.removeprefix("deleted_").removesuffix("_count"): int(v) for k, v in expired.items()},
        "orphan_files_removed": len(orphans),
        "orphan_files": sorted(orphans)[:20],  # a sample for the report
    }


def run_maintenance(spark: SparkSession, args: Mapping[str, str]) -> dict:
    job = JobRun.start("maintenance", args, MAINTENANCE_ARGS)
    a, run_id = job.args, job.run_id
    databases = {z: a[f"{z}_database"] for z in LAKE_ZONES}
    tables = parse_tables(a["tables"], databases)
    checkpoints = parse_checkpoints(a["checkpoints"], tables)
    retention = hours("snapshot_retention_hours", a["snapshot_retention_hours"])
    orphan_age = hours("orphan_file_age_hours", a["orphan_file_age_hours"])
    min_input_files = positive_int("compact_min_input_files", a["compact_min_input_files"])
    lake = Lake(spark, a["catalog"], run_id, job.writes)

    # every checkpoint is read before any table (the checkpoint tables too) is touched
    protected: dict[tuple[str, str], set[int]] = {}
    for (zone, name), source_zone in checkpoints.items():
        for source, ids in checkpointed_snapshots(lake, lake.table(databases[zone], name)).items():
            protected.setdefault((source_zone, source), set()).update(ids)

    now_ms = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    report, missing = {}, []
    for zone, name in tables:
        t = lake.table(databases[zone], name)
        if not lake.exists(t):  # created by the pipeline's first run
            missing.append(f"{zone}.{name}")
            continue
        report[f"{zone}.{name}"] = maintain_table(lake, t, now_ms, retention, orphan_age, min_input_files,
                                                  protected.get((zone, name), set()))
    rows = sum(r["rows"] for r in report.values())
    return job.finish({"run_id": run_id, "input": rows, "accepted": rows, "quarantined": 0,
                       "tables": report, "not_yet_created": missing,
                       "snapshot_retention_hours": retention, "orphan_file_age_hours": orphan_age})
