"""The created VPC's guardrails (issue 17): flow logs of all its traffic, endpoint policies narrower than full
access, the default security group without rules. Both shipped stacks pass (they create the VPC); each broken
setting is reported with its exact message."""

from __future__ import annotations

import json

import pytest
from policy_support import ACCOUNT, REGION, doc, drop_input, judged, level_of, named, set_input, shipped, urn

from policy.lakehouse_policies import types as T
from policy.offline import Resource

FLOW_LOGS = "aws-ec2-vpc-enable-flow-logs"
ENDPOINTS = "aws-ec2-vpc-endpoint-restrict-policy"
DEFAULT_SG = "aws-ec2-vpc-default-security-group-restrict-all"
POLICIES = (FLOW_LOGS, ENDPOINTS, DEFAULT_SG)

EXPECT_FLOW = "expected a FlowLog with trafficType ALL into a CloudWatch log group of the stack, through an iamRoleArn"
EXPECT_ENDPOINT = ("expected a policy that limits who and what the endpoint serves (e.g. a Condition on "
                   "aws:PrincipalAccount; for S3, the stack's buckets as Resource)")
EXPECT_DEFAULT = "expected an aws.ec2.DefaultSecurityGroup with no ingress and no egress rules"
GROUP = "/aws/vpc-flow-logs/lakehouse-prod"


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("policy", POLICIES)
def test_both_shipped_stacks_pass_and_the_policy_is_mandatory(stack, policy):
    rs = shipped(stack)
    assert {T.EC2_VPC, T.EC2_FLOW_LOG, T.EC2_DEFAULT_SECURITY_GROUP, T.EC2_VPC_ENDPOINT} <= {r.type for r in rs}
    assert judged(rs, policy, stack) == []
    assert level_of(policy, stack) == "mandatory"


# --- flow logs ----------------------------------------------------------------------------------

def flow(rs) -> Resource:
    return named(rs, "postgres-flow-logs", T.EC2_FLOW_LOG)


def test_a_vpc_without_flow_log_is_reported():
    rs = shipped("prod")
    rs.remove(flow(rs))
    assert judged(rs, FLOW_LOGS) == [
        ("mandatory", "postgres-vpc", f"VPC 'postgres-vpc' has no flow log; {EXPECT_FLOW}")]


def _unlink(r: Resource, prop: str) -> None:
    """As a literal value written in the program would be: no property dependency."""
    r.property_dependencies.pop(prop, None)


@pytest.mark.parametrize("change, problem", [
    (lambda f: set_input(f, "trafficType", "REJECT"), "flow log 'postgres-flow-logs' records REJECT traffic only"),
    (lambda f: set_input(f, "logDestinationType", "s3"),
     "flow log 'postgres-flow-logs' delivers to s3, not a CloudWatch log group"),
    (lambda f: (set_input(f, "logDestination", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:elsewhere"),
                _unlink(f, "logDestination")),
     f"flow log 'postgres-flow-logs' delivers to 'arn:aws:logs:{REGION}:{ACCOUNT}:log-group:elsewhere', not a log "
     "group of this stack"),
    (lambda f: (drop_input(f, "logDestination"), _unlink(f, "logDestination")),
     "flow log 'postgres-flow-logs' names no logDestination"),
    (lambda f: (drop_input(f, "iamRoleArn"), _unlink(f, "iamRoleArn")),
     "flow log 'postgres-flow-logs' has no iamRoleArn to deliver to CloudWatch Logs with"),
])
def test_a_flow_log_short_of_the_requirements_is_reported(change, problem):
    rs = shipped("prod")
    change(flow(rs))
    assert judged(rs, FLOW_LOGS) == [("mandatory", "postgres-flow-logs", f"VPC 'postgres-vpc': {problem}; "
                                                                         f"{EXPECT_FLOW}")]


def test_flow_logs_are_matched_by_ids_and_names_without_dependencies_and_another_vpc_does_not_count():
    rs = shipped("prod")
    f = flow(rs)
    set_input(f, "logDestination", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:*")  # the group, by name
    _unlink(f, "logDestination")
    _unlink(f, "vpcId")  # vpcId is the VPC's id (the mocks': postgres-vpc-id)
    assert judged(rs, FLOW_LOGS) == []
    set_input(f, "vpcId", "vpc-0somebodyelse")
    assert judged(rs, FLOW_LOGS) == [
        ("mandatory", "postgres-vpc", f"VPC 'postgres-vpc' has no flow log; {EXPECT_FLOW}")]


# --- endpoint policies --------------------------------------------------------------------------

def endpoint(rs, service: str) -> Resource:
    return named(rs, f"postgres-{service}", T.EC2_VPC_ENDPOINT)


def test_an_endpoint_without_policy_is_reported():
    rs = shipped("prod")
    drop_input(endpoint(rs, "s3"), "policy")
    assert judged(rs, ENDPOINTS) == [("mandatory", "postgres-s3", "the gateway endpoint for "
                                                                  f"com.amazonaws.{REGION}.s3 has no policy (AWS's "
                                                                  f"default: full access); {EXPECT_ENDPOINT}")]


@pytest.mark.parametrize("statement", [
    {"Sid": "FullAccess", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
    {"Sid": "FullAccess", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "glue:*", "Resource": "*"},
    {"Sid": "FullAccess", "Effect": "Allow", "Principal": "*", "NotAction": "glue:DeleteDatabase", "Resource": "*"},
])
def test_a_full_access_statement_without_condition_is_reported(statement):
    rs = shipped("prod")
    policy = json.loads(endpoint(rs, "glue").inputs["policy"])
    set_input(endpoint(rs, "glue"), "policy", doc(*policy["Statement"], statement))
    assert judged(rs, ENDPOINTS) == [(
        "mandatory", "postgres-glue", f"endpoint policy statement 'FullAccess' gives full access to com.amazonaws."
                                      f"{REGION}.glue: it allows every action to Principal '*' without a Condition; "
                                      f"{EXPECT_ENDPOINT}")]


ADMITS_ANYONE = "with a condition that admits anyone"


@pytest.mark.parametrize("condition, principal, why", [
    ({"Bool": {"aws:SecureTransport": "true"}}, "Principal '*'",
     f"{ADMITS_ANYONE} (aws:SecureTransport is a property of the request, not of who makes it)"),
    ({"StringLike": {"aws:PrincipalAccount": "*"}}, "Principal '*'",
     f"{ADMITS_ANYONE} (StringLike aws:PrincipalAccount '*' matches any value)"),
    ({"StringEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT}}, "Principal '*'",
     f"{ADMITS_ANYONE} (StringEqualsIfExists aws:PrincipalAccount also holds when the request carries no "
     "aws:PrincipalAccount)"),
    ({"StringNotEquals": {"aws:PrincipalAccount": "999999999999"}, "Bool": {"aws:SecureTransport": "true"}},
     "Principal '*'", f"{ADMITS_ANYONE} (StringNotEquals aws:PrincipalAccount admits every other value; "
                      "aws:SecureTransport is a property of the request, not of who makes it)"),
    (None, "everyone but its NotPrincipal", "without a Condition"),
], ids=["secure-transport", "principal-account-like-star", "if-exists", "not-equals-and-tls", "not-principal"])
def test_a_full_access_statement_whose_condition_admits_anyone_is_reported(condition, principal, why):
    """Any Condition used to count as a restriction: only one restricting who calls does (_access.public_grant)."""
    rs = shipped("prod")
    st = {"Sid": "FullAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}
    st.update({"NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}} if principal.startswith("everyone")
              else {"Principal": "*"})
    if condition:
        st["Condition"] = condition
    set_input(endpoint(rs, "glue"), "policy", doc(st))
    assert judged(rs, ENDPOINTS) == [(
        "mandatory", "postgres-glue", f"endpoint policy statement 'FullAccess' gives full access to com.amazonaws."
                                      f"{REGION}.glue: it allows every action to {principal} {why}; {EXPECT_ENDPOINT}")]


def test_narrower_or_conditioned_policies_pass_and_gateway_load_balancer_endpoints_are_not_judged():
    rs = shipped("prod")
    set_input(endpoint(rs, "kms"), "policy", doc({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
                                                  "Resource": "*"}))
    set_input(endpoint(rs, "sts"), "policy", doc({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                                                  "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}))
    # every action, for this account's principals only (the shipped interface endpoints' policy), over TLS too
    set_input(endpoint(rs, "glue"), "policy", doc({
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "glue:*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}, "Bool": {"aws:SecureTransport": "true"}}}))
    rs.append(Resource(type=T.EC2_VPC_ENDPOINT, name="inspection", urn=urn("prod", T.EC2_VPC_ENDPOINT, "inspection"),
                       inputs={"vpcEndpointType": "GatewayLoadBalancer", "serviceName": "com.amazonaws.vpce.x"}))
    assert judged(rs, ENDPOINTS) == []


# --- the default security group -----------------------------------------------------------------

def test_a_vpc_without_its_default_group_adopted_is_reported():
    rs = shipped("prod")
    rs.remove(named(rs, "postgres-default-sg"))
    assert judged(rs, DEFAULT_SG) == [(
        "mandatory", "postgres-vpc", "VPC 'postgres-vpc' leaves its default security group as AWS creates it (all "
                                     f"traffic among its members, all egress); {EXPECT_DEFAULT}")]


def test_rules_on_the_default_group_are_reported_inline_and_as_rule_resources():
    rs = shipped("prod")
    group = named(rs, "postgres-default-sg")
    set_input(group, "ingress", [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}])
    set_input(group, "egress", [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["10.42.0.0/16"]},
                                {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.42.0.0/16"]}])
    rtype = T.VPC_SECURITY_GROUP_INGRESS_RULE
    rs.append(Resource(type=rtype, name="default-https", urn=urn("prod", rtype, "default-https"),
                       inputs={"securityGroupId": "postgres-default-sg-id", "ipProtocol": "tcp", "fromPort": 443,
                               "toPort": 443, "cidrIpv4": "10.42.0.0/16"}))
    assert judged(rs, DEFAULT_SG) == [
        ("mandatory", "default-https", "SecurityGroupIngressRule 'default-https' adds a rule to default security "
                                       f"group 'postgres-default-sg'; {EXPECT_DEFAULT}"),
        ("mandatory", "postgres-default-sg", f"default security group 'postgres-default-sg' has 1 ingress rule; "
                                             f"{EXPECT_DEFAULT}"),
        ("mandatory", "postgres-default-sg", f"default security group 'postgres-default-sg' has 2 egress rules; "
                                             f"{EXPECT_DEFAULT}"),
    ]
