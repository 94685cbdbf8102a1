"""aws-rds-instance-enable-managed-master-password: RDS keeps the master password in Secrets Manager under a
customer-managed key; a password input, or the AWS-managed key, is reported."""

from __future__ import annotations

import pytest
from policy_support import drop_input, happy_stack, judged, level_of, named, set_input, shipped, single

PASSWORD = "aws-rds-instance-enable-managed-master-password"
EXPECT_KEY = "expected a customer-managed KMS key in masterUserSecretKmsKeyId"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_shipped_stacks_pass_and_the_policy_is_mandatory(stack):
    assert judged(shipped(stack), PASSWORD, stack) == []
    assert level_of(PASSWORD, stack) == "mandatory"


@pytest.mark.parametrize("change, message", [
    (lambda r: set_input(r, "masterUserSecretKmsKeyId", "alias/aws/secretsmanager"),
     f"the master user secret uses the AWS-managed key alias/aws/secretsmanager; {EXPECT_KEY}"),
    (lambda r: drop_input(r, "masterUserSecretKmsKeyId"),
     "the master user secret is encrypted with the AWS-managed aws/secretsmanager key (masterUserSecretKmsKeyId "
     f"unset); {EXPECT_KEY}"),
    (lambda r: (set_input(r, "manageMasterUserPassword", False), set_input(r, "password", "hunter2-hunter2")),
     "the master user password is not managed by RDS (a password input is set); expected manageMasterUserPassword: "
     "true and no password, with masterUserSecretKmsKeyId a customer-managed KMS key"),
])
def test_an_unmanaged_password_or_an_aws_managed_key_is_reported(change, message):
    rs = shipped("prod")
    change(named(rs, "postgres-postgres"))
    assert judged(rs, PASSWORD) == [("mandatory", "postgres-postgres", message)]


def test_a_read_replica_is_exempt():
    s = happy_stack()
    db = s.get("db").inputs
    del db["manageMasterUserPassword"], db["masterUserSecretKmsKeyId"]
    assert [m for _, m in single(s, PASSWORD)] == [
        "the master user password is not managed by RDS; expected manageMasterUserPassword: true and no password, "
        "with masterUserSecretKmsKeyId a customer-managed KMS key"]
    db["replicateSourceDb"] = "lakehouse-prod-postgres"
    assert single(s, PASSWORD) == []
