"""`publiclyAccessible` is not true (CKV_AWS_17)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, resource_policy, truthy


def _check_rds_public(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if truthy(args.props.get("publiclyAccessible")):
        report("RDS instance is publicly accessible; expected publiclyAccessible: false")


POLICY = resource_policy(
    name="aws-rds-instance-disallow-public-access",
    description="RDS instances are not publicly accessible.",
    severity=Severity.CRITICAL,
    remediation="Set publicly_accessible=False and reach the database from Glue through a VPC connection.",
    types=[T.RDS_INSTANCE],
    check=_check_rds_public,
    frameworks=("AWS FSBP RDS.2", "CIS AWS v3.0.0 2.3.3"),
    tags=["exposure", "rds"],
)
