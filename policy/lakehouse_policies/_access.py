"""Who a resource policy statement admits, and how much of the internet a set of CIDRs covers.

Reasoning, not string matching: a statement with Principal "*" (or an Allow with NotPrincipal) is
public unless one of its conditions restricts *who* calls, and a condition restricts the caller
only when it constrains an identity or network-origin key (`CALLER_KEYS`: the caller's account,
organization, ARN, the source account/ARN a service acts for, the VPC endpoint, VPC or IP address
the request comes from) with a positive operator to values that name something in particular.
What does not restrict the caller, and why (each one a bypass the pack used to accept):
- a condition on a property of the request (aws:SecureTransport, encryption headers, time,
  kms:ViaService alone): anyone can send such a request;
- a wildcard value that matches any account, organization or endpoint (StringLike "*", "o-*",
  twelve "?"), or an ARN pattern whose account is a wildcard;
- `...IfExists` and `ForAllValues:` operators: they also hold when the request carries no such key
  (an anonymous request has no aws:PrincipalAccount, a request from outside a VPC no aws:SourceVpce);
- `Null`: it tests only whether a key is present; negated operators (StringNotEquals,
  NotIpAddress ...): they admit every other value;
- aws:SourceIp ranges that admit the public internet (`public_addresses` over `PUBLIC_PREFIX`).
Conditions of one statement are ANDed: one restricting condition makes the statement non-public.

Security groups and aws:SourceIp share one notion of "a large part of the public internet": the
public addresses (outside the special-purpose and private ranges of the IANA registries) of the
union of the CIDRs, compared with the size of one /8 IPv4 or /32 IPv6 network (`PUBLIC_PREFIX`).
Standard library only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from ._common import as_list, has_wildcard_principal, is_allow, is_map

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# --- addresses ------------------------------------------------------------------------------------

# The whole of each family, and the public part of it: IPv4 minus the special-purpose, private and
# shared ranges (RFC 6890 and successors: this network, RFC 1918, CGNAT, loopback, link-local,
# IETF protocol assignments, documentation, benchmarking, multicast and reserved); IPv6 global
# unicast (2000::/3) minus documentation. The ranges listed are disjoint and inside the universe.
WHOLE = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}
PUBLIC_UNIVERSE = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("2000::/3")}
NON_PUBLIC = {
    4: tuple(ipaddress.ip_network(n) for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/3")),
    6: tuple(ipaddress.ip_network(n) for n in ("2001:db8::/32",)),
}
# A set of CIDRs admits "a large part of the public internet" when it holds more public addresses
# than one network of this prefix length: /8 for IPv4 (16,777,216 addresses), /32 for IPv6 (a
# regional registry's allocation to one provider). Security groups take theirs from their config.
PUBLIC_PREFIX = {4: 8, 6: 32}
FAMILY = {4: "IPv4", 6: "IPv6"}


def parse_network(cidr: Any) -> Optional[Network]:
    """A CIDR as a network (host bits dropped: 1.2.3.4/0 is 0.0.0.0/0), None when not one."""
    try:
        return ipaddress.ip_network(str(cidr).strip(), strict=False)
    except ValueError:
        return None


def _overlap(a: Network, b: Network) -> int:
    """How many addresses two CIDR blocks share (nested or disjoint, as CIDR blocks are)."""
    if a.version != b.version:
        return 0
    if a.subnet_of(b):
        return a.num_addresses
    if b.subnet_of(a):
        return b.num_addresses
    return 0


def union(networks: Iterable[Network]) -> dict[int, list[Network]]:
    """The union of the networks, per family (4, 6), as disjoint collapsed blocks."""
    out: dict[int, list[Network]] = {}
    networks = list(networks)
    for version in (4, 6):
        family = [n for n in networks if n.version == version]
        if family:
            out[version] = list(ipaddress.collapse_addresses(family))
    return out


def public_addresses(blocks: Sequence[Network], version: int) -> int:
    """How many public addresses the disjoint `blocks` of one family hold."""
    universe = PUBLIC_UNIVERSE[version]
    return sum(_overlap(n, universe) - sum(_overlap(n, p) for p in NON_PUBLIC[version]) for n in blocks)


def covers_everything(blocks: Sequence[Network], version: int) -> bool:
    return list(blocks) == [WHOLE[version]]


def too_public(blocks: Sequence[Network], version: int, prefix: Optional[int] = None) -> bool:
    """Do the blocks hold more public addresses than one /prefix network?"""
    bits = 32 if version == 4 else 128
    limit = 2 ** (bits - (PUBLIC_PREFIX[version] if prefix is None else prefix))
    return public_addresses(blocks, version) > limit


# --- conditions -----------------------------------------------------------------------------------

# Condition keys naming who calls or where the call comes from, by the kind of their values:
# account / id: a literal value names one; arn: an ARN whose account (or, for S3, bucket) is
# literal; path: an organization path whose organization id is literal; ip: CIDRs.
CALLER_KEYS = {
    "aws:principalaccount": "account",
    "aws:sourceaccount": "account",
    "aws:sourceowner": "account",
    "kms:calleraccount": "account",
    "s3:dataaccesspointaccount": "account",
    "aws:principalorgid": "id",
    "aws:sourceorgid": "id",
    "aws:sourcevpce": "id",
    "aws:sourcevpc": "id",
    "aws:userid": "id",
    "aws:username": "id",
    "aws:principalorgpaths": "path",
    "aws:sourceorgpaths": "path",
    "aws:principalarn": "arn",
    "aws:sourcearn": "arn",
    "s3:dataaccesspointarn": "arn",
    "aws:sourceip": "ip",
    "aws:vpcsourceip": "ip",
}
MATCHING_OPERATORS = {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"}
IP_OPERATORS = {"ipaddress"}


def _wild(value: str) -> bool:
    return "*" in value or "?" in value


@dataclass(frozen=True)
class Condition:
    operator: str  # as written, e.g. "ForAnyValue:StringEquals"
    key: str  # as written
    values: tuple[str, ...]


def conditions(statement: Mapping[str, Any]) -> list[Condition]:
    """Every (operator, key, values) of a statement's Condition block."""
    block = statement.get("Condition")
    out = []
    if is_map(block):
        for operator, keys in block.items():
            if is_map(keys):
                for key, values in keys.items():
                    out.append(Condition(str(operator), str(key), tuple(str(v) for v in as_list(values))))
    return out


def _value_names_one(kind: str, value: str) -> bool:
    """Does a (possibly wildcard) value of a caller key name something in particular?"""
    if kind in ("account", "id"):
        return bool(value) and not _wild(value)
    if kind == "path":
        head = value.split("/", 1)[0]
        return bool(head) and not _wild(head)
    if kind == "arn":
        parts = value.split(":", 5)
        if len(parts) < 6:
            return False
        account, resource = parts[4], parts[5]
        if account:
            return not _wild(account)
        bucket = resource.split("/", 1)[0]  # S3 ARNs carry no account: the bucket name is the owner's
        return bool(bucket) and not _wild(bucket)
    return False


def caller_restriction(c: Condition, prefix: Optional[Mapping[int, int]] = None) -> Optional[str]:
    """None when the condition restricts who may call; else why it does not (a sentence fragment)."""
    op = c.operator
    key = c.key.lower()
    if key not in CALLER_KEYS:
        return f"{c.key} is a property of the request, not of who makes it"
    base = op.lower()
    if base.endswith("ifexists") or base.startswith("forallvalues:"):
        return f"{op} {c.key} also holds when the request carries no {c.key}"
    base = base.removeprefix("foranyvalue:")
    if base == "null":
        return f"Null {c.key} tests only whether the key is present"
    kind = CALLER_KEYS[key]
    if kind == "ip":
        if base not in IP_OPERATORS:
            return f"{op} {c.key} admits every other value" if "not" in base else \
                f"{op} is not an address match on {c.key}"
        networks = [parse_network(v) for v in c.values]
        if any(n is None for n in networks):
            return f"{op} {c.key} names no address range"
        blocks = union(n for n in networks if n is not None)
        if any(too_public(b, v, (prefix or PUBLIC_PREFIX)[v]) for v, b in blocks.items()):
            return f"{op} {c.key} {', '.join(c.values)} admits the public internet"
        return None
    if base not in MATCHING_OPERATORS:
        return f"{op} {c.key} admits every other value" if "not" in base else \
            f"{op} is not a match on the value of {c.key}"
    for value in c.values:
        if not _value_names_one(kind, value):
            what = "account" if kind == "arn" else "value"
            return f"{op} {c.key} {value!r} matches any {what}"
    return None


@dataclass(frozen=True)
class PublicGrant:
    """An Allow statement anyone may use: to whom it is granted and why its conditions do not restrict."""

    who: str  # "Principal '*'" or "everyone but its NotPrincipal"
    reasons: tuple[str, ...]  # one per condition ("" none: the statement has no Condition)

    def explain(self) -> str:
        if not self.reasons:
            return "without a Condition"
        return "with a condition that admits anyone (" + "; ".join(self.reasons) + ")"


def public_grant(statement: Mapping[str, Any], prefix: Optional[Mapping[int, int]] = None) -> Optional[PublicGrant]:
    """How an Allow statement admits anyone, or None when it names its principals or a condition
    restricts who calls."""
    if not is_allow(statement):
        return None
    if statement.get("NotPrincipal") is not None:
        who = "everyone but its NotPrincipal"
    elif has_wildcard_principal(statement):
        who = "Principal '*'"
    else:
        return None
    reasons = []
    for c in conditions(statement):
        why = caller_restriction(c, prefix)
        if why is None:
            return None
        reasons.append(why)
    return PublicGrant(who, tuple(reasons))
