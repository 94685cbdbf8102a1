"""`encryptionConfiguration` of type CUSTOMER_MANAGED_KMS_KEY with `kmsKeyId` a customer-managed key (not an
AWS-managed alias): the definition and the execution history (inputs, outputs, errors of every state) are then
readable only by principals the key's policy and IAM allow; AWS_OWNED_KEY leaves that to the service.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, first, is_aws_managed_key, known, resource_policy
from .._stack import is_unknown

CUSTOMER_MANAGED = "CUSTOMER_MANAGED_KMS_KEY"
EXPECTED = f"expected encryptionConfiguration type {CUSTOMER_MANAGED} with kmsKeyId = a customer-managed KMS key"


def _check_cmk(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if is_unknown(args, "encryptionConfiguration"):
        return
    config = first(known(args.props, "encryptionConfiguration"))
    kind = config.get("type")
    if kind != CUSTOMER_MANAGED:
        report(f"the state machine is encrypted with {kind or 'AWS_OWNED_KEY (the default)'}; {EXPECTED}")
        return
    from pulumi_policy.proxy import UnknownValueError

    try:
        key = config.get("kmsKeyId")
    except UnknownValueError:
        return  # a key made in this stack: its ARN is known after apply
    if key in (None, ""):
        report(f"encryptionConfiguration has no kmsKeyId; {EXPECTED}")
    elif is_aws_managed_key(str(key)):
        report(f"encryptionConfiguration uses the AWS-managed key {key}; {EXPECTED}")


POLICY = resource_policy(
    name="aws-sfn-state-machine-enable-cmk",
    description="Step Functions state machines encrypt their definition and execution history with a "
                "customer-managed KMS key.",
    severity=Severity.MEDIUM,
    remediation="Set encryption_configuration={'type': 'CUSTOMER_MANAGED_KMS_KEY', 'kms_key_id': <the lake key "
                "ARN>}; the state machine's role and its callers need the key through Step Functions.",
    types=[T.SFN_STATE_MACHINE],
    check=_check_cmk,
    frameworks=(),
    tags=["encryption", "sfn"],
)
