"""No bucket ACL (`BucketAcl`, `BucketAclV2`, a bucket's own `acl` / `grants`) is public: no canned ACL
public-read, public-read-write or authenticated-read, no grant to the AllUsers or AuthenticatedUsers group.

AuthenticatedUsers is any AWS account, not the account's users: both groups make the bucket public.
ACLs are off where aws-s3-bucket-disable-acls holds; this catches the ACL resource that would still
be created (and that S3 refuses or that re-opens a bucket once ownership is relaxed).
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, resource_policy
from .._stack import block, get, items, strings

PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers (everyone)",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers (any AWS account)",
}
EXPECTED = "expected a private bucket (no ACL at all: object ownership BucketOwnerEnforced)"


def _grants(args: ResourceValidationArgs) -> list[tuple[str, list[str]]]:
    """(grantee group URI, permissions) of every grant the resource declares."""
    if args.resource_type in T.BUCKET_TYPES:  # grants: [{type, uri, permissions}]
        return [(str(get(g, "uri") or ""), strings(get(g, "permissions"))) for g in items(get(args.props, "grants"))]
    policy = block(get(args.props, "accessControlPolicy"))  # accessControlPolicy.grants: [{grantee, permission}]
    return [(str(get(block(get(g, "grantee")), "uri") or ""), strings(get(g, "permission")))
            for g in items(get(policy, "grants"))]


def _check_public_acl(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    canned = get(args.props, "acl")
    if canned in PUBLIC_CANNED_ACLS:
        report(f"canned ACL '{canned}' makes the bucket public; {EXPECTED}")
    for uri, permissions in _grants(args):
        if uri in PUBLIC_GROUPS:
            report(f"ACL grants {', '.join(permissions) or 'access'} to {PUBLIC_GROUPS[uri]}; {EXPECTED}")


POLICY = resource_policy(
    name="aws-s3-bucket-acl-disallow-public",
    description="No S3 ACL makes a bucket public (public canned ACLs, grants to AllUsers or AuthenticatedUsers).",
    severity=Severity.CRITICAL,
    remediation="Remove the aws.s3.BucketAcl (and acl/grants on the bucket): keep ACLs disabled with "
                "BucketOwnershipControls BucketOwnerEnforced and grant access in the bucket policy to named "
                "principals.",
    types=[*T.BUCKET_TYPES, *T.ACL_TYPES],
    check=_check_public_acl,
    frameworks=("AWS FSBP S3.2", "AWS FSBP S3.3"),
    tags=["exposure", "s3"],
)
