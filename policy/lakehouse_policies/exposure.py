"""Nothing in the lake is reachable from the internet (checkov CKV_AWS_53-56, CKV2_AWS_6,
CKV_AWS_17, CKV_AWS_24/25/260 and bucket policies without anonymous access)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from . import types as T
from ._common import (
    BadDocument,
    Settings,
    as_list,
    has_wildcard_principal,
    is_allow,
    is_map,
    policy_document,
    references,
    resource_policy,
    sid,
    stack_policy,
    statements,
    truthy,
)

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


s3_public_access_block = stack_policy(
    name="aws-s3-bucket-configure-public-access-block",
    description="Every S3 bucket has a public access block with all four settings on.",
    severity=Severity.HIGH,
    remediation="Add an aws.s3.BucketPublicAccessBlock per bucket with block_public_acls, block_public_policy, "
                "ignore_public_acls and restrict_public_buckets set to True.",
    check=_check_public_access_block,
    tags=["exposure", "s3"],
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


s3_bucket_policy_no_public_principal = resource_policy(
    name="aws-s3-bucket-policy-disallow-public-principal",
    description="Bucket policies allow nothing to the '*' principal without a restricting condition.",
    severity=Severity.CRITICAL,
    remediation="Name the principals (role ARNs) or constrain the statement with a condition.",
    types=[T.S3_BUCKET_POLICY],
    check=_check_bucket_policy,
    tags=["exposure", "s3"],
)


def _check_rds_public(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if truthy(args.props.get("publiclyAccessible")):
        report("RDS instance is publicly accessible; expected publiclyAccessible: false")


rds_not_public = resource_policy(
    name="aws-rds-instance-disallow-public-access",
    description="RDS instances are not publicly accessible.",
    severity=Severity.CRITICAL,
    remediation="Set publicly_accessible=False and reach the database from Glue through a VPC connection.",
    types=[T.RDS_INSTANCE],
    check=_check_rds_public,
    tags=["exposure", "rds"],
)

OPEN_IPV4 = "0.0.0.0/0"
OPEN_IPV6 = "::/0"


def _open_sources(rule) -> list[str]:
    cidrs = [str(c) for c in as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))]
    cidrs += [str(rule[k]) for k in ("cidrIpv4", "cidrIpv6") if rule.get(k)]
    return [c for c in cidrs if c in (OPEN_IPV4, OPEN_IPV6)]


def _ports(rule) -> str:
    lo, hi = rule.get("fromPort"), rule.get("toPort")
    proto = rule.get("protocol") or rule.get("ipProtocol") or "?"
    if str(proto) == "-1":
        return "all traffic"
    lo_s = str(int(lo)) if isinstance(lo, (int, float)) else str(lo)
    hi_s = str(int(hi)) if isinstance(hi, (int, float)) else str(hi)
    return f"{proto} {lo_s}" if lo_s == hi_s else f"{proto} {lo_s}-{hi_s}"


def _check_security_group(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    if args.resource_type == T.EC2_SECURITY_GROUP:
        rules = [r for r in as_list(args.props.get("ingress")) if is_map(r)]
    elif args.resource_type == T.EC2_SECURITY_GROUP_RULE:
        rules = [args.props] if args.props.get("type") == "ingress" else []
    else:
        rules = [args.props]
    for rule in rules:
        for cidr in _open_sources(rule):
            report(f"ingress {_ports(rule)} is open to {cidr}; expected sources limited to security groups "
                   "or private CIDRs")


security_group_no_public_ingress = resource_policy(
    name="aws-ec2-security-group-disallow-public-ingress",
    description="Security groups accept no inbound traffic from 0.0.0.0/0 or ::/0.",
    severity=Severity.CRITICAL,
    remediation="Use source_security_group_id / referenced_security_group_id (e.g. the Glue security group "
                "to the database port) instead of an open CIDR.",
    types=[T.EC2_SECURITY_GROUP, T.EC2_SECURITY_GROUP_RULE, T.VPC_SECURITY_GROUP_INGRESS_RULE],
    check=_check_security_group,
    tags=["exposure", "network"],
)

POLICIES = [s3_public_access_block, s3_bucket_policy_no_public_principal, rds_not_public,
            security_group_no_public_ingress]
