"""No security group admits the public internet: no ingress rule from `0.0.0.0/0` or `::/0` (however
spelled), and the union of a group's ingress CIDRs, across its inline `ingress`, `SecurityGroupRule`
and `vpc.SecurityGroupIngressRule` resources, neither covers all of IPv4 or IPv6 (`0.0.0.0/1` plus
`128.0.0.0/1`) nor holds more public addresses than one /8 IPv4 or /32 IPv6 network (config).

Computed with `ipaddress` (`_access.py`): public means outside the private and special-purpose
ranges (10.0.0.0/8, 172.16.0.0/12, CGNAT, documentation ...; for IPv6 inside 2000::/3). A rule is
counted for its group by the engine's property dependencies, else by the group's id or name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._access import FAMILY, WHOLE, covers_everything, parse_network, public_addresses, too_public, union
from .._common import Settings, stack_policy
from .._stack import StackIndex, get, items, strings

GROUP_TYPES = (T.EC2_SECURITY_GROUP, T.EC2_DEFAULT_SECURITY_GROUP)
TAIL = "expected sources limited to security groups or private CIDRs"


def _ports(rule: Any) -> str:
    lo, hi = get(rule, "fromPort"), get(rule, "toPort")
    proto = get(rule, "protocol") or get(rule, "ipProtocol") or "?"
    if str(proto) in ("-1", "all"):
        return "all traffic"
    lo_s = str(int(lo)) if isinstance(lo, (int, float)) else str(lo)
    hi_s = str(int(hi)) if isinstance(hi, (int, float)) else str(hi)
    return f"{proto} {lo_s}" if lo_s == hi_s else f"{proto} {lo_s}-{hi_s}"


@dataclass
class _Rule:
    resource: Any  # the resource declaring it (the group itself for an inline rule)
    label: str  # how the message names it
    ports: str
    cidrs: list[str]


@dataclass
class _Group:
    name: str
    resource: Any = None  # the group, when it is a resource of the stack
    rules: list[_Rule] = field(default_factory=list)


def _groups(s: StackIndex) -> dict[str, _Group]:
    """Every group's ingress rules, by group URN (or its literal id when not in the stack)."""
    groups: dict[str, _Group] = {}
    for g in s.of(*GROUP_TYPES):
        group = groups.setdefault(g.urn, _Group(g.name, g))
        for i, rule in enumerate(items(get(g.props, "ingress"))):
            cidrs = strings(get(rule, "cidrBlocks")) + strings(get(rule, "ipv6CidrBlocks"))
            if cidrs:
                group.rules.append(_Rule(g, f"{g.name} ingress[{i}]", _ports(rule), cidrs))
    standalone = [(r, strings(get(r.props, "cidrBlocks")) + strings(get(r.props, "ipv6CidrBlocks")))
                  for r in s.of(T.EC2_SECURITY_GROUP_RULE) if get(r.props, "type") == "ingress"]
    standalone += [(r, strings(get(r.props, "cidrIpv4")) + strings(get(r.props, "cidrIpv6")))
                   for r in s.of(T.VPC_SECURITY_GROUP_INGRESS_RULE)]
    for r, cidrs in standalone:
        if not cidrs:
            continue
        refs = s.refs(r, "securityGroupId", GROUP_TYPES)
        if not refs:  # the group is not known yet: the rule's own
            groups[r.urn] = _Group(f"of {r.name}", None, [_Rule(r, r.name, _ports(r.props), cidrs)])
        for ref in sorted(refs):
            target = s.by_urn.get(ref)  # None: a literal id of a group outside the stack
            group = groups.setdefault(ref, _Group(target.name if target is not None else ref, target))
            group.rules.append(_Rule(r, r.name, _ports(r.props), cidrs))
    return groups


def _check_security_groups(args: StackValidationArgs, report: ReportViolation, settings: Settings) -> None:
    prefix = {4: int(settings["publicIpv4PrefixLength"]), 6: int(settings["publicIpv6PrefixLength"])}
    for group in _groups(StackIndex(args.resources)).values():
        open_families = set()
        networks: dict[int, list[tuple[_Rule, str]]] = defaultdict(list)
        for rule in group.rules:
            for cidr in rule.cidrs:
                net = parse_network(cidr)
                if net is None:
                    continue
                if net == WHOLE[net.version]:
                    open_families.add(net.version)
                    report(f"ingress {rule.ports} is open to {cidr}; {TAIL}", rule.resource.urn)
                networks[net.version].append((rule, cidr))
        where = group.resource if group.resource is not None else group.rules[0].resource
        for version, found in sorted(networks.items()):
            if version in open_families:
                continue  # each open rule is reported above
            blocks = union(parse_network(c) for _, c in found)[version]
            named = "; ".join(f"{r.label} ({r.ports}) from {c}" for r, c in found)
            if covers_everything(blocks, version):
                report(f"ingress of security group '{group.name}' rules {named} together admit all of "
                       f"{FAMILY[version]}, as {WHOLE[version]} would; {TAIL}", where.urn)
            elif too_public(blocks, version, prefix[version]):
                report(f"ingress of security group '{group.name}' rules {named} admit "
                       f"{public_addresses(blocks, version)} public {FAMILY[version]} addresses, more than one "
                       f"/{prefix[version]}; {TAIL}", where.urn)


POLICY = stack_policy(
    name="aws-ec2-security-group-disallow-public-ingress",
    description="Security groups accept no inbound traffic from 0.0.0.0/0 or ::/0, nor from rules that together "
                "cover all of IPv4/IPv6 or a large part of the public internet.",
    severity=Severity.CRITICAL,
    remediation="Use source_security_group_id / referenced_security_group_id (e.g. the Glue security group "
                "to the database port) instead of public CIDRs; admit only private or narrow ranges.",
    check=_check_security_groups,
    config={
        "publicIpv4PrefixLength": {
            "type": "integer", "minimum": 0, "maximum": 32, "default": 8,
            "description": "A group's ingress may hold at most as many public IPv4 addresses as one network "
                           "of this prefix length.",
        },
        "publicIpv6PrefixLength": {
            "type": "integer", "minimum": 0, "maximum": 128, "default": 32,
            "description": "A group's ingress may hold at most as many public IPv6 addresses as one network "
                           "of this prefix length.",
        },
    },
    frameworks=("AWS FSBP EC2.18", "AWS FSBP EC2.19", "CIS AWS v3.0.0 5.2", "CIS AWS v3.0.0 5.3"),
    tags=["exposure", "network"],
)
