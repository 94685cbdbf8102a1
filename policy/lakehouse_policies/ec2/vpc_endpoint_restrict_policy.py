"""Every interface and gateway VPC endpoint has a `policy`, and none of its Allow statements grants every
action (`*`, `<service>:*` or `NotAction`) to Principal `*` without a `Condition`; no policy at all is
AWS's full-access default. Gateway Load Balancer endpoints take no policy and are not judged.

An endpoint with full access lets anything in the VPC reach any account's resources through it
(copy data to someone else's bucket, use someone else's key); a condition such as
aws:PrincipalAccount, and for S3 the stack's buckets as Resource, keeps it to the stack. A policy
not known yet is not judged.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import (
    BadDocument,
    Settings,
    as_list,
    has_wildcard_principal,
    is_allow,
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
        if is_allow(st) and has_wildcard_principal(st) and _all_actions(st) and not st.get("Condition"):
            report(f"endpoint policy {sid(st, i)} allows every action to Principal '*' without a Condition "
                   f"(full access to {service}); {EXPECTED}")


POLICY = resource_policy(
    name="aws-ec2-vpc-endpoint-restrict-policy",
    description="VPC endpoints carry a policy narrower than full access (no unconditioned Allow of * to *).",
    severity=Severity.MEDIUM,
    remediation="Pass policy= to the aws.ec2.VpcEndpoint: lakehouse.model.iam.vpc_endpoint_policy (this account's "
                "principals) or s3_gateway_endpoint_policy (and only the stack's buckets), as GlueRdsConnection does.",
    types=[T.EC2_VPC_ENDPOINT],
    check=_check_endpoint_policy,
    frameworks=(),
    tags=["exposure", "network", "ec2"],
)
