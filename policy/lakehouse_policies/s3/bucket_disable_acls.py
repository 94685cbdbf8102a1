"""Every bucket has ACLs disabled: a `BucketOwnershipControls` naming it (by property dependency or bucket
name) with `objectOwnership` BucketOwnerEnforced; ObjectWriter, BucketOwnerPreferred or none is reported.

With ACLs enabled an object's writer can own it and grant access to it outside the bucket policy and
IAM; BucketOwnerEnforced turns every ACL off, so the bucket policy and IAM alone decide access.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, stack_policy
from .._stack import StackIndex, block, get, is_unknown
from ._shared import attached, label

ENFORCED = "BucketOwnerEnforced"
EXPECTED = f"expected a BucketOwnershipControls with objectOwnership {ENFORCED} (ACLs disabled)"


def _check_acls_disabled(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    for bucket in s.of(*T.BUCKET_TYPES):
        controls = attached(s, bucket, [T.S3_OWNERSHIP_CONTROLS])
        if any(is_unknown(c, "rule") for c in controls):
            continue  # not known yet: not judged
        ownership = [get(block(get(c.props, "rule")), "objectOwnership") for c in controls]
        if ENFORCED in ownership:
            continue
        if not controls:
            report(f"{label(bucket)} has no ownership controls (ACLs enabled); {EXPECTED}", bucket.urn)
        else:
            report(f"{label(bucket)} object ownership is {ownership[0] or 'unset'} (ACLs enabled); {EXPECTED}",
                   controls[0].urn)


POLICY = stack_policy(
    name="aws-s3-bucket-disable-acls",
    description="Every S3 bucket has ACLs disabled (object ownership BucketOwnerEnforced).",
    severity=Severity.MEDIUM,
    remediation="Give every bucket an aws.s3.BucketOwnershipControls with rule object_ownership="
                "'BucketOwnerEnforced' (SecureBucket does); grant access in the bucket policy instead.",
    check=_check_acls_disabled,
    frameworks=("AWS FSBP S3.12",),
    tags=["exposure", "s3"],
)
