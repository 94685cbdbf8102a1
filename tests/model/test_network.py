"""lakehouse.model.network: which services a job's role statements call, and which of them a job in
a subnet cannot reach, and why. The network here is the one GlueRdsConnection creates, by symbolic
ids; each test breaks one part of it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lakehouse.model.network import (
    ENDPOINT_SERVICES,
    IMPLIED_SERVICES,
    Endpoint,
    Network,
    Rule,
    Unreachable,
    endpoint_short_name,
    expectation,
    needed_services,
    unreachable,
)

RUNTIME = IMPLIED_SERVICES["sts"]
# what a climate job's role allows (its own policy and the connection's), one action per statement kind
ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "kms:Decrypt", "kms:GenerateDataKey", "glue:GetTable",
           "glue:GetConnection", "logs:PutLogEvents", "cloudwatch:PutMetricData", "secretsmanager:GetSecretValue",
           "ec2:CreateNetworkInterface", "ec2:DescribeSubnets"]
INTERFACE = ("glue", "kms", "logs", "monitoring", "secretsmanager", "sts")
GLUE_SG, ENDPOINTS_SG, SUBNET, OTHER_SUBNET, TABLE = "sg-glue", "sg-endpoints", "subnet-1", "subnet-2", "rtb-private"


def https(peer_kind: str, peer: str) -> Rule:
    return Rule("tcp", 443, 443, peer_kind, peer)


def created(**changes) -> Network:
    """The network GlueRdsConnection makes: S3 gateway endpoint, interface endpoints with private DNS
    in both subnets behind one security group, Glue's egress to it and to S3's prefix list."""
    endpoints = (Endpoint("s3", "Gateway", "postgres-s3", route_tables=frozenset({TABLE}), prefix_list="pl-s3"),
                 *(Endpoint(s, "Interface", f"postgres-{s}", private_dns=True,
                            subnets=frozenset({SUBNET, OTHER_SUBNET}), security_groups=frozenset({ENDPOINTS_SG}))
                   for s in INTERFACE))
    network = Network(
        endpoints=endpoints,
        route_tables={SUBNET: TABLE, OTHER_SUBNET: TABLE},
        egress={GLUE_SG: (Rule("tcp", 0, 65535, "security-group", GLUE_SG), https("prefix-list", "pl-s3"),
                          https("security-group", ENDPOINTS_SG), Rule("tcp", 5432, 5432, "security-group", "sg-rds"))},
        ingress={ENDPOINTS_SG: (https("security-group", GLUE_SG),)},
        vpc_cidr="10.42.0.0/16")
    return replace(network, **changes)


def without(network: Network, service: str) -> Network:
    return replace(network, endpoints=tuple(e for e in network.endpoints if e.service != service))


def check(network: Network, actions=ACTIONS) -> list[tuple[str, str]]:
    return [(u.service, u.reason) for u in unreachable(actions, network, SUBNET, [GLUE_SG])]


# --- the mapping ----------------------------------------------------------------------------------

def test_services_come_from_the_action_prefixes_through_the_mapping_not_one_to_one():
    assert needed_services(ACTIONS) == {
        "glue": ("glue:GetConnection", "glue:GetTable"),
        "kms": ("kms:Decrypt", "kms:GenerateDataKey"),
        "logs": ("logs:PutLogEvents",),
        "monitoring": ("cloudwatch:PutMetricData",),  # CloudWatch metrics are the `monitoring` endpoint
        "s3": ("s3:GetObject", "s3:ListBucket", "s3:PutObject"),
        "secretsmanager": ("secretsmanager:GetSecretValue",),
        "sts": (RUNTIME,),  # called by the runtime without a statement
    }  # ec2: the Glue service's calls, never from the subnet


def test_every_key_is_a_service_prefix_or_one_action_and_no_endpoint_is_named_cloudwatch():
    assert ENDPOINT_SERVICES["cloudwatch"] == "monitoring" and ENDPOINT_SERVICES["ec2"] is None
    assert "cloudwatch" not in {s for s in ENDPOINT_SERVICES.values()}
    assert all(k == k.lower() if ":" not in k else k.partition(":")[0] == k.partition(":")[0].lower()
               for k in ENDPOINT_SERVICES)


def test_a_whole_action_entry_takes_precedence_over_its_prefix():
    """iam:PassRole is a permission checked when a role is handed over, never a call; IAM's own API
    is global and has no VPC endpoint, so any other iam action is reported."""
    assert needed_services(["iam:PassRole", "IAM:passrole"]) == {"sts": (RUNTIME,)}
    assert needed_services(["iam:GetRole"]) == {"?iam": ("iam:GetRole",), "sts": (RUNTIME,)}


def test_an_action_whose_prefix_has_no_entry_is_reported_not_ignored():
    assert check(created(), ACTIONS + ["sqs:SendMessage"]) == [
        ("?sqs", "no endpoint service is known for 'sqs' actions")]
    assert expectation("?sqs").startswith("an entry for 'sqs' in ENDPOINT_SERVICES")


@pytest.mark.parametrize("name, short", [
    ("com.amazonaws.us-east-1.s3", "s3"), ("com.amazonaws.eu-west-1.monitoring", "monitoring"),
    ("cn.com.amazonaws.cn-north-1.kms", "kms"), ("com.amazonaws.us-gov-west-1.sts", "sts"),
    ("com.amazonaws.us-east-1.ecr.dkr", "ecr.dkr"), ("glue", "glue"),
])
def test_endpoint_short_name_drops_partition_and_region(name, short):
    assert endpoint_short_name(name) == short


# --- reachability ---------------------------------------------------------------------------------

def test_the_created_network_reaches_every_service():
    assert check(created()) == []


def test_a_missing_interface_endpoint_is_named_with_why_and_what_is_expected():
    [u] = unreachable(ACTIONS, without(created(), "kms"), SUBNET, [GLUE_SG])
    assert u == Unreachable("kms", ("kms:Decrypt", "kms:GenerateDataKey"),
                            "no kms endpoint in the VPC; no NAT route from the subnet", expectation("kms"))
    assert u.expected == ("an interface endpoint for kms with private DNS, its security groups admitting 443 from the "
                          "connection's and the connection's allowing 443 to them (or a NAT route with egress 443 "
                          "to 0.0.0.0/0)")


def test_sts_is_needed_even_though_no_statement_names_it():
    assert check(without(created(), "sts"), ["s3:GetObject"]) == [
        ("sts", "no sts endpoint in the VPC; no NAT route from the subnet")]


def test_metrics_need_the_monitoring_endpoint():
    assert check(without(created(), "monitoring")) == [
        ("monitoring", "no monitoring endpoint in the VPC; no NAT route from the subnet")]


def test_ec2_actions_need_no_endpoint():
    assert check(without(created(), "ec2"), ["ec2:CreateNetworkInterface", "ec2:DescribeRouteTables"]) == []


def test_an_endpoint_without_private_dns_is_not_reached_by_the_sdk_hosts():
    network = created()
    network = replace(network, endpoints=tuple(replace(e, private_dns=False) if e.service == "logs" else e
                                               for e in network.endpoints))
    assert check(network) == [("logs", "endpoint 'postgres-logs' has private DNS off (the SDK's regional logs host "
                                       "resolves to public addresses); no NAT route from the subnet")]


def test_without_egress_to_the_endpoints_every_interface_service_is_unreachable():
    network = created(egress={GLUE_SG: (https("prefix-list", "pl-s3"),)})
    assert check(network) == [
        (s, f"the connection's security groups allow no egress on 443 to endpoint 'postgres-{s}''s security groups; "
            "no NAT route from the subnet") for s in INTERFACE]


def test_endpoints_must_admit_https_from_the_connection():
    assert [s for s, _ in check(created(ingress={}))] == list(INTERFACE)
    assert check(created(ingress={}))[0][1].startswith(
        "endpoint 'postgres-glue''s security groups admit no 443 from the connection's security groups")


def test_s3_needs_its_gateway_on_the_subnets_route_table_and_egress_to_its_prefix_list():
    assert check(created(route_tables={SUBNET: "rtb-other"})) == [
        ("s3", "endpoint 'postgres-s3' is not on the subnet's route table; no NAT route from the subnet")]
    no_prefix_list = created(egress={GLUE_SG: (https("security-group", ENDPOINTS_SG),)})
    assert check(no_prefix_list) == [
        ("s3", "the connection's security groups allow no egress on 443 to endpoint 'postgres-s3''s prefix list; "
               "no NAT route from the subnet")]


def test_a_nat_route_with_https_egress_reaches_every_service_without_endpoints():
    nat = Network(route_tables={SUBNET: TABLE}, nat_route_tables=frozenset({TABLE}),
                  egress={GLUE_SG: (https("cidr", "0.0.0.0/0"),)})
    assert check(nat) == []
    closed = replace(nat, egress={GLUE_SG: (https("cidr", "10.0.0.0/8"),)})
    assert {r for _, r in check(closed)} == {"no s3 endpoint in the VPC; a NAT route, but no egress on 443 to 0.0.0.0/0"
                                             .replace("s3", s) for s in ("s3", *INTERFACE)}


def test_cidr_rules_covering_the_vpc_reach_its_interface_endpoints():
    """The rule GlueRdsConnection gives an existing VPC: 443 to the VPC's block."""
    network = created(egress={GLUE_SG: (https("cidr", "10.42.0.0/16"), https("prefix-list", "pl-s3"))},
                      ingress={ENDPOINTS_SG: (https("cidr", "10.42.0.0/16"),)})
    assert check(network) == []
    narrow = replace(network, egress={GLUE_SG: (https("cidr", "10.42.0.0/24"), https("prefix-list", "pl-s3"))})
    assert [s for s, _ in check(narrow)] == list(INTERFACE)


def test_all_traffic_rules_admit_https_and_other_ports_do_not():
    assert Rule("-1", 0, 0, "cidr", "0.0.0.0/0").admits(443)
    assert Rule("tcp", 0, 65535, "cidr", "x").admits(443) and not Rule("tcp", 5432, 5432, "cidr", "x").admits(443)
    assert not Rule("udp", 443, 443, "cidr", "x").admits(443)


def test_an_unknown_network_needs_everything_what_an_existing_network_must_provide():
    """With createNetwork: false the program sees nothing of the VPC: the check lists what it must provide."""
    assert [(u.service, u.reason) for u in unreachable(ACTIONS, Network(), SUBNET, [GLUE_SG])] == [
        (s, f"no {s} endpoint in the VPC; no NAT route from the subnet") for s in sorted(("s3", *INTERFACE))]
