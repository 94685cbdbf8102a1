"""`multiAz` (CKV_AWS_157)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, resource_policy, truthy


def _check_multi_az(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if not truthy(args.props.get("multiAz")):
        report("RDS instance runs in a single availability zone; expected multiAz: true")


POLICY = resource_policy(
    name="aws-rds-instance-enable-multi-az",
    description="RDS instances run Multi-AZ, with a standby in a second availability zone.",
    severity=Severity.MEDIUM,
    remediation="Set multi_az=True (prod).",
    types=[T.RDS_INSTANCE],
    check=_check_multi_az,
    enforcement=EnforcementLevel.ADVISORY,
    frameworks=("AWS FSBP RDS.5",),
    tags=["operations", "rds", "resilience"],
)
