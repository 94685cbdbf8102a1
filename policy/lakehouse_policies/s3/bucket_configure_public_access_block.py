"""Every bucket has a public access block with all four flags on (CKV_AWS_53-56, CKV2_AWS_6)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, references, stack_policy, truthy

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _check_public_access_block(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    blocks = [r for r in args.resources if r.resource_type == T.S3_PUBLIC_ACCESS_BLOCK]
    for bucket in (r for r in args.resources if r.resource_type in T.BUCKET_TYPES):
        attached = [b for b in blocks if references(b, bucket, "bucket")]
        if not attached:
            report(f"bucket '{bucket.name}' has no public access block; expected "
                   f"{', '.join(PUBLIC_ACCESS_FLAGS)} all true", bucket.urn)
            continue
        for block in attached:
            off = [f for f in PUBLIC_ACCESS_FLAGS if not truthy(block.props.get(f))]
            if off:
                report(f"bucket '{bucket.name}' public access block leaves {', '.join(off)} off; expected "
                       f"{', '.join(PUBLIC_ACCESS_FLAGS)} all true", block.urn)


POLICY = stack_policy(
    name="aws-s3-bucket-configure-public-access-block",
    description="Every S3 bucket has a public access block with all four settings on.",
    severity=Severity.HIGH,
    remediation="Add an aws.s3.BucketPublicAccessBlock per bucket with block_public_acls, block_public_policy, "
                "ignore_public_acls and restrict_public_buckets set to True.",
    check=_check_public_access_block,
    frameworks=("AWS FSBP S3.8", "CIS AWS v3.0.0 2.1.4"),
    tags=["exposure", "s3"],
)
