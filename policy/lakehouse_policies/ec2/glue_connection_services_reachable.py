"""Every Glue job on a connection (`connections`) reaches each AWS service its role's inline policies allow
(the job's policy, which carries the connection's statements; a connection with `SECRET_ID` also needs
Secrets Manager) from the connection's subnet and security groups: an endpoint of that service in the
VPC (interface: private DNS, in a subnet, its groups admitting 443 from the connection's, the
connection's allowing 443 to them; gateway: on the subnet's route table, egress 443 to its prefix list)
or a NAT route with egress 443 to `0.0.0.0/0`. Action prefixes map to endpoint services by
`ENDPOINT_SERVICES` (`cloudwatch` is `monitoring`; `ec2` is the Glue service's and `iam:PassRole` no
call, so they need none; STS is always needed); an unmapped prefix is reported. One violation per
connection and service, naming the jobs, the actions and why. A connection whose subnet is not in the
stack (`createNetwork: false`) is not judged.

A job with a Glue connection sends all its traffic through the connection's subnet and security
groups: without a VPC endpoint (or a NAT route) for a service its role calls, the job times out.
The stack policy finds each connection's jobs (Glue jobs naming it in `connections`), the Allow
actions of their roles' inline policies (the job's `<job>-policy`, which carries the
connection's statements), the connection's subnet and security groups, the VPC's endpoints,
route tables, NAT routes and security-group rules, and asks `_network_model.unreachable` (a
verbatim copy of lakehouse.model.network: the mapping of actions to endpoint services and the
check) which services a job cannot reach. One violation per connection and unreachable service.

What it cannot see it does not judge: a connection whose subnet is not a resource of the stack
(an existing network, `createNetwork: false`: README, "Database connection", lists what that
network must provide), managed policies attached to a job role, and policy documents not known
yet (the program builds none such; a connection's SECRET_ID implies secretsmanager:GetSecretValue
either way). Resources are correlated by the engine's property dependencies
first (ids are unknown at preview), then by ids, ARNs and names.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import (
    BadDocument,
    Settings,
    as_list,
    is_allow,
    is_list,
    is_map,
    number,
    policy_document,
    stack_policy,
    statements,
    truthy,
)
from .._network_model import ANYWHERE, Endpoint, Network, Rule, endpoint_short_name, unreachable

SECURITY_GROUP = {T.EC2_SECURITY_GROUP}
SUBNET = {T.EC2_SUBNET}
ROUTE_TABLE = {T.EC2_ROUTE_TABLE}
ENDPOINT = {T.EC2_VPC_ENDPOINT}

# what a Glue connection with SECRET_ID makes the job call, whether or not its document is known yet
SECRET_READ = "secretsmanager:GetSecretValue"


def _get(value: Any, *path: Any) -> Any:
    """value[path...], or None when missing or not known yet (preview)."""
    from pulumi_policy.proxy import UnknownValueError

    for key in path:
        try:
            if is_map(value):
                value = value.get(key)
            elif is_list(value) and isinstance(key, int) and key < len(value):
                value = value[key]
            else:
                return None
        except UnknownValueError:
            return None
    return value


def _strings(value: Any) -> list[str]:
    """The known, non-empty strings of a scalar or a list."""
    items = [_get(value, i) for i in range(len(value))] if is_list(value) else [value]
    return [v for v in items if isinstance(v, str) and v]


def _keys(value: Any) -> set[str]:
    return {str(k) for k in iter(value)} if is_map(value) else set()


class _Stack:
    """The stack's resources, and who references whom."""

    def __init__(self, resources: Iterable[Any]):
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}
        self.by_value: dict[str, set[str]] = defaultdict(set)  # a known id, ARN or name -> URNs
        for r in self.resources:
            for key in ("id", "arn", "name", "prefixListId"):
                for v in _strings(_get(r.props, key)):
                    self.by_value[v].add(r.urn)

    def of(self, *types: str) -> list[Any]:
        return [r for r in self.resources if r.resource_type in types]

    def refs(self, r: Any, prop: str, types: set[str], *path: Any) -> set[str]:
        """What r.<prop>[path] names among resources of `types`: their URNs (by property dependency,
        else by a known id, ARN or name), or the literal values naming nothing in the stack."""
        found = {d.urn for d in (r.property_dependencies or {}).get(prop) or [] if d.resource_type in types}
        value = _get(r.props, prop)
        if path:  # a nested block: an object, or a one-element list in some shapes
            value = _get(_get(value, 0) if is_list(value) else value, *path)
        for v in _strings(value):
            urns = {u for u in self.by_value.get(v, ()) if self.by_urn[u].resource_type in types}
            found |= urns if urns or found else {v}
        return found

    def set_(self, r: Any, prop: str) -> bool:
        """Is r.<prop> set, known or not (a value or a property dependency)?"""
        return bool(_strings(_get(r.props, prop)) or (r.property_dependencies or {}).get(prop))


def _ports(props: Mapping[str, Any]) -> tuple[int, int]:
    lo, hi = number(_get(props, "fromPort")), number(_get(props, "toPort"))
    return (int(lo) if lo is not None else -1), (int(hi) if hi is not None else -1)


def _rules(s: _Stack) -> tuple[dict[str, list[Rule]], dict[str, list[Rule]]]:
    """(egress, ingress): security group -> its rules, from every way pulumi-aws declares them."""
    rules: dict[str, dict[str, list[Rule]]] = {"egress": defaultdict(list), "ingress": defaultdict(list)}
    for r in s.of(T.VPC_SECURITY_GROUP_EGRESS_RULE, T.VPC_SECURITY_GROUP_INGRESS_RULE):
        direction = "egress" if r.resource_type == T.VPC_SECURITY_GROUP_EGRESS_RULE else "ingress"
        peers = ([("security-group", p) for p in s.refs(r, "referencedSecurityGroupId", SECURITY_GROUP)]
                 + [("prefix-list", p) for p in s.refs(r, "prefixListId", ENDPOINT)]
                 + [("cidr", c) for c in _strings(_get(r.props, "cidrIpv4"))])
        _add(rules[direction], s.refs(r, "securityGroupId", SECURITY_GROUP), str(_get(r.props, "ipProtocol") or ""),
             _ports(r.props), peers)
    for r in s.of(T.EC2_SECURITY_GROUP_RULE):
        direction = str(_get(r.props, "type") or "")
        groups = s.refs(r, "securityGroupId", SECURITY_GROUP)
        peers = ([("security-group", p) for p in s.refs(r, "sourceSecurityGroupId", SECURITY_GROUP)]
                 + [("security-group", g) for g in groups if truthy(_get(r.props, "self"))]
                 + [("prefix-list", p) for p in s.refs(r, "prefixListIds", ENDPOINT)]
                 + [("cidr", c) for c in _strings(_get(r.props, "cidrBlocks"))])
        if direction in rules:
            _add(rules[direction], groups, str(_get(r.props, "protocol") or ""), _ports(r.props), peers)
    for g in s.of(T.EC2_SECURITY_GROUP):
        for direction in rules:
            inline = _get(g.props, direction)
            for i in range(len(inline) if is_list(inline) else 0):
                rule = _get(inline, i)
                if not is_map(rule):
                    continue
                peers = ([("security-group", _resolve(s, v, SECURITY_GROUP))
                          for v in _strings(_get(rule, "securityGroups"))]
                         + [("security-group", g.urn)] * truthy(_get(rule, "self"))
                         + [("prefix-list", _resolve(s, v, ENDPOINT)) for v in _strings(_get(rule, "prefixListIds"))]
                         + [("cidr", c) for c in _strings(_get(rule, "cidrBlocks"))])
                _add(rules[direction], {g.urn}, str(_get(rule, "protocol") or ""), _ports(rule), peers)
    return rules["egress"], rules["ingress"]


def _resolve(s: _Stack, value: str, types: set[str]) -> str:
    urns = sorted(u for u in s.by_value.get(value, ()) if s.by_urn[u].resource_type in types)
    return urns[0] if urns else value


def _add(into: dict[str, list[Rule]], groups: Iterable[str], protocol: str, ports: tuple[int, int],
         peers: Iterable[tuple[str, str]]) -> None:
    protocol = "-1" if protocol in ("-1", "all") else protocol
    for group in groups:
        into[group] += [Rule(protocol, ports[0], ports[1], kind, peer) for kind, peer in peers]


def _network(s: _Stack, subnet: Any, egress, ingress) -> Network:
    """The network around `subnet` (a resource of the stack): its VPC's endpoints and CIDR block,
    route tables, NAT routes and security-group rules."""
    vpcs = s.refs(subnet, "vpcId", {T.EC2_VPC})
    endpoints = []
    for e in s.of(T.EC2_VPC_ENDPOINT):
        theirs = s.refs(e, "vpcId", {T.EC2_VPC})
        if vpcs and theirs and not vpcs & theirs:
            continue  # another VPC's
        endpoints.append(Endpoint(
            service=endpoint_short_name(str(_get(e.props, "serviceName") or "")),
            type=str(_get(e.props, "vpcEndpointType") or "Gateway"),  # AWS's default type
            name=e.name,
            private_dns=truthy(_get(e.props, "privateDnsEnabled")),
            subnets=frozenset(s.refs(e, "subnetIds", SUBNET)),
            security_groups=frozenset(s.refs(e, "securityGroupIds", SECURITY_GROUP)),
            route_tables=frozenset(s.refs(e, "routeTableIds", ROUTE_TABLE)),
            prefix_list=e.urn,  # egress rules name it by prefixListId, resolved to the endpoint
        ))
    tables = {}
    for a in s.of(T.EC2_ROUTE_TABLE_ASSOCIATION):
        for sub in s.refs(a, "subnetId", SUBNET):
            for table in s.refs(a, "routeTableId", ROUTE_TABLE):
                tables[sub] = table
    nat = set()
    for t in s.of(T.EC2_ROUTE_TABLE):
        routes = _get(t.props, "routes")
        for i in range(len(routes) if is_list(routes) else 0):
            if _get(routes, i, "cidrBlock") == ANYWHERE and _strings(_get(routes, i, "natGatewayId")):
                nat.add(t.urn)
    for r in s.of(T.EC2_ROUTE):
        if _get(r.props, "destinationCidrBlock") == ANYWHERE and s.set_(r, "natGatewayId"):
            nat |= s.refs(r, "routeTableId", ROUTE_TABLE)
    cidrs = [c for v in vpcs if v in s.by_urn for c in _strings(_get(s.by_urn[v].props, "cidrBlock"))]
    return Network(endpoints=tuple(endpoints), route_tables=tables, nat_route_tables=frozenset(nat),
                   egress={g: tuple(r) for g, r in egress.items()}, ingress={g: tuple(r) for g, r in ingress.items()},
                   vpc_cidr=cidrs[0] if cidrs else "")


def _role_actions(s: _Stack, job: Any) -> set[str]:
    """The Allow actions of the job role's inline policies whose documents are known."""
    roles = s.refs(job, "roleArn", {T.IAM_ROLE})
    documents = [_get(p.props, "policy") for p in s.of(T.IAM_ROLE_POLICY) if s.refs(p, "role", {T.IAM_ROLE}) & roles]
    for role in (s.by_urn[u] for u in roles if u in s.by_urn):
        inline = _get(role.props, "inlinePolicies")
        documents += [_get(inline, i, "policy") for i in range(len(inline) if is_list(inline) else 0)]
    actions = set()
    for value in documents:
        try:
            doc = policy_document(value)
        except BadDocument:
            continue  # aws-iam-policy-lint-parliament reports it
        for st in statements(doc):
            if is_allow(st):
                actions.update(str(a) for a in as_list(st.get("Action")))
    return actions


def _check_reachable(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = _Stack(args.resources)
    egress = ingress = None
    for conn in s.of(T.GLUE_CONNECTION):
        subnets = sorted(u for u in s.refs(conn, "physicalConnectionRequirements", SUBNET, "subnetId")
                         if u in s.by_urn)
        jobs = [j for j in s.of(T.GLUE_JOB) if conn.urn in s.refs(j, "connections", {T.GLUE_CONNECTION})]
        if not subnets or not jobs:
            continue  # not judged: the subnet is not the stack's (an existing network), or no job uses it
        if egress is None:
            egress, ingress = _rules(s)
        subnet = s.by_urn[subnets[0]]
        network = _network(s, subnet, egress, ingress)
        groups = s.refs(conn, "physicalConnectionRequirements", SECURITY_GROUP, "securityGroupIdLists")
        implied = {SECRET_READ} if "SECRET_ID" in _keys(_get(conn.props, "connectionProperties")) else set()
        found: dict[str, dict[str, Any]] = {}
        for job in jobs:
            for u in unreachable(_role_actions(s, job) | implied, network, subnet.urn, groups):
                entry = found.setdefault(u.service, {"jobs": set(), "needed": set(), "u": u})
                entry["jobs"].add(str(_get(job.props, "name") or job.name))
                entry["needed"].update(u.needed_by)
        name = _get(conn.props, "name") or conn.name
        for service, entry in sorted(found.items()):
            u, names = entry["u"], sorted(entry["jobs"])
            report(f"connection '{name}' (subnet '{subnet.name}'): {service} is unreachable for "
                   f"{'job' if len(names) == 1 else 'jobs'} {', '.join(names)} (calling "
                   f"{', '.join(sorted(entry['needed']))}): {u.reason}; expected {u.expected}", conn.urn)


POLICY = stack_policy(
    name="aws-glue-connection-services-reachable",
    description="Glue jobs on a VPC connection reach every AWS service their roles call (VPC endpoints or NAT, "
                "security-group rules).",
    severity=Severity.HIGH,
    remediation="Give the connection's VPC an interface endpoint with private DNS for each service named (its "
                "security group admitting 443 from the connection's, the connection's allowing 443 to it) and the "
                "S3 gateway endpoint on the subnet's route table: GlueRdsConnection creates them with createNetwork.",
    check=_check_reachable,
    frameworks=(),
    tags=["operations", "network", "glue"],
)
