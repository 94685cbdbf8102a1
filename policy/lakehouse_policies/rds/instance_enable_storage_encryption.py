"""`storageEncrypted` (CKV_AWS_16)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, resource_policy, truthy


def _check_rds_encrypted(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if args.props.get("replicateSourceDb"):
        return  # a replica inherits the source's encryption
    if not truthy(args.props.get("storageEncrypted")):
        report("RDS storage is not encrypted; expected storageEncrypted: true with kmsKeyId")


POLICY = resource_policy(
    name="aws-rds-instance-enable-storage-encryption",
    description="RDS instances encrypt their storage.",
    severity=Severity.HIGH,
    remediation="Set storage_encrypted=True and kms_key_id=<the lake key ARN> (needs a new instance).",
    types=[T.RDS_INSTANCE],
    check=_check_rds_encrypted,
    frameworks=("AWS FSBP RDS.3", "CIS AWS v3.0.0 2.3.1"),
    tags=["encryption", "rds"],
)
