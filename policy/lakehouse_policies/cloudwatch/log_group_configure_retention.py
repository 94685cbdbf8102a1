"""`retentionInDays` set and at least the minimum (dev 7, prod 365) (CKV_AWS_66/338)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, fmt_number, number, resource_policy


def _check_retention(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    minimum = number(settings["minimumRetentionDays"])
    days = number(args.props.get("retentionInDays"))
    if days is None or days <= 0:
        report(f"log retention is unset (logs never expire); expected retentionInDays of at least "
               f"{fmt_number(minimum)} days")
    elif minimum is not None and days < minimum:
        report(f"log retention is {fmt_number(days)} days; expected at least {fmt_number(minimum)} days")


POLICY = resource_policy(
    name="aws-cloudwatch-log-group-configure-retention",
    description="CloudWatch log groups expire logs, after at least the environment's minimum retention.",
    severity=Severity.LOW,
    remediation="Set retention_in_days (stack config logRetentionDays) to a CloudWatch value >= the minimum.",
    types=[T.LOG_GROUP],
    check=_check_retention,
    config={
        "minimumRetentionDays": {
            "type": "integer",
            "minimum": 1,
            "default": 7,
            "description": "Shortest allowed log retention in days.",
        },
    },
    frameworks=(),
    tags=["operations", "logging"],
)
