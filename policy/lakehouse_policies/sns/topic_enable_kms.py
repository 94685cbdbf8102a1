"""`kmsMasterKeyId` set, not an AWS-managed alias."""

from __future__ import annotations

from pulumi_policy import Severity

from .. import types as T
from .._common import customer_key_check, resource_policy

POLICY = resource_policy(
    name="aws-sns-topic-enable-kms",
    description="SNS topics encrypt messages with a customer-managed KMS key.",
    severity=Severity.MEDIUM,
    remediation="Set kms_master_key_id=<the lake key ARN>; the key policy must let the publishing services use it.",
    types=[T.SNS_TOPIC],
    check=customer_key_check("kmsMasterKeyId", "SNS topic"),
    frameworks=(),
    tags=["encryption", "sns"],
)
