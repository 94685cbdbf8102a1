"""Every bucket has a `BucketServerSideEncryptionConfiguration` (matched by property dependency or bucket
name) applying `aws:kms` with a customer-managed `kmsMasterKeyId` (not `alias/aws/s3`).
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import CUSTOMER_KEY, Settings, as_list, first, is_aws_managed_key, key_ref, references, stack_policy

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


def _sse_problem(rules: object) -> str | None:
    """None when some rule applies SSE-KMS with a customer key, else what is wrong."""
    problems = []
    for rule in as_list(rules):
        default = first(first(rule).get("applyServerSideEncryptionByDefault"))
        algorithm = default.get("sseAlgorithm") or "no algorithm"
        key = key_ref(default, "kmsMasterKeyId")
        if algorithm not in KMS_ALGORITHMS:
            problems.append(f"is encrypted with {algorithm}")
        elif not key:
            problems.append(f"uses {algorithm} without kmsMasterKeyId (the AWS-managed aws/s3 key)")
        elif is_aws_managed_key(key):
            problems.append(f"uses the AWS-managed key {key}")
        else:
            return None
    return problems[0] if problems else "has an encryption configuration without rules"


def _check_bucket_encryption(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    resources = args.resources
    buckets = [r for r in resources if r.resource_type in T.BUCKET_TYPES]
    configs = [r for r in resources if r.resource_type in T.SSE_TYPES]
    for bucket in buckets:
        attached = [c for c in configs if references(c, bucket, "bucket")]
        inline = bucket.props.get("serverSideEncryptionConfiguration")
        rule_sets = [c.props.get("rules") for c in attached]
        if inline:
            rule_sets.append(first(inline).get("rules") or first(inline).get("rule"))
        if not rule_sets:
            report(f"bucket '{bucket.name}' has no server-side encryption configuration; "
                   f"expected SSE-KMS (aws:kms) with {CUSTOMER_KEY}", bucket.urn)
            continue
        problems = [_sse_problem(rules or []) for rules in rule_sets]
        if all(problems):
            report(f"bucket '{bucket.name}' {problems[0]}; expected SSE-KMS (aws:kms) with {CUSTOMER_KEY}", bucket.urn)


POLICY = stack_policy(
    name="aws-s3-bucket-enable-sse-kms-customer-key",
    description="S3 buckets are encrypted with SSE-KMS using a customer-managed KMS key.",
    severity=Severity.HIGH,
    remediation=("Give every bucket an aws.s3.BucketServerSideEncryptionConfiguration whose rule sets "
                 "sse_algorithm='aws:kms' and kms_master_key_id=<the lake key ARN> (bucket_key_enabled=True)."),
    check=_check_bucket_encryption,
    frameworks=(),
    tags=["encryption", "s3"],
)
