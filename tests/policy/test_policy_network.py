"""aws-glue-connection-services-reachable on what the program registers under the SDK's mocks: both
stacks pass; each way of cutting a connection job off a service is reported with its exact message;
the pack's model of the network is the model's, byte for byte."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from lakehouse.model.config import PROJECT, load_stack_config, stack_file_values
from policy.lakehouse_policies import types as T
from policy.offline import POLICY_DIR, Resource, evaluate, load_pack_config, resources_from_program

ROOT = Path(__file__).resolve().parents[2]
POLICY = "aws-glue-connection-services-reachable"
INTERFACE = ("glue", "kms", "logs", "monitoring", "secretsmanager", "sts")
EXPECT_INTERFACE = ("an interface endpoint for {s} with private DNS, its security groups admitting 443 from the "
                    "connection's and the connection's allowing 443 to them (or a NAT route with egress 443 to "
                    "0.0.0.0/0)")
NEEDED = {"kms": "kms:Decrypt, kms:DescribeKey, kms:Encrypt, kms:GenerateDataKey",
          "secretsmanager": "secretsmanager:GetSecretValue"}


@pytest.fixture(scope="module")
def stacks() -> dict[str, list[Resource]]:
    from lakehouse.offline import evaluate_stack

    return {s: resources_from_program(evaluate_stack(s)) for s in ("dev", "prod")}


def found(resources: list[Resource], stack: str = "prod") -> list[tuple[str, str, str]]:
    """(level, resource, message) of the policy's violations, with the stack's pack config."""
    from policy.lakehouse_policies import policies_by_name

    config = {k: v for k, v in load_pack_config(POLICY_DIR / f"config.{stack}.json").items() if k in ("all", POLICY)}
    return sorted((v.level, v.resource_name, v.message)
                  for v in evaluate(resources, config, policies=[policies_by_name()[POLICY]]))


def jobs(stack: str) -> str:
    return ", ".join(sorted(load_stack_config(stack).resource_name(p.name, j.name)
                            for p in load_stack_config(stack).pipelines for j in p.jobs if j.connection))


def message(stack: str, service: str, reason: str, needed: str | None = None) -> str:
    return (f"connection 'lakehouse-{stack}-postgres' (subnet 'postgres-private-1'): {service} is unreachable for "
            f"jobs {jobs(stack)} (calling {needed or NEEDED[service]}): {reason}; "
            f"expected {EXPECT_INTERFACE.format(s=service)}")


def without(resources: list[Resource], *names: str, rtype: str | None = None) -> list[Resource]:
    """A copy without the named resources (of `rtype` only, when given: the glue endpoint and the Glue
    security group are both `postgres-glue`)."""
    out = [r for r in copy.deepcopy(resources) if r.name not in names or (rtype and r.type != rtype)]
    assert len(out) == len(resources) - len(names), names
    return out


def test_the_pack_carries_the_model_byte_for_byte():
    model = (ROOT / "lakehouse" / "model" / "network.py").read_bytes()
    assert (ROOT / "policy" / "lakehouse_policies" / "_network_model.py").read_bytes() == model, (
        "edit lakehouse/model/network.py, then copy it to policy/lakehouse_policies/_network_model.py")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_stacks_pass_and_the_policy_is_mandatory_in_both(stacks, stack):
    assert found(stacks[stack], stack) == []
    assert load_pack_config(POLICY_DIR / f"config.{stack}.json")[POLICY] == {"enforcementLevel": "mandatory"}
    assert {r.type for r in stacks[stack]} >= {T.GLUE_CONNECTION, T.EC2_VPC_ENDPOINT, T.EC2_ROUTE_TABLE_ASSOCIATION,
                                              T.VPC_SECURITY_GROUP_EGRESS_RULE, T.EC2_SUBNET}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_removed_endpoint_is_reported_with_the_jobs_the_actions_and_why(stacks, stack):
    assert found(without(stacks[stack], "postgres-kms"), stack) == [("mandatory", "postgres", message(
        stack, "kms", "no kms endpoint in the VPC; no NAT route from the subnet"))]


def test_the_exact_message(stacks):
    [(_, _, text)] = found(without(stacks["prod"], "postgres-kms"))
    assert text == (
        "connection 'lakehouse-prod-postgres' (subnet 'postgres-private-1'): kms is unreachable for jobs "
        "lakehouse-prod-climate-calculate-derived-metrics, lakehouse-prod-climate-process-climate-data, "
        "lakehouse-prod-climate-process-health-data, lakehouse-prod-climate-process-hospital-data, "
        "lakehouse-prod-climate-process-locations (calling kms:Decrypt, kms:DescribeKey, kms:Encrypt, "
        "kms:GenerateDataKey): no kms endpoint in the VPC; no NAT route from the subnet; expected an interface "
        "endpoint for kms with private DNS, its security groups admitting 443 from the connection's and the "
        "connection's allowing 443 to them (or a NAT route with egress 443 to 0.0.0.0/0)")


def test_metrics_and_sts_are_named_by_their_endpoint_service(stacks):
    texts = [m for _, _, m in found(without(stacks["prod"], "postgres-monitoring", "postgres-sts"))]
    assert [re.search(r"\): (\w+) is unreachable .* \(calling ([^)]*)\)", t).groups() for t in texts] == [
        ("monitoring", "cloudwatch:PutMetricData"),
        ("sts", "the Glue runtime (no statement: STS session calls need no IAM permission")]


def test_without_egress_to_the_endpoints_every_interface_service_is_reported(stacks):
    texts = [m for _, _, m in found(without(stacks["prod"], "postgres-glue-endpoints"))]
    assert [t.split(": ")[1].split(" is unreachable")[0] for t in texts] == list(INTERFACE)
    assert ("the connection's security groups allow no egress on 443 to endpoint 'postgres-kms''s security groups; "
            "no NAT route from the subnet") in texts[1]


def test_without_the_endpoints_ingress_from_glue_every_interface_service_is_reported(stacks):
    texts = [m for _, _, m in found(without(stacks["prod"], "postgres-endpoints-from-glue"))]
    assert len(texts) == len(INTERFACE)
    assert "endpoint 'postgres-glue''s security groups admit no 443 from the connection's security groups" in texts[0]


def test_s3_needs_its_gateway_and_egress_to_its_prefix_list(stacks):
    expected_s3 = ("the s3 gateway endpoint on the subnet's route table and egress 443 to its prefix list (or an "
                   "interface endpoint, or a NAT route with egress 443 to 0.0.0.0/0)")
    [(_, _, text)] = found(without(stacks["prod"], "postgres-glue-s3"))
    assert text.endswith("(calling s3:AbortMultipartUpload, s3:DeleteObject, s3:GetObject, s3:ListBucket, "
                         "s3:PutObject): the connection's security groups allow no egress on 443 to endpoint "
                         f"'postgres-s3''s prefix list; no NAT route from the subnet; expected {expected_s3}")
    [(_, _, text)] = found(without(stacks["prod"], "postgres-s3"))
    assert ": no s3 endpoint in the VPC; no NAT route from the subnet; expected" in text


def test_a_nat_route_with_https_egress_replaces_the_endpoints(stacks):
    resources = without(stacks["prod"], *(f"postgres-{s}" for s in ("s3", *INTERFACE)), rtype=T.EC2_VPC_ENDPOINT)
    table = next(r for r in resources if r.type == T.EC2_ROUTE_TABLE)
    glue_sg = next(r for r in resources if r.type == T.EC2_SECURITY_GROUP and r.name == "postgres-glue")
    nat = _add(resources, T.EC2_NAT_GATEWAY, "postgres-nat", {"subnetId": "public-subnet-id"})
    _add(resources, T.EC2_ROUTE, "postgres-default", {"routeTableId": table.state["id"],
                                                        "destinationCidrBlock": "0.0.0.0/0",
                                                        "natGatewayId": nat.state["id"]},
         deps={"routeTableId": table, "natGatewayId": nat})
    assert len(found(resources)) == 1 + len(INTERFACE)  # a route, but the Glue group allows no internet egress
    _add(resources, T.VPC_SECURITY_GROUP_EGRESS_RULE, "postgres-glue-internet", {
        "securityGroupId": glue_sg.state["id"], "ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
        "cidrIpv4": "0.0.0.0/0"}, deps={"securityGroupId": glue_sg})
    assert found(resources) == []


def test_an_action_the_mapping_does_not_know_is_reported(stacks):
    resources = copy.deepcopy(stacks["prod"])
    policy = next(r for r in resources if r.name == "climate-process_locations-policy")
    doc = json.loads(policy.inputs["policy"])
    doc["Statement"].append({"Sid": "Queue", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"})
    policy.inputs["policy"] = policy.state["policy"] = json.dumps(doc)
    [(_, _, text)] = found(resources)
    assert text.startswith("connection 'lakehouse-prod-postgres' (subnet 'postgres-private-1'): ?sqs is unreachable "
                           "for job lakehouse-prod-climate-process-locations (calling sqs:SendMessage): no endpoint "
                           "service is known for 'sqs' actions; expected an entry for 'sqs' in ENDPOINT_SERVICES")


def test_a_first_preview_is_judged_from_property_dependencies(stacks):
    """At a first preview AWS-assigned ids and ARNs are unknown (the job policies are not: they
    are built from names): the policy correlates by the engine's property dependencies."""
    resources = _as_first_preview(stacks["prod"])
    assert found(resources) == []
    assert found(without(resources, "postgres-secretsmanager")) == [("mandatory", "postgres", message(
        "prod", "secretsmanager", "no secretsmanager endpoint in the VPC; no NAT route from the subnet"))]


def test_a_connection_in_an_existing_network_is_not_judged():
    """createNetwork: false: the subnet is not the stack's, so nothing can be said about it here
    (README lists what that network must provide)."""
    from lakehouse.offline import LakehouseMocks, evaluate_stack

    values = stack_file_values("prod")
    values.update({f"{PROJECT}:createNetwork": False, f"{PROJECT}:vpcId": "vpc-0123456789abcdef0",
                   f"{PROJECT}:subnetIds": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]})
    mocks = LakehouseMocks(invokes={
        "aws:ec2/getSubnet:getSubnet": lambda a: {"id": a["id"], "vpcId": "vpc-0123456789abcdef0",
                                                  "availabilityZone": "us-east-1a"},
        "aws:ec2/getVpc:getVpc": lambda a: {"id": a["id"], "cidrBlock": "10.7.0.0/16"},
        "aws:ec2/getPrefixList:getPrefixList": lambda a: {"id": "pl-02cd2c6b", "name": a["name"]}})
    resources = resources_from_program(evaluate_stack("prod", values, mocks=mocks))
    assert not [r for r in resources if r.type in (T.EC2_VPC_ENDPOINT, T.EC2_SUBNET)]
    assert found(resources) == []


# --- helpers ---------------------------------------------------------------------------------------

def _add(resources: list[Resource], rtype: str, name: str, inputs: dict, deps: dict | None = None) -> Resource:
    pdeps = {k: [r.urn] for k, r in (deps or {}).items()}
    r = Resource(type=rtype, name=name, urn=f"urn:pulumi:prod::{PROJECT}::{rtype}::{name}", inputs=inputs,
                 state={**inputs, "id": f"{name}-id"}, dependencies=sorted({u for us in pdeps.values() for u in us}),
                 property_dependencies=pdeps)
    resources.append(r)
    return r


def _as_first_preview(resources: list[Resource]) -> list[Resource]:
    """Every value the mocks computed from an id AWS assigns made unknown, as at a first preview:
    ids, ARNs, the S3 prefix list, and any document naming them (none: the job policies name the
    connection's network by tag and its secret by the instance's ARN)."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    computed = re.compile(r"-id\b|pl-63a5400a|^arn:aws:iam::\d+:role/")

    def hide(value, key=""):
        if key in ("id", "arn", "prefixListId"):
            return UNKNOWN_STRING_VALUE
        if isinstance(value, dict):
            return {k: hide(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [hide(v) for v in value]
        if isinstance(value, str) and computed.search(value):
            return UNKNOWN_STRING_VALUE
        return value

    out = copy.deepcopy(resources)
    for r in out:
        r.inputs = hide(dict(r.inputs))
        r.state = hide(dict(r.state)) if r.state else None
    policies = [r for r in out if r.type == T.IAM_ROLE_POLICY]
    assert policies and all(r.inputs["policy"] != UNKNOWN_STRING_VALUE for r in policies)
    return out
