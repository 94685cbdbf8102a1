"""`maxConcurrentRuns` set and at most the maximum (default 1): unset lets a workflow run any number of
times at once.

The pipelines write Iceberg tables and upsert into PostgreSQL: two runs of one workflow write the
same tables at the same time (commit conflicts, duplicate work), and a schedule that fires while a
slow run is still going would start a second one.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, fmt_number, number, resource_policy


def _check_concurrent_runs(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    maximum = number(settings["maxConcurrentRuns"])
    runs = number(args.props.get("maxConcurrentRuns"))
    if runs is None or runs <= 0:
        report(f"maxConcurrentRuns is unset (any number of concurrent runs); expected at most "
               f"{fmt_number(maximum)}")
    elif maximum is not None and runs > maximum:
        report(f"maxConcurrentRuns is {fmt_number(runs)}; expected at most {fmt_number(maximum)}")


POLICY = resource_policy(
    name="aws-glue-workflow-limit-concurrent-runs",
    description="Glue workflows limit how many of their runs may overlap.",
    severity=Severity.MEDIUM,
    remediation="Set max_concurrent_runs (stack config workflowMaxConcurrentRuns) to at most the maximum.",
    types=[T.GLUE_WORKFLOW],
    check=_check_concurrent_runs,
    config={
        "maxConcurrentRuns": {
            "type": "integer",
            "minimum": 1,
            "default": 1,
            "description": "Most runs of one workflow at a time.",
        },
    },
    frameworks=(),
    tags=["operations", "glue"],
)
