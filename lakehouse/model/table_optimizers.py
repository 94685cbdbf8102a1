"""Glue table optimizers for Iceberg tables that already exist (docs/operations.md, "Table maintenance").

The stack registers no table at deploy time: each Iceberg table is created by the job that first
writes it, and a Glue table optimizer (CreateTableOptimizer) needs the table in the catalog. So the
operator lists, in the stack config key `tableOptimizers`, the `<zone>.<table>` tables that exist by
now; only tables the deployed pipelines declare are allowed (the maintenance job of each pipeline
lists them). The maintenance job stays the one mechanism for tables not listed, and runs beside the
optimizers for those listed (Iceberg's optimistic commits let both compact the same table).

Per listed table, the settings come from the pipeline's `maintenance:` declaration, the same the
maintenance job runs with: compaction (binpack), snapshot retention (snapshot_retention_hours, the
last snapshot kept) and orphan-file deletion (orphan_file_age_hours), both rounded up to whole
days, as Glue counts them. A table written by several pipelines (gold.dq_results) takes the longest
of their ages. Pure: no Pulumi here.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

from .errors import Problems
from .pipelines import MAINTENANCE_HOURS, PipelineSpec
from .zones import LAKE_ZONES

CONFIG_KEY = "tableOptimizers"
# The types of CreateTableOptimizer (botocore glue TableOptimizerType).
COMPACTION, RETENTION, ORPHAN_FILE_DELETION = "compaction", "retention", "orphan_file_deletion"
OPTIMIZER_TYPES = (COMPACTION, RETENTION, ORPHAN_FILE_DELETION)
# Where Glue writes each optimizer's runs (AWS Glue developer guide, "Table optimization prerequisites":
# the role's logs permissions name these groups). They are per account and region, as the catalog's
# encryption settings are: one stack per account-region (README) creates them, encrypted with its key.
LOG_GROUPS = {
    COMPACTION: "/aws-glue/iceberg-compaction/logs",
    RETENTION: "/aws-glue/iceberg-retention/logs",
    ORPHAN_FILE_DELETION: "/aws-glue/iceberg-orphan-file-deletion/logs",
}
COMPACTION_STRATEGY = "binpack"  # as the maintenance job's rewrite_data_files
COMPACTION_MIN_INPUT_FILES = 5  # the maintenance job's compact_min_input_files
SNAPSHOTS_TO_RETAIN = 1  # the maintenance job's expire_snapshots retain_last
RUN_RATE_HOURS = 24  # Glue's default; CreateTableOptimizer allows 3-168
ROLE_SUFFIX = "table-optimizers"


@dataclass(frozen=True)
class OptimizedTable:
    """One Iceberg table the deployed pipelines write, with the maintenance settings that apply to it."""

    zone: str
    table: str
    pipelines: tuple[str, ...]  # the pipelines writing it
    snapshot_retention_hours: int
    orphan_file_age_hours: int
    # read incrementally from a checkpoint (silver reads fhir's bronze tables from fhir_checkpoints)
    checkpointed: bool

    @property
    def key(self) -> str:
        return f"{self.zone}.{self.table}"

    @property
    def optimizer_types(self) -> tuple[str, ...]:
        """Compaction and orphan-file deletion always; retention only where it cannot break a checkpoint.

        Silver reads a checkpointed bronze table incrementally from the snapshot its last checkpoint row
        names, walking every snapshot from there. The maintenance job moves its expiry cutoff back to the
        oldest such snapshot; Glue's retention optimizer expires by age and count only and cannot read
        fhir_checkpoints, so no retention period "matches": a silver run held back longer than the period
        would find its snapshot expired and fail. Those tables keep the job's checkpoint-aware expiry."""
        return (COMPACTION, ORPHAN_FILE_DELETION) if self.checkpointed else OPTIMIZER_TYPES


def _days(hours: int) -> int:
    """Whole days Glue counts in, rounded up: never shorter than the declared hours."""
    return max(1, math.ceil(hours / 24))


def optimizer_configuration(table: OptimizedTable, optimizer_type: str) -> dict[str, Any]:
    """The type's part of TableOptimizerConfiguration (botocore glue field names), besides roleArn/enabled."""
    if optimizer_type == COMPACTION:
        return {"compactionConfiguration": {"icebergConfiguration": {
            "strategy": COMPACTION_STRATEGY, "minInputFiles": COMPACTION_MIN_INPUT_FILES}}}
    if optimizer_type == RETENTION:
        if table.checkpointed:
            raise ValueError(f"{table.key}: no retention optimizer on a checkpointed table "
                             "(OptimizedTable.optimizer_types)")
        return {"retentionConfiguration": {"icebergConfiguration": {
            "snapshotRetentionPeriodInDays": _days(table.snapshot_retention_hours),
            "numberOfSnapshotsToRetain": SNAPSHOTS_TO_RETAIN, "cleanExpiredFiles": True,
            "runRateInHours": RUN_RATE_HOURS}}}
    if optimizer_type == ORPHAN_FILE_DELETION:
        # a file younger than the age may belong to a write in flight (orphan_file_age_hours >= 48)
        return {"orphanFileDeletionConfiguration": {"icebergConfiguration": {
            "orphanFileRetentionPeriodInDays": _days(table.orphan_file_age_hours),
            "runRateInHours": RUN_RATE_HOURS}}}
    raise ValueError(f"optimizer type {optimizer_type!r}; allowed: {' | '.join(OPTIMIZER_TYPES)}")


def _split(items: str) -> list[str]:
    return [i.strip() for i in items.split(",") if i.strip()]


def optimizable_tables(pipelines: Iterable[PipelineSpec]) -> dict[str, OptimizedTable]:
    """Every Iceberg table the pipelines write (the `--tables` of their maintenance jobs), by `<zone>.<table>`,
    with the maintenance settings of the pipelines writing it (the longest ages where several do)."""
    found: dict[str, dict[str, Any]] = {}
    for p in pipelines:
        maintain = next((j for j in p.jobs if j.is_maintenance), None)
        if maintain is None:
            continue  # the pipeline writes no Iceberg table
        args = maintain.arguments
        hours = {name: int(args.get(f"--{name}", default)) for name, (default, _, _) in MAINTENANCE_HOURS.items()}
        # `--checkpoints silver.fhir_checkpoints=bronze`: the checkpoint names tables of the bronze zone; which
        # ones only its rows say, so every bronze table of the pipeline counts (as the maintenance job and
        # the pack's aws-glue-table-optimizer-retention-keeps-checkpoints read it)
        source_zones = {item.partition("=")[2] for item in _split(args.get("--checkpoints", ""))}
        for key in _split(args["--tables"]):
            entry = found.setdefault(key, {"pipelines": [], "retention": 0, "orphan": 0, "checkpointed": False})
            entry["pipelines"].append(p.name)
            entry["retention"] = max(entry["retention"], hours["snapshot_retention_hours"])
            entry["orphan"] = max(entry["orphan"], hours["orphan_file_age_hours"])
            entry["checkpointed"] = entry["checkpointed"] or key.partition(".")[0] in source_zones
    out = {}
    for key in sorted(found, key=lambda k: (LAKE_ZONES.index(k.split(".")[0]), k)):
        e = found[key]
        zone, _, table = key.partition(".")
        out[key] = OptimizedTable(zone=zone, table=table, pipelines=tuple(e["pipelines"]),
                                  snapshot_retention_hours=e["retention"], orphan_file_age_hours=e["orphan"],
                                  checkpointed=e["checkpointed"])
    return out


def table_optimizer_problems(key: str, value: Optional[Sequence[Any]],
                             pipelines: Iterable[PipelineSpec]) -> tuple[tuple[OptimizedTable, ...], Problems]:
    """The tables `value` (the config key's list) names, and a problem per entry that is not the
    `<zone>.<table>` of an Iceberg table of the deployed pipelines, or that repeats one."""
    problems = Problems()
    known = optimizable_tables(pipelines)
    allowed = list(known)
    chosen: list[OptimizedTable] = []
    for i, entry in enumerate(value or []):
        if entry is None:
            continue  # not a string: reported by the type check
        if entry not in known:
            close = difflib.get_close_matches(str(entry), allowed, n=1, cutoff=0.7)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.add(f"{key}[{i}]", entry, "an Iceberg table the deployed pipelines write, as <zone>.<table>, "
                         f"listed once its first run has created it: {allowed}{hint}")
        elif known[entry] in chosen:
            problems.add(f"{key}[{i}]", entry, "each table once")
        else:
            chosen.append(known[entry])
    return tuple(chosen), problems


# --- names and IAM grant inputs ---------------------------------------------------------------

@dataclass(frozen=True)
class TableOptimizerGrant:
    """What the optimizers' role may touch, as names (lakehouse.model.iam.table_optimizer_role_policy)."""

    role_name: str
    tables: tuple[OptimizedTable, ...]
    buckets: Mapping[str, str]  # lake zone -> bucket name
    databases: Mapping[str, str]  # lake zone -> Glue database
    key_alias: str  # the lake key

    @property
    def log_groups(self) -> tuple[str, ...]:
        return optimizer_log_groups(self.tables)


def optimizer_log_groups(tables: Iterable[OptimizedTable]) -> tuple[str, ...]:
    """The log groups of the optimizer types `tables` get (what the stack creates, and its key encrypts)."""
    used = {t for table in tables for t in table.optimizer_types}
    return tuple(LOG_GROUPS[t] for t in OPTIMIZER_TYPES if t in used)
