"""No ingress from `0.0.0.0/0` or `::/0` in `SecurityGroup.ingress`, `SecurityGroupRule`,
`vpc.SecurityGroupIngressRule`.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .. import types as T
from .._common import Settings, as_list, is_map, resource_policy

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


POLICY = resource_policy(
    name="aws-ec2-security-group-disallow-public-ingress",
    description="Security groups accept no inbound traffic from 0.0.0.0/0 or ::/0.",
    severity=Severity.CRITICAL,
    remediation="Use source_security_group_id / referenced_security_group_id (e.g. the Glue security group "
                "to the database port) instead of an open CIDR.",
    types=[T.EC2_SECURITY_GROUP, T.EC2_SECURITY_GROUP_RULE, T.VPC_SECURITY_GROUP_INGRESS_RULE],
    check=_check_security_group,
    frameworks=("AWS FSBP EC2.18", "AWS FSBP EC2.19", "CIS AWS v3.0.0 5.2", "CIS AWS v3.0.0 5.3"),
    tags=["exposure", "network"],
)
