"""No bucket policy Allow statement admits anyone: `Principal "*"` (or `NotPrincipal`) only with a
condition that restricts who calls: the caller's account, organization or ARN, or the VPC endpoint,
VPC or address range the request comes from, to values naming something in particular (`_access.py`).

A condition on the request (aws:SecureTransport, an encryption header, a date), a wildcard value
(StringLike aws:PrincipalAccount "*"), an `...IfExists` or `ForAllValues:` operator, `Null`, a
negated operator or an aws:SourceIp range admitting the public internet leaves the statement public.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._access import public_grant
from .._common import BadDocument, Settings, policy_document, resource_policy, sid, statements

EXPECTED = "expected named principals, or a condition such as aws:SourceVpce / aws:PrincipalOrgID"


def _check_bucket_policy(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    try:
        doc = policy_document(args.props.get("policy"))
    except BadDocument:
        return  # aws-iam-policy-lint-parliament reports it
    for i, st in enumerate(statements(doc)):
        grant = public_grant(st)
        if grant:
            report(f"bucket policy {sid(st, i)} allows {grant.who} {grant.explain()}; {EXPECTED}")


POLICY = resource_policy(
    name="aws-s3-bucket-policy-disallow-public-principal",
    description="Bucket policies allow nothing to the '*' principal (or with NotPrincipal) unless a condition "
                "restricts who calls.",
    severity=Severity.CRITICAL,
    remediation="Name the principals (role ARNs), or constrain the statement with a literal aws:SourceVpce, "
                "aws:PrincipalOrgID or aws:PrincipalAccount condition (StringEquals, no IfExists).",
    types=[T.S3_BUCKET_POLICY],
    check=_check_bucket_policy,
    frameworks=("AWS FSBP S3.2", "AWS FSBP S3.3"),
    tags=["exposure", "s3"],
)
