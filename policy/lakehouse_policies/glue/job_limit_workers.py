"""`numberOfWorkers` set and at most the maximum (dev 10, prod 50)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, fmt_number, number, resource_policy
from ._shared import is_spark_job


def _check_workers(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    if not is_spark_job(args):
        return
    maximum = number(settings["maxWorkers"])
    workers = number(args.props.get("numberOfWorkers"))
    if workers is None:
        report(f"numberOfWorkers is unset; expected workerType and numberOfWorkers with at most "
               f"{fmt_number(maximum)} workers")
    elif maximum is not None and workers > maximum:
        report(f"numberOfWorkers is {fmt_number(workers)}; expected at most {fmt_number(maximum)} workers")


POLICY = resource_policy(
    name="aws-glue-job-limit-workers",
    description="Glue jobs use at most the environment's maximum number of workers.",
    severity=Severity.MEDIUM,
    remediation="Lower numberOfWorkers (stack config or the job's settings) or raise maxWorkers in the "
                "stack's policy config after a cost review.",
    types=[T.GLUE_JOB],
    check=_check_workers,
    config={
        "maxWorkers": {
            "type": "integer",
            "minimum": 2,
            "default": 20,
            "description": "Most workers (the auto-scaling maximum) one job may request.",
        },
    },
    frameworks=(),
    tags=["operations", "cost", "glue"],
)
