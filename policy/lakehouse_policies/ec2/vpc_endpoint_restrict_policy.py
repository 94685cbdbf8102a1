"""Every interface and gateway VPC endpoint has a `policy`, and none of its Allow statements grants every
action (`*`, `<service>:*` or `NotAction`) to anyone: Principal `*` (or `NotPrincipal`) without a
condition restricting who calls, judged as the public-principal policies judge resource policies
(`_access.public_grant`); no policy at all is AWS's full-access default. Gateway Load Balancer
endpoints take no policy and are not judged.

An endpoint with full access lets anything in the VPC reach any account's resources through it
(copy data to someone else's bucket, use someone else's key); a condition such as a literal
aws:PrincipalAccount, and for S3 the stack's buckets as Resource, keeps it to the stack. A condition
any caller satisfies (aws:SecureTransport, StringLike aws:PrincipalAccount "*", `...IfExists`, a
negated operator) is no restriction. A policy not known yet is not judged.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._access import public_grant
from .._common import (
    BadDocument,
    Settings,
    as_list,
    known,
    policy_document,
    resource_policy,
    sid,
    statements,
)
from .._stack import is_unknown

JUDGED_TYPES = ("Interface", "Gateway")  # GatewayLoadBalancer endpoints take no policy
EXPECTED = ("expected a policy that limits who and what the endpoint serves (e.g. a Condition on aws:PrincipalAccount; "
            "for S3, the stack's buckets as Resource)")


def _all_actions(st) -> bool:
    if "NotAction" in st:
        return True
    return any(a == "*" or (a.endswith(":*") and a.count(":") == 1) for a in map(str, as_list(st.get("Action"))))


def _check_endpoint_policy(args: ResourceValidationArgs, report: ReportViolation, _: Settings) -> None:
    kind = known(args.props, "vpcEndpointType") or "Gateway"  # AWS's default type
    if kind not in JUDGED_TYPES or is_unknown(args, "policy"):
        return
    try:
        doc = policy_document(known(args.props, "policy"))
    except BadDocument:
        return  # aws-iam-policy-lint-parliament reports it
    service = str(known(args.props, "serviceName") or "the service")
    if not statements(doc):
        report(f"the {kind.lower()} endpoint for {service} has no policy (AWS's default: full access); {EXPECTED}")
        return
    for i, st in enumerate(statements(doc)):
        grant = public_grant(st) if _all_actions(st) else None
        if grant:
            report(f"endpoint policy {sid(st, i)} gives full access to {service}: it allows every action to "
                   f"{grant.who} {grant.explain()}; {EXPECTED}")


POLICY = resource_policy(
    name="aws-ec2-vpc-endpoint-restrict-policy",
    description="VPC endpoints carry a policy narrower than full access (no Allow of every action to '*' without a "
                "condition restricting who calls).",
    severity=Severity.MEDIUM,
    remediation="Pass policy= to the aws.ec2.VpcEndpoint: lakehouse.model.iam.vpc_endpoint_policy (this account's "
                "principals) or s3_gateway_endpoint_policy (and only the stack's buckets), as GlueRdsConnection does.",
    types=[T.EC2_VPC_ENDPOINT],
    check=_check_endpoint_policy,
    frameworks=(),
    tags=["exposure", "network", "ec2"],
)
