"""No Glue snapshot-retention table optimizer on a table a checkpoint reads incrementally.

Silver reads fhir's bronze tables incrementally: each run starts at the snapshot its last checkpoint row
names (silver.fhir_checkpoints) and walks every snapshot from there to the current one. The pipeline's
maintenance job knows it (`--checkpoints silver.fhir_checkpoints=bronze`: the checkpoint names tables of
the bronze zone) and never expires a checkpointed snapshot. A Glue retention optimizer
(`aws.glue.CatalogTableOptimizer` of type `retention`) expires by age and count only: a silver run held
back longer than its retention period finds its snapshot gone and fails (docs/operations.md, "Table
maintenance"). Compaction and orphan-file deletion optimizers on those tables are fine.

Read from what the stack registers: a maintenance job (any Glue job with `--checkpoints` and `--tables`
default arguments) maps each checkpointed zone to its Glue database by its `--<zone>_database` argument;
every table of that zone in its `--tables` is checkpointed. A retention optimizer whose `databaseName` and
`tableName` name one of those tables is a violation. Unknown values (preview) are not judged.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, is_map, stack_policy
from .._stack import StackIndex, get

RETENTION = "retention"  # CreateTableOptimizer Type


def _split(value: object) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else []


def _checkpointed(s: StackIndex) -> dict[tuple[str, str], str]:
    """(database, table) of every checkpointed table -> the Glue job (name) whose `--checkpoints` names it."""
    out: dict[tuple[str, str], str] = {}
    for job in s.of(T.GLUE_JOB):
        arguments = get(job.props, "defaultArguments")
        if not is_map(arguments):
            continue
        zones = {item.partition("=")[2] for item in _split(get(arguments, "--checkpoints"))}
        for entry in _split(get(arguments, "--tables")):
            zone, _, table = entry.partition(".")
            database = get(arguments, f"--{zone}_database")
            if zone in zones and table and isinstance(database, str):
                out.setdefault((database, table), s.name_of(job, "name"))
    return out


def _check(args: StackValidationArgs, report: ReportViolation, settings: Settings) -> None:
    s = StackIndex(args.resources)
    checkpointed = _checkpointed(s)
    for r in s.of(T.GLUE_TABLE_OPTIMIZER):
        if get(r.props, "type") != RETENTION:
            continue
        where = (get(r.props, "databaseName"), get(r.props, "tableName"))
        job = checkpointed.get(where)  # type: ignore[arg-type]
        if job is not None:
            report(f"retention table optimizer on {where[0]}.{where[1]}, which Glue job '{job}' declares "
                   "checkpointed (--checkpoints): it would expire snapshots an incremental read still needs; "
                   "expected no retention optimizer there (the maintenance job keeps every checkpointed snapshot)",
                   r.urn)


POLICY = stack_policy(
    name="aws-glue-table-optimizer-retention-keeps-checkpoints",
    description="No Glue snapshot-retention table optimizer on a table a checkpoint reads incrementally "
                "(the maintenance job's --checkpoints).",
    severity=Severity.HIGH,
    remediation="Leave snapshot expiry of checkpointed tables to the pipeline's maintenance job: give them only "
                "compaction and orphan-file deletion optimizers (components.table_optimizers does).",
    check=_check,
    frameworks=(),
    tags=["operations", "iceberg", "glue"],
)
