"""`manageMasterUserPassword` true (RDS keeps the master password in Secrets Manager, no `password` input)
with `masterUserSecretKmsKeyId` a customer-managed KMS key (not unset, which is the AWS-managed
`aws/secretsmanager` key, nor an `alias/aws/...`). Read replicas (`replicateSourceDb`) are exempt.

A `password` input sits in the stack's state; the managed secret never leaves Secrets Manager and
rotates there, and a customer key lets the key policy decide who can decrypt it.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import CUSTOMER_KEY, Settings, is_aws_managed_key, key_ref, known, resource_policy, truthy

KEY = "masterUserSecretKmsKeyId"


def _set(props, key: str) -> bool:
    """Is the input set, known or not (a secret password is often an output not known at preview)?"""
    from pulumi_policy.proxy import UnknownValueError

    try:
        return props.get(key) not in (None, "")
    except UnknownValueError:
        return True


def _check_managed_password(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    props = args.props
    if known(props, "replicateSourceDb"):
        return  # a replica has the source's master user
    if not truthy(known(props, "manageMasterUserPassword")):
        given = " (a password input is set)" if _set(props, "password") else ""
        report(f"the master user password is not managed by RDS{given}; expected manageMasterUserPassword: true "
               f"and no password, with {KEY} {CUSTOMER_KEY}")
        return
    key = key_ref(props, KEY)
    if not key:
        report(f"the master user secret is encrypted with the AWS-managed aws/secretsmanager key ({KEY} unset); "
               f"expected {CUSTOMER_KEY} in {KEY}")
    elif is_aws_managed_key(key):
        report(f"the master user secret uses the AWS-managed key {key}; expected {CUSTOMER_KEY} in {KEY}")


POLICY = resource_policy(
    name="aws-rds-instance-enable-managed-master-password",
    description="RDS manages the master user password in Secrets Manager, encrypted with a customer-managed KMS key.",
    severity=Severity.HIGH,
    remediation="Set manage_master_user_password=True and master_user_secret_kms_key_id=<the lake key ARN>, and "
                "drop password (GlueRdsConnection does).",
    types=[T.RDS_INSTANCE],
    check=_check_managed_password,
    frameworks=(),
    tags=["encryption", "rds", "secrets"],
)
