"""Table-driven variants of the bypasses of issue 17, on the prod stack the program registers.

Each insecure variant changes one thing of the shipped prod stack (a statement added to a document,
a security-group rule, a tag) in a way the pack's earlier string matching let through, and asserts
that exactly the named policy reports it, with a fragment of the expected message. Each compliant
look-alike is a change that resembles an insecure one but grants nothing more than the stack needs:
the whole pack must stay silent on it.

The variants are grouped by what the policy reasons about:
- who a resource policy admits (a public Allow whose condition any caller satisfies);
- the addresses a security group admits (the union of its ingress CIDRs, across rule shapes);
- whether a wildcard ARN names a service's whole resource type without a condition that pins it;
- what a wildcard action expands to (parliament's access levels);
- what a job's role may write against what the job declares writing.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from policy_support import ACCOUNT, REGION, Stack, add_database_side, orchestration_side

from policy.lakehouse_policies import policies_by_name
from policy.lakehouse_policies import types as T
from policy.offline import POLICY_DIR, Resource, evaluate, load_pack_config, resources_from_program

PROD_CONFIG = load_pack_config(POLICY_DIR / "config.prod.json")

BUCKET_PUBLIC = "aws-s3-bucket-policy-disallow-public-principal"
KEY_PUBLIC = "aws-kms-key-disallow-wildcard-principal"
RESOURCE_PUBLIC = "aws-iam-resource-policy-disallow-public-principal"
INGRESS = "aws-ec2-security-group-disallow-public-ingress"
RESOURCES = "aws-iam-disallow-wildcard-resources"
ACTIONS = "aws-iam-disallow-wildcard-actions"
WRITES = "aws-iam-job-role-restrict-writes-to-declared"
ENDPOINT_POLICY = "aws-ec2-vpc-endpoint-restrict-policy"

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"


@pytest.fixture(scope="module")
def prod_resources() -> list[Resource]:
    from lakehouse.offline import evaluate_stack

    resources = resources_from_program(evaluate_stack("prod"))
    have = {r.type for r in resources}
    if not {T.RDS_INSTANCE, T.EC2_SECURITY_GROUP, T.GLUE_CONNECTION} <= have:
        extra = Stack("prod")
        add_database_side(extra)
        resources += [r for r in extra.resources if r.type not in have]
    if not {T.SFN_STATE_MACHINE, T.GLUE_CRAWLER} <= have:  # no shipped pipeline with a crawler on Step Functions
        resources += orchestration_side("prod")
    return resources


# --- helpers on the registered resources -------------------------------------------------------

def _get(rs: list[Resource], rtype: str, name: str) -> Resource:
    found = [r for r in rs if r.type == rtype and r.name == name]
    assert found, f"the prod stack registers no {rtype} named {name!r}"
    return found[0]


def _set(r: Resource, key: str, value: Any) -> None:
    r.inputs[key] = value
    if r.state:
        r.state[key] = value


def _add_statement(rs: list[Resource], rtype: str, name: str, *statements: dict, key: str = "policy") -> None:
    r = _get(rs, rtype, name)
    value = r.inputs[key]
    doc = copy.deepcopy(json.loads(value) if isinstance(value, str) else value)
    doc["Statement"].extend(statements)
    _set(r, key, json.dumps(doc))


def _new(rs: list[Resource], rtype: str, name: str, inputs: dict, deps: dict[str, str] | None = None) -> None:
    """A new resource of the stack, with the stack's tags when its type takes tags; deps: property ->
    (type, name) of a resource it references."""
    from policy.lakehouse_policies.taggable import is_taggable

    if is_taggable(rtype):
        inputs = {**inputs, "tags": dict(_get(rs, T.KMS_KEY, "lake-key").inputs["tags"])}
    pdeps = {prop: [_get(rs, *ref).urn] for prop, ref in (deps or {}).items()}
    rs.append(Resource(type=rtype, name=name, urn=f"urn:pulumi:prod::glue-lakehouse::{rtype}::{name}",
                       inputs=inputs, dependencies=sorted({u for us in pdeps.values() for u in us}),
                       property_dependencies=pdeps))


def bucket(zone: str) -> str:
    return f"lakehouse-prod-{zone}-{ACCOUNT}"


def s3(zone: str, key: str = "") -> str:
    return f"arn:aws:s3:::{bucket(zone)}" + (f"/{key}" if key else "")


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


GOLD_TABLE = "cms_facility_monthly"
GOLD_DB = "lakehouse_prod_gold"


# --- resource policies: who a public Allow admits ----------------------------------------------

def public_bucket_statement(condition: dict | None = None, principal: Any = "*", action: Any = "s3:GetObject",
                            resource: Any = None, not_principal: Any = None) -> Callable:
    st: dict[str, Any] = {"Sid": "Shared", "Effect": "Allow", "Action": action,
                          "Resource": resource or s3("gold", "*")}
    if not_principal is not None:
        st["NotPrincipal"] = not_principal
    else:
        st["Principal"] = principal
    if condition is not None:
        st["Condition"] = condition

    def mutate(rs):
        _add_statement(rs, T.S3_BUCKET_POLICY, "lake-gold-policy", st)
    return mutate


def public_key_statement(condition: dict | None = None, principal: Any = "*", not_principal: Any = None) -> Callable:
    st: dict[str, Any] = {"Sid": "Shared", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"}
    if not_principal is not None:
        st["NotPrincipal"] = not_principal
    else:
        st["Principal"] = principal
    if condition is not None:
        st["Condition"] = condition

    def mutate(rs):
        _add_statement(rs, T.KMS_KEY, "lake-key", st)
    return mutate


def public_topic_statement(condition: dict | None = None, principal: Any = "*", action: Any = "sns:Publish",
                           not_principal: Any = None) -> Callable:
    st: dict[str, Any] = {"Sid": "Shared", "Effect": "Allow", "Action": action,
                          "Resource": arn("sns", "lakehouse-prod-alerts")}
    if not_principal is not None:
        st["NotPrincipal"] = not_principal
    else:
        st["Principal"] = principal
    if condition is not None:
        st["Condition"] = condition

    def mutate(rs):
        _add_statement(rs, T.SNS_TOPIC_POLICY, "alerts-policy", st)
    return mutate


def public_secret_policy(condition: dict | None) -> Callable:
    secret = arn("secretsmanager", "secret:lakehouse-prod-extra-AbCdEf")
    st: dict[str, Any] = {"Sid": "Shared", "Effect": "Allow", "Principal": {"AWS": "*"},
                          "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    if condition is not None:
        st["Condition"] = condition

    def mutate(rs):
        _new(rs, T.SECRET_POLICY, "extra-secret-policy", {"secretArn": secret, "policy": json.dumps(
            {"Version": "2012-10-17", "Statement": [st]})})
    return mutate


# --- security groups: the union of a group's ingress --------------------------------------------

def ingress_rules(group: str, *cidrs: str, port: int = 5432) -> Callable:
    """vpc.SecurityGroupIngressRule resources on `group` (postgres-rds ...), one per CIDR."""
    def mutate(rs):
        for i, cidr in enumerate(cidrs):
            key = "cidrIpv6" if ":" in cidr else "cidrIpv4"
            _new(rs, INGRESS_RULE, f"{group}-open-{i}", {
                "securityGroupId": f"{group}-id", "ipProtocol": "tcp", "fromPort": port, "toPort": port,
                key: cidr}, deps={"securityGroupId": (SECURITY_GROUP, group)})
    return mutate


def inline_ingress(group: str, *cidrs: str, port: int = 5432) -> Callable:
    """One inline `ingress` block of the SecurityGroup `group` naming all of `cidrs`."""
    def mutate(rs):
        r = _get(rs, SECURITY_GROUP, group)
        v4 = [c for c in cidrs if ":" not in c]
        v6 = [c for c in cidrs if ":" in c]
        block = {"protocol": "tcp", "fromPort": port, "toPort": port, "cidrBlocks": v4}
        if v6:
            block["ipv6CidrBlocks"] = v6
        _set(r, "ingress", list(r.inputs.get("ingress") or []) + [block])
    return mutate


def sg_rules(group: str, *cidrs: str) -> Callable:
    """ec2.SecurityGroupRule ingress resources on `group`, one per CIDR (all traffic)."""
    def mutate(rs):
        for i, cidr in enumerate(cidrs):
            _new(rs, SG_RULE, f"{group}-rule-{i}", {
                "type": "ingress", "securityGroupId": f"{group}-id", "protocol": "-1", "fromPort": 0, "toPort": 0,
                "cidrBlocks": [cidr]}, deps={"securityGroupId": (SECURITY_GROUP, group)})
    return mutate


def both(*mutations: Callable) -> Callable:
    def mutate(rs):
        for m in mutations:
            m(rs)
    return mutate


# --- identity statements of a job's role ---------------------------------------------------------

def job_statement(job: str, action: Any, resource: Any, condition: dict | None = None, sid: str = "Extra") -> Callable:
    st: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}
    if condition is not None:
        st["Condition"] = condition

    def mutate(rs):
        _add_statement(rs, T.IAM_ROLE_POLICY, f"{job}-policy", st)
    return mutate


def role_inline_statement(job: str, action: Any, resource: Any) -> Callable:
    def mutate(rs):
        role = _get(rs, T.IAM_ROLE, f"{job}-role")
        _set(role, "inlinePolicies", [{"name": "extra", "policy": json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "Extra", "Effect": "Allow", "Action": action, "Resource": resource}]})}])
    return mutate


def drop_declaration(job: str) -> Callable:
    def mutate(rs):
        r = _get(rs, T.GLUE_JOB, job)
        _set(r, "tags", {k: v for k, v in r.inputs["tags"].items() if not k.startswith("lakehouse:writes")})
    return mutate


# --- the controls aws-s3-, glue-, eventbridge-, kms-, rds- and ec2- policies added alongside -------------

def set_input(rtype: str, name: str, key: str, value: Any) -> Callable:
    def mutate(rs):
        _set(_get(rs, rtype, name), key, value)
    return mutate


def edit_input(rtype: str, name: str, key: str, change: Callable[[Any], Any]) -> Callable:
    def mutate(rs):
        r = _get(rs, rtype, name)
        _set(r, key, change(copy.deepcopy(r.inputs[key])))
    return mutate


def remove(rtype: str, name: str) -> Callable:
    def mutate(rs):
        rs.remove(_get(rs, rtype, name))
    return mutate


def tls_deny_inverted(doc: str) -> str:
    d = json.loads(doc)
    for st in d["Statement"]:
        if st.get("Sid") == "DenyInsecureTransport":
            st["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}
    return json.dumps(d)


def public_acl(rs):
    _new(rs, "aws:s3/bucketAcl:BucketAcl", "lake-gold-acl", {"bucket": bucket("gold"), "acl": "public-read"},
         deps={"bucket": (T.S3_BUCKET, "lake-gold")})


def workflow_target_without_role(rs):
    _new(rs, "aws:cloudwatch/eventTarget:EventTarget", "climate-start-target", {
        "rule": "lakehouse-prod-fhir-silver-failed", "arn": arn("glue", "workflow/lakehouse-prod-climate"),
        "targetId": "start-workflow"}, deps={"arn": ("aws:glue/workflow:Workflow", "climate")})


FULL_ACCESS = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})


def endpoint_policy(condition: dict | None, principal: Any = "*", action: Any = "*") -> Callable:
    """The Glue interface endpoint's policy replaced by one Allow of `action` to `principal` under `condition`."""
    st: dict[str, Any] = {"Sid": "Shared", "Effect": "Allow", "Principal": principal, "Action": action,
                          "Resource": "*"}
    if condition is not None:
        st["Condition"] = condition
    return set_input(ENDPOINT, "postgres-glue", "policy", json.dumps({"Version": "2012-10-17", "Statement": [st]}))


ENDPOINT_EXPECTED = ("expected a policy that limits who and what the endpoint serves (e.g. a Condition on "
                     "aws:PrincipalAccount; for S3, the stack's buckets as Resource)")


def endpoint_message(why: str) -> str:
    """The whole message aws-ec2-vpc-endpoint-restrict-policy reports for the Glue endpoint's 'Shared' statement."""
    return (f"endpoint policy statement 'Shared' gives full access to com.amazonaws.{REGION}.glue: it allows every "
            f"action to Principal '*' with a condition that admits anyone ({why}); {ENDPOINT_EXPECTED}")
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
TRIGGER = "aws:glue/trigger:Trigger"
WORKFLOW = "aws:glue/workflow:Workflow"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"

SECRETS = arn("secretsmanager", "secret:*")
KEYS = arn("kms", "key/*")
ALIAS = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/lakehouse-prod-lake"}}
SOURCE_VPCE = {"StringEquals": {"aws:SourceVpce": "vpce-0abc1234"}}
SECURE = {"Bool": {"aws:SecureTransport": "true"}}


@dataclass(frozen=True)
class Variant:
    id: str
    policy: str
    fragment: str
    mutate: Callable[[list[Resource]], None]


# --- a pipeline's crawler and state machine (by type: the shipped stack's, or orchestration_side's) ----------

def _one(rs: list[Resource], rtype: str) -> Resource:
    found = [r for r in rs if r.type == rtype]
    assert found, f"the prod stack registers no {rtype}"
    return found[0]


def set_first(rtype: str, key: str, value: Any) -> Callable:
    def mutate(rs):
        _set(_one(rs, rtype), key, copy.deepcopy(value))
    return mutate


def edit_first(rtype: str, key: str, change: Callable[[Any], Any]) -> Callable:
    def mutate(rs):
        r = _one(rs, rtype)
        _set(r, key, change(copy.deepcopy(r.inputs[key])))
    return mutate


def drop_crawler_tag(tag: str) -> Callable:
    def mutate(rs):
        crawler = _one(rs, T.GLUE_CRAWLER)
        _set(crawler, "tags", {k: v for k, v in crawler.inputs["tags"].items() if k != tag})
    return mutate


def state_machine_role_statement(action: Any, resource: Any) -> Callable:
    """A statement added to the policy of the role the state machine runs as."""
    def mutate(rs):
        machine = _one(rs, T.SFN_STATE_MACHINE)
        (role,) = machine.property_dependencies["roleArn"]
        policy = next(r for r in rs if r.type == T.IAM_ROLE_POLICY and role in r.property_dependencies.get("role", []))
        doc = json.loads(policy.inputs["policy"])
        doc["Statement"].append({"Sid": "Extra", "Effect": "Allow", "Action": action, "Resource": resource})
        _set(policy, "policy", json.dumps(doc))
    return mutate


def logging(**change: Any) -> Callable[[Any], Any]:
    return lambda config: {**config, **change}


INSECURE = [
    # a pipeline's crawler and state machine
    Variant("crawler-without-security-configuration", "aws-glue-require-security-configuration",
            "Glue crawler has no securityConfiguration", set_first(T.GLUE_CRAWLER, "securityConfiguration", "")),
    Variant("crawler-without-owner-tag", "aws-resource-require-tags", "Owner", drop_crawler_tag("Owner")),
    Variant("crawler-deletes-partitions", "aws-glue-crawler-schema-change-never-deletes", "DELETE_FROM_DATABASE",
            set_first(T.GLUE_CRAWLER, "schemaChangePolicy", {"deleteBehavior": "DELETE_FROM_DATABASE"})),
    Variant("crawler-delete-behavior-left-to-default", "aws-glue-crawler-schema-change-never-deletes",
            "sets no schemaChangePolicy.deleteBehavior", set_first(T.GLUE_CRAWLER, "schemaChangePolicy",
                                                                  {"updateBehavior": "LOG"})),
    Variant("state-machine-logs-fatal-only", "aws-sfn-state-machine-enable-logging", "level is FATAL",
            edit_first(T.SFN_STATE_MACHINE, "loggingConfiguration", logging(level="FATAL"))),
    Variant("state-machine-logs-to-a-bucket", "aws-sfn-state-machine-enable-logging", "is not a log group's ARN",
            edit_first(T.SFN_STATE_MACHINE, "loggingConfiguration",
                       logging(logDestination=s3("logs")))),
    Variant("state-machine-without-logging", "aws-sfn-state-machine-enable-logging", "no loggingConfiguration",
            set_first(T.SFN_STATE_MACHINE, "loggingConfiguration", None)),
    Variant("state-machine-tracing-unset", "aws-sfn-state-machine-enable-tracing", "tracing is off",
            set_first(T.SFN_STATE_MACHINE, "tracingConfiguration", None)),
    Variant("state-machine-aws-managed-key", "aws-sfn-state-machine-enable-cmk", "alias/aws/states",
            set_first(T.SFN_STATE_MACHINE, "encryptionConfiguration",
                      {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "alias/aws/states"})),
    Variant("state-machine-starts-any-lakehouse-crawler", "aws-sfn-state-machine-role-scope-actions",
            "crawler/lakehouse-*",
            state_machine_role_statement("glue:StartCrawler", arn("glue", "crawler/lakehouse-*"))),
    Variant("state-machine-starts-jobs-by-pattern", "aws-sfn-state-machine-role-scope-actions",
            "job/lakehouse-prod-????", state_machine_role_statement(
                ["glue:StartJobRun", "glue:GetJobRun"], arn("glue", "job/lakehouse-prod-????"))),
    # 1. a public Allow whose condition any caller satisfies (bucket policy)
    Variant("bucket-public-secure-transport", BUCKET_PUBLIC, "aws:SecureTransport is a property of the request",
            public_bucket_statement(SECURE)),
    Variant("bucket-public-aws-star-secure-transport", BUCKET_PUBLIC, "admits anyone",
            public_bucket_statement(SECURE, principal={"AWS": "*"})),
    Variant("bucket-public-principal-account-like-star", BUCKET_PUBLIC, "StringLike aws:PrincipalAccount '*'",
            public_bucket_statement({"StringLike": {"aws:PrincipalAccount": "*"}})),
    Variant("bucket-public-principal-account-question-marks", BUCKET_PUBLIC, "matches any value",
            public_bucket_statement({"StringLike": {"aws:PrincipalAccount": "????????????"}})),
    Variant("bucket-public-source-account-like-star", BUCKET_PUBLIC, "StringLike aws:SourceAccount '*'",
            public_bucket_statement({"StringLike": {"aws:SourceAccount": "*"}})),
    Variant("bucket-public-source-vpce-if-exists", BUCKET_PUBLIC, "also holds when the request carries no",
            public_bucket_statement({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-0abc1234"}})),
    Variant("bucket-public-principal-account-null-false", BUCKET_PUBLIC, "tests only whether the key is present",
            public_bucket_statement({"Null": {"aws:PrincipalAccount": "false"}})),
    Variant("bucket-public-org-id-pattern", BUCKET_PUBLIC, "StringLike aws:PrincipalOrgID 'o-*'",
            public_bucket_statement({"StringLike": {"aws:PrincipalOrgID": "o-*"}})),
    Variant("bucket-public-principal-arn-any-account", BUCKET_PUBLIC, "matches any account",
            public_bucket_statement({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}})),
    Variant("bucket-public-not-equals-one-account", BUCKET_PUBLIC, "admits every other value",
            public_bucket_statement({"StringNotEquals": {"aws:PrincipalAccount": "999999999999"}})),
    Variant("bucket-public-encryption-header", BUCKET_PUBLIC, "s3:x-amz-server-side-encryption is a property of",
            public_bucket_statement({"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
                                    action="s3:PutObject")),
    Variant("bucket-public-after-a-date", BUCKET_PUBLIC, "aws:CurrentTime is a property of the request",
            public_bucket_statement({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})),
    Variant("bucket-public-source-ip-anywhere", BUCKET_PUBLIC, "admits the public internet",
            public_bucket_statement({"IpAddress": {"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}})),
    Variant("bucket-not-principal-allow", BUCKET_PUBLIC, "everyone but its NotPrincipal",
            public_bucket_statement(not_principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})),
    Variant("bucket-public-for-all-values-org", BUCKET_PUBLIC, "also holds when the request carries no",
            public_bucket_statement({"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})),
    # ... the KMS key policy (no '*' principal at all, and no NotPrincipal Allow)
    Variant("key-public-via-service-only", KEY_PUBLIC, "allows Principal '*'",
            public_key_statement({"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}})),
    Variant("key-public-caller-account-like-star", KEY_PUBLIC, "allows Principal '*'",
            public_key_statement({"StringLike": {"kms:CallerAccount": "*"}}, principal={"AWS": "*"})),
    Variant("key-not-principal-allow", KEY_PUBLIC, "everyone but its NotPrincipal",
            public_key_statement(not_principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})),
    # ... the SNS topic policy and any other resource policy
    Variant("topic-public-no-condition", RESOURCE_PUBLIC, "without a Condition",
            public_topic_statement()),
    Variant("topic-public-secure-transport", RESOURCE_PUBLIC, "aws:SecureTransport is a property of the request",
            public_topic_statement(SECURE)),
    Variant("topic-public-source-account-like-star", RESOURCE_PUBLIC, "StringLike aws:SourceAccount '*'",
            public_topic_statement({"StringLike": {"aws:SourceAccount": "*"}}, principal={"AWS": "*"},
                                   action="sns:Subscribe")),
    Variant("topic-not-principal-allow", RESOURCE_PUBLIC, "everyone but its NotPrincipal",
            public_topic_statement(not_principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})),
    Variant("secret-policy-public-if-exists", RESOURCE_PUBLIC, "also holds when the request carries no",
            public_secret_policy({"StringEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT}})),

    # 2. security-group ingress covering the public internet, across rules and rule shapes
    Variant("ingress-two-halves-of-ipv4", INGRESS, "together admit all of IPv4",
            ingress_rules("postgres-rds", "0.0.0.0/1", "128.0.0.0/1")),
    Variant("ingress-half-of-ipv4", INGRESS, "more than one /8",
            ingress_rules("postgres-rds", "0.0.0.0/1")),
    Variant("ingress-two-halves-of-ipv6", INGRESS, "together admit all of IPv6",
            ingress_rules("postgres-rds", "::/1", "8000::/1")),
    Variant("ingress-global-unicast-ipv6", INGRESS, "public IPv6 addresses",
            ingress_rules("postgres-rds", "2000::/3")),
    Variant("ingress-inline-halves", INGRESS, "together admit all of IPv4",
            inline_ingress("postgres-rds", "0.0.0.0/1", "128.0.0.0/1")),
    Variant("ingress-inline-and-rule-resource", INGRESS, "together admit all of IPv4",
            both(inline_ingress("postgres-endpoints", "0.0.0.0/1", port=443),
                 ingress_rules("postgres-endpoints", "128.0.0.0/1", port=443))),
    Variant("ingress-four-quarters-as-sg-rules", INGRESS, "together admit all of IPv4",
            sg_rules("postgres-glue", "0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2")),
    Variant("ingress-two-public-slash-eights", INGRESS, "33554432 public IPv4 addresses",
            ingress_rules("postgres-rds", "3.0.0.0/8", "4.0.0.0/8")),
    Variant("ingress-host-bits-slash-zero", INGRESS, "is open to 1.2.3.4/0",
            ingress_rules("postgres-rds", "1.2.3.4/0")),
    Variant("ingress-ipv6-spelled-long", INGRESS, "is open to 0::0/0",
            ingress_rules("postgres-rds", "0::0/0")),

    # 3. a wildcard ARN over a service's whole resource type, without a condition pinning it
    Variant("every-secret", RESOURCES, "on every Secret",
            job_statement("fhir-gold", "secretsmanager:GetSecretValue", SECRETS)),
    Variant("every-secret-tag-pattern", RESOURCES, "on every Secret",
            job_statement("fhir-gold", "secretsmanager:GetSecretValue", SECRETS,
                          {"StringLike": {"aws:ResourceTag/Project": "*"}})),
    Variant("every-secret-tag-if-exists", RESOURCES, "on every Secret",
            job_statement("fhir-gold", "secretsmanager:GetSecretValue", SECRETS,
                          {"StringEqualsIfExists": {"aws:ResourceTag/Project": "glue-lakehouse"}})),
    Variant("every-key-via-service-only", RESOURCES, "on every KMS key",
            job_statement("fhir-gold", "kms:Decrypt", KEYS,
                          {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}})),
    Variant("every-key-for-all-values-alias", RESOURCES, "on every KMS key",
            job_statement("fhir-gold", "kms:Decrypt", KEYS,
                          {"ForAllValues:StringEquals": {"kms:ResourceAliases": "alias/lakehouse-prod-lake"}})),
    Variant("every-glue-table", RESOURCES, "on every table",
            job_statement("fhir-gold", "glue:GetTable", [arn("glue", "catalog"), arn("glue", "database/*"),
                                                         arn("glue", "table/*/*")])),
    Variant("every-log-group", RESOURCES, "on every log-stream",
            job_statement("fhir-gold", "logs:PutLogEvents", arn("logs", "log-group:*"))),

    # 4. wildcard actions that expand to writes or permission changes on a data service
    Variant("s3-star-object", ACTIONS, "expands to",
            job_statement("fhir-gold", "s3:*Object", s3("gold", f"{GOLD_TABLE}/*"))),
    Variant("s3-put-star", ACTIONS, "s3:PutObjectAcl",
            job_statement("fhir-gold", "s3:Put*", s3("gold", f"{GOLD_TABLE}/*"))),
    Variant("s3-delete-star", ACTIONS, "s3:DeleteObject",
            job_statement("fhir-gold", "s3:Delete*", s3("gold", f"{GOLD_TABLE}/*"))),
    Variant("s3-question-mark", ACTIONS, "s3:PutObject",
            job_statement("fhir-gold", "s3:?utObject", s3("gold", f"{GOLD_TABLE}/*"))),
    Variant("glue-star-table", ACTIONS, "glue:DeleteTable",
            job_statement("fhir-gold", "glue:*Table", [arn("glue", "catalog"), arn("glue", f"database/{GOLD_DB}"),
                                                       arn("glue", f"table/{GOLD_DB}/{GOLD_TABLE}")])),
    Variant("kms-create-star", ACTIONS, "kms:CreateGrant",
            job_statement("fhir-gold", "kms:Create*", arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab"))),
    Variant("secretsmanager-put-star", ACTIONS, "secretsmanager:PutSecretValue",
            job_statement("fhir-gold", "secretsmanager:Put*", arn("secretsmanager", "secret:lakehouse-prod-x-AbCdEf"))),
    Variant("iam-put-star", ACTIONS, "iam:PutRolePolicy",
            job_statement("fhir-gold", "iam:Put*", f"arn:aws:iam::{ACCOUNT}:role/lakehouse-prod-fhir-gold")),

    # 5. a job's role writing where its pipeline declares no write
    Variant("gold-deletes-raw", WRITES, "s3:DeleteObject on arn:aws:s3:::" + bucket("raw") + "/fhir/*",
            job_statement("fhir-gold", "s3:DeleteObject", s3("raw", "fhir/*"))),
    Variant("gold-writes-the-silver-it-reads", WRITES, "lakehouse-prod-fhir-gold",
            job_statement("fhir-gold", ["s3:PutObject"], s3("silver", "patients/*"))),
    Variant("gold-writes-its-whole-bucket", WRITES, "s3:PutObject on arn:aws:s3:::" + bucket("gold") + "/*",
            job_statement("fhir-gold", "s3:PutObject", s3("gold", "*"))),
    Variant("gold-replaces-a-bucket-policy", WRITES, "s3:PutBucketPolicy",
            job_statement("fhir-gold", "s3:PutBucketPolicy", s3("gold"))),
    Variant("gold-updates-a-silver-table", WRITES, "glue:UpdateTable",
            job_statement("fhir-gold", "glue:UpdateTable", [arn("glue", "catalog"),
                                                            arn("glue", "database/lakehouse_prod_silver"),
                                                            arn("glue", "table/lakehouse_prod_silver/patients")])),
    Variant("gold-deletes-any-gold-table", WRITES, "table/" + GOLD_DB + "/*",
            job_statement("fhir-gold", "glue:DeleteTable", [arn("glue", "catalog"), arn("glue", f"database/{GOLD_DB}"),
                                                            arn("glue", f"table/{GOLD_DB}/*")])),
    Variant("silver-writes-bronze-in-an-inline-policy", WRITES, "lakehouse-prod-fhir-silver",
            role_inline_statement("fhir-silver", "s3:PutObject", s3("bronze", "fhir_patient/*"))),
    Variant("declaration-tag-dropped", WRITES, "declares no writes",
            drop_declaration("fhir-gold")),

    # the missing controls other policies of the pack close (one form each, the others' own tests have more)
    Variant("bucket-versioning-suspended", "aws-s3-bucket-enable-versioning", "Suspended",
            set_input(BUCKET_VERSIONING, "lake-raw-versioning", "versioningConfiguration", {"status": "Suspended"})),
    Variant("bucket-acls-enabled", "aws-s3-bucket-disable-acls", "ObjectWriter",
            set_input(OWNERSHIP, "lake-raw-ownership", "rule", {"objectOwnership": "ObjectWriter"})),
    Variant("bucket-public-acl", "aws-s3-bucket-acl-disallow-public", "public-read", public_acl),
    Variant("bucket-without-access-logging", "aws-s3-bucket-enable-access-logging", "lake-bronze",
            remove("aws:s3/bucketLogging:BucketLogging", "lake-bronze-logging")),
    Variant("bucket-tls-deny-inverted", "aws-s3-bucket-policy-require-tls", "aws:SecureTransport",
            edit_input(T.S3_BUCKET_POLICY, "lake-gold-policy", "policy", tls_deny_inverted)),
    Variant("trigger-five-field-cron", "aws-glue-trigger-configure-valid-schedule", "cron(0 2 * * *)",
            set_input(TRIGGER, "climate-start", "schedule", "cron(0 2 * * *)")),
    Variant("trigger-starts-another-stacks-job", "aws-glue-trigger-start-stack-jobs", "lakehouse-dev-climate",
            set_input(TRIGGER, "climate-start", "actions", [{"jobName": "lakehouse-dev-climate-process-locations"}])),
    Variant("workflow-unbounded-runs", "aws-glue-workflow-limit-concurrent-runs", "maxConcurrentRuns",
            set_input(WORKFLOW, "climate", "maxConcurrentRuns", 5)),
    Variant("rule-matches-any-source", "aws-eventbridge-rule-restrict-event-pattern", "source",
            set_input(EVENT_RULE, "fhir-silver-failed", "eventPattern", json.dumps(
                {"source": [{"prefix": ""}], "detail-type": ["Glue Job State Change"]}))),
    Variant("workflow-target-without-role", "aws-eventbridge-target-require-role", "roleArn",
            workflow_target_without_role),
    Variant("key-deletion-window-short", "aws-kms-key-configure-deletion-window", "deletionWindowInDays",
            set_input(T.KMS_KEY, "lake-key", "deletionWindowInDays", 7)),
    Variant("db-secret-aws-managed-key", "aws-rds-instance-enable-managed-master-password", "alias/aws/secretsmanager",
            set_input(T.RDS_INSTANCE, "postgres-postgres", "masterUserSecretKmsKeyId", "alias/aws/secretsmanager")),
    Variant("flow-log-rejects-only", "aws-ec2-vpc-enable-flow-logs", "REJECT",
            set_input(FLOW_LOG, "postgres-flow-logs", "trafficType", "REJECT")),
    Variant("endpoint-full-access", "aws-ec2-vpc-endpoint-restrict-policy", "allows every action to Principal '*'",
            set_input(ENDPOINT, "postgres-glue", "policy", FULL_ACCESS)),
    # ... a full-access endpoint policy whose condition any caller satisfies (the whole message)
    Variant("endpoint-full-access-secure-transport", ENDPOINT_POLICY, endpoint_message(
        "aws:SecureTransport is a property of the request, not of who makes it"), endpoint_policy(SECURE)),
    Variant("endpoint-full-access-principal-account-like-star", ENDPOINT_POLICY, endpoint_message(
        "StringLike aws:PrincipalAccount '*' matches any value"),
        endpoint_policy({"StringLike": {"aws:PrincipalAccount": "*"}})),
    Variant("endpoint-service-actions-own-account-if-exists", ENDPOINT_POLICY, endpoint_message(
        "StringEqualsIfExists aws:PrincipalAccount also holds when the request carries no aws:PrincipalAccount"),
        endpoint_policy({"StringEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT}}, principal={"AWS": "*"},
                        action="glue:*")),
    Variant("endpoint-full-access-to-every-other-account", ENDPOINT_POLICY, endpoint_message(
        "StringNotEquals aws:PrincipalAccount admits every other value"),
        endpoint_policy({"StringNotEquals": {"aws:PrincipalAccount": "999999999999"}})),
    Variant("default-group-admits-its-members", "aws-ec2-vpc-default-security-group-restrict-all", "ingress",
            set_input(DEFAULT_SG, "postgres-default-sg", "ingress",
                      [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}])),
]

COMPLIANT = [
    ("crawler-deprecates-instead-of-logging", set_first(T.GLUE_CRAWLER, "schemaChangePolicy",
                                                        {"updateBehavior": "LOG",
                                                         "deleteBehavior": "DEPRECATE_IN_DATABASE"})),
    ("state-machine-logs-errors-only", edit_first(T.SFN_STATE_MACHINE, "loggingConfiguration", logging(level="ERROR"))),
    ("state-machine-reads-one-more-named-job", state_machine_role_statement(
        "glue:GetJobRun", arn("glue", "job/lakehouse-prod-fhir-gold"))),
    ("every-key-by-alias", job_statement("fhir-gold", "kms:Decrypt", KEYS, ALIAS)),
    ("every-secret-by-literal-tag", job_statement(
        "fhir-gold", "secretsmanager:GetSecretValue", SECRETS,
        {"StringEquals": {"aws:ResourceTag/aws:rds:primaryDBInstanceArn": arn("rds", "db:lakehouse-prod-postgres")}})),
    ("every-secret-by-service-tag", job_statement(
        "fhir-gold", "secretsmanager:GetSecretValue", SECRETS,
        {"StringEquals": {"secretsmanager:ResourceTag/lakehouse:glue-connection": "lakehouse-prod-postgres"}})),
    ("bucket-public-from-one-endpoint", public_bucket_statement(SOURCE_VPCE)),
    ("bucket-public-from-one-org-over-tls", public_bucket_statement(
        {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}, "Bool": {"aws:SecureTransport": "true"}})),
    ("bucket-public-from-own-account-roles", public_bucket_statement(
        {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/lakehouse-*"}})),
    ("bucket-public-from-one-network", public_bucket_statement(
        {"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}})),
    ("topic-public-from-own-account", public_topic_statement({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}})),
    ("ingress-private-slash-eight", ingress_rules("postgres-rds", "10.0.0.0/8")),
    ("ingress-private-ranges", ingress_rules("postgres-rds", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8")),
    ("ingress-one-public-network", ingress_rules("postgres-rds", "52.94.76.0/22")),
    ("ingress-one-public-slash-eight", ingress_rules("postgres-rds", "3.0.0.0/8")),
    ("s3-get-object-star-reads-only", job_statement("fhir-gold", "s3:GetObject*", s3("silver", "patients/*"))),
    ("s3-get-star-reads-only", job_statement("fhir-gold", "s3:Get*", s3("silver", "patients/*"))),
    ("exact-writes-on-declared-prefix", job_statement(
        "fhir-gold", ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], s3("gold", f"{GOLD_TABLE}/*"))),
    ("exact-table-writes-on-declared-table", job_statement(
        "fhir-gold", ["glue:UpdateTable", "glue:CreateTable"],
        [arn("glue", "catalog"), arn("glue", f"database/{GOLD_DB}"), arn("glue", f"table/{GOLD_DB}/{GOLD_TABLE}")])),
    ("gold-reads-raw", job_statement("fhir-gold", "s3:GetObject", s3("raw", "fhir/*"))),
    ("gold-writes-its-temp-prefix", job_statement(
        "fhir-gold", "s3:PutObject", s3("temp", "lakehouse-prod-fhir-gold/extra/*"))),
    ("endpoint-full-access-for-own-account", endpoint_policy(
        {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}, principal={"AWS": "*"}, action="glue:*")),
    ("endpoint-full-access-for-own-org-over-tls", endpoint_policy(
        {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}, "Bool": {"aws:SecureTransport": "true"}})),
    ("endpoint-full-access-for-own-account-roles", endpoint_policy(
        {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/lakehouse-*"}})),
]


def _policies_of(found) -> Counter:
    return Counter(v.policy for v in found)


def test_the_table_is_large_enough_and_names_existing_policies():
    assert len(INSECURE) >= 40 and len(COMPLIANT) >= 10
    assert len({v.id for v in INSECURE} | {c for c, _ in COMPLIANT}) == len(INSECURE) + len(COMPLIANT)
    assert {v.policy for v in INSECURE} <= set(policies_by_name())


def test_the_prod_stack_is_clean_before_any_variant(prod_resources):
    assert [(v.policy, v.resource_name, v.message) for v in evaluate(prod_resources, PROD_CONFIG)] == []


@pytest.mark.parametrize("variant", INSECURE, ids=[v.id for v in INSECURE])
def test_an_insecure_variant_is_reported_by_exactly_its_policy(prod_resources, variant):
    resources = copy.deepcopy(prod_resources)
    variant.mutate(resources)
    found = evaluate(resources, PROD_CONFIG)
    detail = [(v.policy, v.resource_name, v.message) for v in found]
    assert set(_policies_of(found)) == {variant.policy}, detail
    assert any(variant.fragment in v.message for v in found), detail
    assert all(v.level == "mandatory" for v in found)


@pytest.mark.parametrize("mutate", [m for _, m in COMPLIANT], ids=[c for c, _ in COMPLIANT])
def test_a_compliant_look_alike_stays_clean(prod_resources, mutate):
    resources = copy.deepcopy(prod_resources)
    mutate(resources)
    assert [(v.policy, v.resource_name, v.message) for v in evaluate(resources, PROD_CONFIG)] == []


def test_the_pack_reads_the_declaration_the_model_writes():
    """lakehouse.model.pipelines writes a job's declared writes into its tags (several when long); the
    pack, which imports nothing of lakehouse, reads them back whole."""
    from types import SimpleNamespace

    from lakehouse.model.pipelines import DECLARED_WRITES_TAG, Access, JobSpec, declared_write_tags
    from policy.lakehouse_policies.iam import job_role_restrict_writes_to_declared as pack

    assert pack.DECLARED_WRITES_TAG == DECLARED_WRITES_TAG
    tables = tuple(f"table_{i:02d}_" + "x" * 60 for i in range(12))
    job = JobSpec("p", "j", "x.py", writes=(Access("gold", tables=tables, prefixes=("exports/daily/",)),
                                            Access("postgres", tables=("rows",))))
    tags = declared_write_tags(job)
    assert len(tags) > 1 and all(len(v) <= 256 for v in tags.values())
    read = pack._declaration(SimpleNamespace(props={"tags": tags}))
    assert sorted(read) == sorted(job.declared_writes())
    nothing = declared_write_tags(JobSpec("p", "j", "x.py"))
    assert nothing == {DECLARED_WRITES_TAG: ""}
    assert pack._declaration(SimpleNamespace(props={"tags": nothing})) == []
    assert pack._declaration(SimpleNamespace(props={"tags": {"Owner": "x"}})) is None
