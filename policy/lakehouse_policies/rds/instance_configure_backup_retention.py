"""`backupRetentionPeriod` at least the minimum (dev 1, prod 7) (CKV_AWS_133)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, fmt_number, number, resource_policy


def _check_backups(args: ResourceValidationArgs, report: ReportViolation, settings: Settings) -> None:
    minimum = number(settings["minimumDays"])
    days = number(args.props.get("backupRetentionPeriod"))
    if days is None or (minimum is not None and days < minimum):
        report(f"backup retention is {fmt_number(days)} days; expected backupRetentionPeriod of at least "
               f"{fmt_number(minimum)} days")


POLICY = resource_policy(
    name="aws-rds-instance-configure-backup-retention",
    description="RDS instances keep automated backups for at least the minimum number of days.",
    severity=Severity.HIGH,
    remediation="Set backup_retention_period >= 7 (prod).",
    types=[T.RDS_INSTANCE],
    check=_check_backups,
    config={
        "minimumDays": {
            "type": "integer",
            "minimum": 1,
            "default": 7,
            "description": "Fewest days of automated backups.",
        },
    },
    enforcement=EnforcementLevel.ADVISORY,
    frameworks=("AWS FSBP RDS.11",),
    tags=["operations", "rds", "resilience"],
)
