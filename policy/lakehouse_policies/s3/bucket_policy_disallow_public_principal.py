"""No bucket policy Allow statement for `*` without a `Condition`."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import (
    BadDocument,
    Settings,
    has_wildcard_principal,
    is_allow,
    policy_document,
    resource_policy,
    sid,
    statements,
)


def _check_bucket_policy(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    try:
        doc = policy_document(args.props.get("policy"))
    except BadDocument:
        return  # aws-iam-policy-lint-parliament reports it
    for i, st in enumerate(statements(doc)):
        if is_allow(st) and has_wildcard_principal(st) and not st.get("Condition"):
            report(f"bucket policy {sid(st, i)} allows Principal '*' without a Condition; expected named "
                   "principals, or a condition such as aws:SourceVpce / aws:PrincipalOrgID")


POLICY = resource_policy(
    name="aws-s3-bucket-policy-disallow-public-principal",
    description="Bucket policies allow nothing to the '*' principal without a restricting condition.",
    severity=Severity.CRITICAL,
    remediation="Name the principals (role ARNs) or constrain the statement with a condition.",
    types=[T.S3_BUCKET_POLICY],
    check=_check_bucket_policy,
    frameworks=("AWS FSBP S3.2", "AWS FSBP S3.3"),
    tags=["exposure", "s3"],
)
