"""`timeout` set and at most the maximum (dev 120, prod 480 minutes)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, fmt_number, number, resource_policy


def _check_timeout(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    maximum = number(settings["maxTimeoutMinutes"])
    timeout = number(args.props.get("timeout"))
    if timeout is None or timeout <= 0:
        report(f"timeout is unset (Glue's default runs up to 48 hours); expected at most "
               f"{fmt_number(maximum)} minutes")
    elif maximum is not None and timeout > maximum:
        report(f"timeout is {fmt_number(timeout)} minutes; expected at most {fmt_number(maximum)} minutes")


POLICY = resource_policy(
    name="aws-glue-job-configure-timeout",
    description="Glue jobs set a timeout no longer than the environment's maximum.",
    severity=Severity.MEDIUM,
    remediation="Set timeout (minutes) through stack config timeoutMinutes or the job's settings.",
    types=[T.GLUE_JOB],
    check=_check_timeout,
    config={
        "maxTimeoutMinutes": {
            "type": "integer",
            "minimum": 1,
            "default": 480,
            "description": "Longest allowed job timeout in minutes.",
        },
    },
    frameworks=(),
    tags=["operations", "cost", "glue"],
)
