"""No other resource policy (SNS topic and topic policy, Secrets Manager secret policy, Glue catalog
resource policy, CloudWatch Logs resource policy, SQS queue policy) has an Allow statement that admits
anyone: `Principal "*"` (or `NotPrincipal`) only with a condition restricting who calls, judged as
aws-s3-bucket-policy-disallow-public-principal judges bucket policies (`_access.py`). Bucket and key
policies have their own policies.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._access import public_grant
from .._common import BadDocument, Settings, policy_document, resource_policy, sid, statements

OWN_POLICIES = {T.S3_BUCKET_POLICY, T.KMS_KEY, T.KMS_KEY_POLICY}  # judged by their service's policy
TYPES = sorted(set(T.RESOURCE_DOCUMENTS) - OWN_POLICIES)
EXPECTED = ("expected named principals (accounts, roles, service principals), or a condition such as "
            "aws:SourceAccount / aws:SourceArn / aws:PrincipalOrgID naming them")


def _check_resource_policy(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    for document in T.documents(args.resource_type, args.props):
        try:
            doc = policy_document(document.value)
        except BadDocument:
            continue  # aws-iam-policy-lint-parliament reports it
        for i, st in enumerate(statements(doc)):
            grant = public_grant(st)
            if grant:
                report(f"{document.where} {sid(st, i)} allows {grant.who} {grant.explain()}; {EXPECTED}")


POLICY = resource_policy(
    name="aws-iam-resource-policy-disallow-public-principal",
    description="Topic, secret, catalog, log and queue resource policies allow nothing to the '*' principal "
                "(or with NotPrincipal) unless a condition restricts who calls.",
    severity=Severity.CRITICAL,
    remediation="Name the principals, or constrain the statement with a literal aws:SourceAccount + "
                "aws:SourceArn (a service acting for this stack) or aws:PrincipalOrgID condition (no IfExists).",
    types=TYPES,
    check=_check_resource_policy,
    frameworks=(),
    tags=["iam", "exposure"],
)
