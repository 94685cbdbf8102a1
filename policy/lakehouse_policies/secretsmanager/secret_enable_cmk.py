"""`kmsKeyId` set, not `alias/aws/secretsmanager` (CKV_AWS_149)."""

from __future__ import annotations

from pulumi_policy import Severity

from .. import types as T
from .._common import customer_key_check, resource_policy

POLICY = resource_policy(
    name="aws-secretsmanager-secret-enable-cmk",
    description="Secrets Manager secrets are encrypted with a customer-managed KMS key.",
    severity=Severity.MEDIUM,
    remediation="Set kms_key_id=<the lake key ARN> on the aws.secretsmanager.Secret.",
    types=[T.SECRET],
    check=customer_key_check("kmsKeyId", "secret"),
    frameworks=(),
    tags=["encryption", "secretsmanager"],
)
