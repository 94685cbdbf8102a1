"""Symmetric keys set `enableKeyRotation`."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, resource_policy, truthy


def _check_key_rotation(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    usage = args.props.get("keyUsage") or "ENCRYPT_DECRYPT"
    spec = args.props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if usage != "ENCRYPT_DECRYPT" or spec != "SYMMETRIC_DEFAULT":
        return  # AWS only rotates symmetric encryption keys
    if not truthy(args.props.get("enableKeyRotation")):
        report("KMS key rotation is disabled; expected enableKeyRotation: true")


POLICY = resource_policy(
    name="aws-kms-key-enable-rotation",
    description="Symmetric customer-managed KMS keys rotate their key material yearly.",
    severity=Severity.MEDIUM,
    remediation="Set enable_key_rotation=True on the aws.kms.Key.",
    types=[T.KMS_KEY],
    check=_check_key_rotation,
    frameworks=("CIS AWS v3.0.0 3.6",),
    tags=["encryption", "kms"],
)
