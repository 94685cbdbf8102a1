"""Can a Glue job on a VPC connection reach every AWS service it calls? Pure data and functions.

A Glue job with a connection sends all its traffic through the connection's subnet, with the
connection's security groups. A subnet without internet gateway or NAT reaches an AWS service
only through a VPC endpoint: a gateway endpoint on the subnet's route table (S3), or an interface
endpoint with private DNS whose security groups admit 443 from the job's, the job's security
groups allowing 443 to them. Without one, the job's calls time out.

What a job calls is read off its role's statements: each Allow action's prefix names the service
(`ENDPOINT_SERVICES`, not one-to-one: cloudwatch is the `monitoring` endpoint, ec2 is called by
the Glue service and needs none), plus what the Glue runtime calls without any statement
(`IMPLIED_SERVICES`). `unreachable` takes those actions and a description of the network
(`Network`: endpoints, route tables, NAT routes, security-group rules) and returns every service
the job cannot reach, and why. Used by GlueRdsConnection (which endpoints to create), the tests
(both stacks under mocks) and the policy pack (`aws-glue-connection-services-reachable`).

One home, one verbatim copy: the policy pack runs in its own venv from policy/ and imports nothing
of lakehouse (docs/architecture.md), so policy/lakehouse_policies/_network_model.py is a byte-for-byte
copy of this file (tests/policy/test_policy_network.py asserts it). Hence the standard library
only and no import of the rest of the model: edit here, then copy.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence

HTTPS = 443
ANYWHERE = "0.0.0.0/0"

# IAM action prefix (or one whole action, which takes precedence) -> the VPC endpoint service
# (com.amazonaws.<region>.<name>) that serves its API, None when the job never calls it from the
# connection's subnet. A prefix missing here is reported as unreachable ("no endpoint service is
# known"): add it, with its evidence, rather than guess.
ENDPOINT_SERVICES: dict[str, Optional[str]] = {
    "s3": "s3",  # scripts, library, lake objects: the S3 gateway endpoint (an interface one would do)
    "glue": "glue",  # Data Catalog (Spark, Iceberg's GlueCatalog) and GetConnection from the driver
    # The lake key used by the runtime itself: CSE-KMS job bookmarks and the security configuration's
    # CloudWatch encryption (SSE-KMS objects are S3 calling KMS, which needs no route from here).
    "kms": "kms",
    "logs": "logs",  # driver and executor logs (CloudWatch Logs), streamed while the job runs
    "secretsmanager": "secretsmanager",  # the connection's SECRET_ID, read when the job starts
    # CloudWatch metrics' API is served at monitoring.<region>.amazonaws.com: PutMetricData (job and
    # observability metrics) needs the `monitoring` endpoint service; there is no `cloudwatch` one.
    "cloudwatch": "monitoring",
    # Regional STS (sts.<region>.amazonaws.com): private DNS of an interface endpoint answers the
    # regional host only, never the global sts.amazonaws.com.
    "sts": "sts",
    # The connection's ec2 statements (create, tag, delete the job's network interfaces; describe the
    # subnet, security groups, route tables and endpoints) are used by the Glue service before the
    # job's interfaces exist and after they are gone ("AWS Glue creates an elastic network interface
    # ... in your account", AWS Glue developer guide, connection-JDBC-VPC): never from the subnet.
    "ec2": None,
    # A permission AWS checks when a role is handed to a service (iam:PassedToService), not an API
    # anyone calls; other IAM actions are calls to the global IAM endpoint, which has no VPC endpoint.
    "iam:PassRole": None,
}

# Services the Glue runtime calls from the subnet without any statement of the job's role granting
# them, with what calls them. STS: AWS Glue's developer guide lists STS with Glue and Secrets Manager
# among the endpoints a Glue VPC connection needs (sap-odata-connectivity-vpc-connection); its
# GetCallerIdentity and the session calls of a role need no IAM permission. Not yet confirmed
# against a deployed job's VPC flow logs.
IMPLIED_SERVICES: dict[str, str] = {
    "sts": "the Glue runtime (no statement: STS session calls need no IAM permission)",
}

# Endpoint services with a gateway endpoint (route table + prefix list) besides interface ones.
GATEWAY_SERVICES = frozenset({"s3", "dynamodb"})

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def endpoint_short_name(service_name: str) -> str:
    """The endpoint service's name without the partition's reversed DNS suffix and the region:
    com.amazonaws.us-east-1.s3 -> s3, cn.com.amazonaws.cn-north-1.kms -> kms, and names that
    are no AWS service name (a literal "glue") as they are."""
    parts = service_name.split(".")
    for i, part in enumerate(parts[:-1]):
        if _REGION.match(part):
            return ".".join(parts[i + 1:])
    return service_name


def needed_services(actions: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Endpoint service -> the actions (or, for IMPLIED_SERVICES, the caller) that need it.

    A prefix without an entry in ENDPOINT_SERVICES comes back under "?<prefix>", so that
    `unreachable` reports it instead of ignoring a call it cannot place."""
    known = {k.lower(): v for k, v in ENDPOINT_SERVICES.items()}  # IAM action names are case-insensitive
    out: dict[str, set[str]] = {}
    for action in actions:
        prefix = action.partition(":")[0].lower()
        if action.lower() in known or prefix in known:
            service = known.get(action.lower(), known.get(prefix))
            if service is None:
                continue
        else:
            service = f"?{prefix}"
        out.setdefault(service, set()).add(action)
    for service, caller in IMPLIED_SERVICES.items():
        out.setdefault(service, set()).add(caller)
    return {s: tuple(sorted(why)) for s, why in sorted(out.items())}


# --- the network -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """One security-group rule: a TCP port range (protocol "tcp") or all traffic ("-1"), to
    (egress) or from (ingress) one peer: a security group, a prefix list or a CIDR block."""

    protocol: str
    from_port: int
    to_port: int
    peer_kind: str  # "security-group" | "prefix-list" | "cidr"
    peer: str

    def admits(self, port: int) -> bool:
        if self.protocol in ("-1", "all"):
            return True
        return self.protocol in ("tcp", "6") and self.from_port <= port <= self.to_port


@dataclass(frozen=True)
class Endpoint:
    """A VPC endpoint of the connection's VPC, by what identifies its parts (ids, or any other
    consistent identity such as URNs: the check only compares them)."""

    service: str  # endpoint_short_name of its service name: s3, glue, monitoring ...
    type: str  # "Interface" | "Gateway"
    name: str = ""  # for messages
    private_dns: bool = False
    subnets: frozenset[str] = frozenset()  # Interface: where its network interfaces are
    security_groups: frozenset[str] = frozenset()  # Interface
    route_tables: frozenset[str] = frozenset()  # Gateway
    prefix_list: str = ""  # Gateway: what an egress rule names to reach it

    @property
    def label(self) -> str:
        return f"'{self.name}'" if self.name else f"the {self.service} {self.type.lower()} endpoint"


@dataclass(frozen=True)
class Network:
    """What decides reachability from a subnet: the VPC's endpoints, each subnet's route table, the
    route tables with a default route to a NAT gateway, and the security groups' rules."""

    endpoints: tuple[Endpoint, ...] = ()
    route_tables: Mapping[str, str] = field(default_factory=dict)  # subnet -> its route table
    nat_route_tables: frozenset[str] = frozenset()  # route tables with 0.0.0.0/0 to a NAT gateway
    egress: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)  # security group -> rules
    ingress: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    vpc_cidr: str = ""  # a CIDR rule reaches the VPC's endpoints when it covers this block


@dataclass(frozen=True)
class Unreachable:
    """A service the job calls and cannot reach."""

    service: str  # endpoint service (or "?<prefix>" for an action no entry of ENDPOINT_SERVICES places)
    needed_by: tuple[str, ...]  # the actions (or caller) that call it
    reason: str
    expected: str


def expectation(service: str) -> str:
    if service.startswith("?"):
        return (f"an entry for '{service[1:]}' in ENDPOINT_SERVICES (lakehouse/model/network.py), then the "
                "endpoint it names")
    if service in GATEWAY_SERVICES:
        return (f"the {service} gateway endpoint on the subnet's route table and egress 443 to its prefix list "
                "(or an interface endpoint, or a NAT route with egress 443 to 0.0.0.0/0)")
    return (f"an interface endpoint for {service} with private DNS, its security groups admitting 443 from the "
            "connection's and the connection's allowing 443 to them (or a NAT route with egress 443 to 0.0.0.0/0)")


def unreachable(actions: Iterable[str], network: Network, subnet: str,
                security_groups: Iterable[str]) -> list[Unreachable]:
    """Every service the actions need (needed_services) that a job in `subnet` with
    `security_groups` cannot reach through `network`, in service order."""
    groups = frozenset(security_groups)
    out = []
    for service, needed_by in needed_services(actions).items():
        if service.startswith("?"):
            out.append(Unreachable(service, needed_by, f"no endpoint service is known for '{service[1:]}' actions",
                                   expectation(service)))
            continue
        problems = []
        candidates = [e for e in network.endpoints if e.service == service]
        for endpoint in candidates:
            problem = _endpoint_problem(endpoint, network, subnet, groups)
            if problem is None:
                break
            problems.append(problem)
        else:
            if not candidates:
                problems.append(f"no {service} endpoint in the VPC")
            nat = _nat_problem(network, subnet, groups)
            if nat is not None:
                problems.append(nat)
                out.append(Unreachable(service, needed_by, "; ".join(problems), expectation(service)))
    return out


def _endpoint_problem(e: Endpoint, network: Network, subnet: str, groups: frozenset[str]) -> Optional[str]:
    if e.type == "Gateway":
        table = network.route_tables.get(subnet, "")
        if not table or table not in e.route_tables:
            return f"endpoint {e.label} is not on the subnet's route table"
        if not _allows(network.egress, groups, HTTPS, "prefix-list", {e.prefix_list}, network.vpc_cidr, internal=False):
            return f"the connection's security groups allow no egress on 443 to endpoint {e.label}'s prefix list"
        return None
    if not e.private_dns:
        return (f"endpoint {e.label} has private DNS off (the SDK's regional {e.service} host resolves to public "
                "addresses)")
    if not e.subnets:
        return f"endpoint {e.label} has no subnet"
    if not _allows(network.egress, groups, HTTPS, "security-group", e.security_groups, network.vpc_cidr):
        return f"the connection's security groups allow no egress on 443 to endpoint {e.label}'s security groups"
    if not _allows(network.ingress, e.security_groups, HTTPS, "security-group", groups, network.vpc_cidr):
        return f"endpoint {e.label}'s security groups admit no 443 from the connection's security groups"
    return None


def _nat_problem(network: Network, subnet: str, groups: frozenset[str]) -> Optional[str]:
    table = network.route_tables.get(subnet, "")
    if not table or table not in network.nat_route_tables:
        return "no NAT route from the subnet"
    if not _allows(network.egress, groups, HTTPS, "cidr", {ANYWHERE}, "", internal=False):
        return "a NAT route, but no egress on 443 to 0.0.0.0/0"
    return None


def _allows(rules_of: Mapping[str, Sequence[Rule]], groups: Iterable[str], port: int, kind: str,
            peers: Iterable[str], vpc_cidr: str, internal: bool = True) -> bool:
    """Does a rule of one of `groups` admit `port` to/from one of `peers` (of `kind`)? A CIDR rule
    counts for a peer inside the VPC (internal) when it covers the VPC's block, and for an
    outside peer when it is 0.0.0.0/0."""
    wanted = set(peers) - {""}
    for group in groups:
        for rule in rules_of.get(group, ()):
            if not rule.admits(port):
                continue
            if rule.peer_kind == kind and rule.peer in wanted:
                return True
            if rule.peer_kind == "cidr" and _covers(rule.peer, vpc_cidr if internal else ANYWHERE):
                return True
    return False


def _covers(rule_cidr: str, block: str) -> bool:
    if not block:
        return False
    try:
        return ipaddress.ip_network(block, strict=False).subnet_of(ipaddress.ip_network(rule_cidr, strict=False))
    except (ValueError, TypeError):
        return False
