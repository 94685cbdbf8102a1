"""Security configurations: S3 `SSE-KMS`, CloudWatch `SSE-KMS`, job bookmarks `CSE-KMS`, each with
`kmsKeyArn` (CKV_AWS_99).
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import CUSTOMER_KEY, Settings, first, key_ref, resource_policy

SECURITY_CONFIGURATION_PARTS = (
    ("s3Encryption", "s3EncryptionMode", "SSE-KMS", "S3"),
    ("cloudwatchEncryption", "cloudwatchEncryptionMode", "SSE-KMS", "CloudWatch logs"),
    ("jobBookmarksEncryption", "jobBookmarksEncryptionMode", "CSE-KMS", "job bookmarks"),
)


def _check_security_configuration(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    enc = first(args.props.get("encryptionConfiguration"))
    for block, mode_key, wanted, what in SECURITY_CONFIGURATION_PARTS:
        part = first(enc.get(block))
        mode = part.get(mode_key) or "DISABLED"
        if mode != wanted:
            report(f"{what} encryption is {mode}; expected {block}.{mode_key} = {wanted} with kmsKeyArn")
        elif not key_ref(part, "kmsKeyArn"):
            report(f"{what} encryption is {mode} without kmsKeyArn; expected {CUSTOMER_KEY}")


POLICY = resource_policy(
    name="aws-glue-security-configuration-enable-kms",
    description="Glue security configurations encrypt S3 data, CloudWatch logs and job bookmarks with KMS.",
    severity=Severity.HIGH,
    remediation=("In encryption_configuration set s3_encryption SSE-KMS, cloudwatch_encryption SSE-KMS and "
                 "job_bookmarks_encryption CSE-KMS, each with kms_key_arn of the lake key."),
    types=[T.GLUE_SECURITY_CONFIGURATION],
    check=_check_security_configuration,
    frameworks=(),
    tags=["encryption", "glue"],
)
