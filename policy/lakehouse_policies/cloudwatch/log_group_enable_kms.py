"""`kmsKeyId` set (CKV_AWS_158)."""

from __future__ import annotations

from pulumi_policy import Severity

from .. import types as T
from .._common import customer_key_check, resource_policy

POLICY = resource_policy(
    name="aws-cloudwatch-log-group-enable-kms",
    description="CloudWatch log groups are encrypted with a customer-managed KMS key.",
    severity=Severity.MEDIUM,
    remediation="Set kms_key_id=<the lake key ARN>; the key policy must allow logs.<region>.amazonaws.com.",
    types=[T.LOG_GROUP],
    check=customer_key_check("kmsKeyId", "log group"),
    frameworks=(),
    tags=["encryption", "logs"],
)
