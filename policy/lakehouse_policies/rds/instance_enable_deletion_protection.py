"""`deletionProtection` (CKV_AWS_293)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, resource_policy, truthy


def _check_deletion_protection(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if not truthy(args.props.get("deletionProtection")):
        report("RDS deletion protection is off; expected deletionProtection: true")


POLICY = resource_policy(
    name="aws-rds-instance-enable-deletion-protection",
    description="RDS instances cannot be deleted without first turning deletion protection off.",
    severity=Severity.HIGH,
    remediation="Set deletion_protection=True (prod).",
    types=[T.RDS_INSTANCE],
    check=_check_deletion_protection,
    enforcement=EnforcementLevel.ADVISORY,
    frameworks=("AWS FSBP RDS.8",),
    tags=["operations", "rds", "resilience"],
)
