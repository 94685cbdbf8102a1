"""GlueRdsConnection under mocks: networking, security groups, endpoints, RDS and the Glue
JDBC connection, for a network and database made by the stack or taken from configuration;
and the exact IAM statements a job needs to use the connection."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import yaml
from policy_support import policy_violations

import lakehouse.model.pipelines as pipelines
from components.glue_rds_connection import (
    GlueRdsConnection,
    GlueRdsConnectionArgs,
    connection_job_actions,
    connection_properties,
    interface_endpoint_services,
    jdbc_url,
    private_subnet_cidrs,
    s3_endpoint_actions,
    vpc_flow_log_group,
)
from lakehouse.model.config import PROJECT, DatabaseSettings, NetworkSettings, load_stack_config, stack_file_values
from lakehouse.model.errors import ConfigError
from lakehouse.model.iam import CONNECTION_TAG_KEY, STAR_ONLY_EC2_ACTIONS, connection_job_statements
from lakehouse.model.names import AwsContext
from lakehouse.model.network import Endpoint, Network, Rule, endpoint_short_name, needed_services, unreachable
from lakehouse.model.packaging import ca_bundle_bytes, ca_bundle_key
from lakehouse.offline import ACCOUNT, evaluate_stack, run_program
from lakehouse.offline import DEFAULT_REGION as REGION
from policy.lakehouse_policies.iam.policy_lint_parliament import lint

KMS = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1111aaaa-2222-bbbb-3333-cccc4444dddd"
KEY_ALIAS = "alias/lakehouse-dev"
TAGS = {"Environment": "dev", "Project": "glue-lakehouse"}
EXISTING_VPC = "vpc-0123456789abcdef0"
EXISTING_SUBNETS = ("subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2")
EXISTING_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:analytics/pg-AbCdEf"

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
RDS = "aws:rds/instance:Instance"
CONNECTION = "aws:glue/connection:Connection"
TRIGGER = "aws:glue/trigger:Trigger"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"

CREATED_NETWORK = NetworkSettings(create=True, vpc_cidr="10.42.0.0/16", vpc_id="", subnet_ids=())
EXISTING_NETWORK = NetworkSettings(create=False, vpc_cidr="10.42.0.0/16", vpc_id=EXISTING_VPC,
                                   subnet_ids=EXISTING_SUBNETS)
CREATED_DB = DatabaseSettings(mode="create", instance_class="db.t4g.micro", engine_version="16.4",
                              allocated_storage_gb=20, name="lakehouse", multi_az=False, deletion_protection=False,
                              backup_retention_days=1, existing_endpoint="", existing_secret_arn="")
PROD_DB = replace(CREATED_DB, instance_class="db.t4g.medium", allocated_storage_gb=100, multi_az=True,
                  deletion_protection=True, backup_retention_days=14)
EXISTING_DB = replace(CREATED_DB, mode="existing", existing_endpoint="pg.internal.example:6432",
                      existing_secret_arn=EXISTING_SECRET)
BUCKETS = tuple(f"lakehouse-dev-{r}-{ACCOUNT}" for r in ("gold", "logs", "raw", "scripts"))
# what a created network needs besides its settings: the account, the stack's buckets, the log retention
NETWORK_ARGS = dict(account_id=ACCOUNT, bucket_names=BUCKETS, log_retention_days=7)

CALLS = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda a: {
        "id": REGION, "names": ["us-east-1a", "us-east-1b", "us-east-1c"],
        "zoneIds": ["use1-az1", "use1-az2", "use1-az4"]},
    "aws:ec2/getSubnet:getSubnet": lambda a: {"id": a["id"], "vpcId": EXISTING_VPC, "availabilityZone": "us-east-1c"},
    "aws:ec2/getVpc:getVpc": lambda a: {"id": a["id"], "cidrBlock": "10.7.0.0/16"},
    "aws:ec2/getPrefixList:getPrefixList": lambda a: {"id": "pl-02cd2c6b", "name": a["name"]},
}


def build(network=CREATED_NETWORK, database=CREATED_DB, environment="dev"):
    def program():
        c = GlueRdsConnection("lake", GlueRdsConnectionArgs(
            name_prefix=f"lakehouse-{environment}", environment=environment, region=REGION,
            network=network, database=database, kms_key_arn=KMS, key_alias=KEY_ALIAS, tags=TAGS, **NETWORK_ARGS))
        return {"connection": c.connection_name, "jdbc": c.jdbc_url, "secret": c.secret_arn,
                "statements": c.job_statements(AwsContext(ACCOUNT, REGION)), "vpc": c.vpc_id,
                "glue_sg": c.glue_security_group.id}
    return run_program(program, invokes=CALLS)


def rules(ev, typ):
    """Security group rules as (group id, from, to, source/target) tuples."""
    out = set()
    for r in ev.of_type(typ):
        i = r.inputs
        assert i["ipProtocol"] == "tcp"
        peer = i.get("referencedSecurityGroupId") or i.get("prefixListId") or i.get("cidrIpv4")
        out.add((i["securityGroupId"], i["fromPort"], i["toPort"], peer))
    return out


# --- network made by the stack ----------------------------------------------------------

def test_created_vpc_has_dns_private_subnets_in_two_azs_and_no_internet_route():
    ev = build()
    vpc = ev.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.42.0.0/16"
    assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["enableDnsSupport"] is True
    subnets = sorted(ev.of_type("aws:ec2/subnet:Subnet"), key=lambda r: r.name)
    assert [(s.inputs["cidrBlock"], s.inputs["availabilityZone"], s.inputs["mapPublicIpOnLaunch"], s.inputs["vpcId"])
            for s in subnets] == [("10.42.0.0/18", "us-east-1a", False, "lake-vpc-id"),
                                  ("10.42.64.0/18", "us-east-1b", False, "lake-vpc-id")]
    rt = ev.one("aws:ec2/routeTable:RouteTable")
    assert "routes" not in rt.inputs or rt.inputs["routes"] == []
    assert sorted((a.inputs["subnetId"], a.inputs["routeTableId"]) for a in ev.of_type(
        "aws:ec2/routeTableAssociation:RouteTableAssociation")) == [
        ("lake-private-1-id", "lake-private-id"), ("lake-private-2-id", "lake-private-id")]
    for forbidden in ("aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway",
                      "aws:ec2/route:Route", "aws:ec2/eip:Eip"):
        assert not ev.of_type(forbidden), forbidden
    default_sg = ev.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert "ingress" not in default_sg.inputs and "egress" not in default_sg.inputs


# every service a job on the connection calls from its subnet besides S3 (lakehouse.model.network)
INTERFACE_SERVICES = ["glue", "kms", "logs", "monitoring", "secretsmanager", "sts"]


def test_created_vpc_gets_the_s3_gateway_and_an_interface_endpoint_per_service_the_jobs_call():
    ev = build()
    s3 = ev.get(ENDPOINT, "lake-s3").inputs
    assert {k: s3[k] for k in ("vpcId", "serviceName", "vpcEndpointType", "routeTableIds")} == {
        "vpcId": "lake-vpc-id", "serviceName": f"com.amazonaws.{REGION}.s3", "vpcEndpointType": "Gateway",
        "routeTableIds": ["lake-private-id"]}
    assert sorted(e.name for e in ev.of_type(ENDPOINT)) == sorted(
        ["lake-s3"] + [f"lake-{s}" for s in INTERFACE_SERVICES])  # secretsmanager keeps its name
    for service in INTERFACE_SERVICES:
        e = ev.get(ENDPOINT, f"lake-{service}").inputs
        assert {k: e[k] for k in ("vpcId", "serviceName", "vpcEndpointType", "privateDnsEnabled", "subnetIds",
                                  "securityGroupIds")} == {
            "vpcId": "lake-vpc-id", "serviceName": f"com.amazonaws.{REGION}.{service}",
            "vpcEndpointType": "Interface", "privateDnsEnabled": True,
            "subnetIds": ["lake-private-1-id", "lake-private-2-id"], "securityGroupIds": ["lake-endpoints-id"]}
        assert e["tags"] == {**TAGS, "Name": f"lakehouse-dev-{service}"}


FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vpc-flow-logs/lakehouse-dev"


def test_created_vpc_logs_all_its_traffic_into_an_encrypted_group_through_a_role_only_flow_logs_assumes():
    ev = build()
    flow = ev.one(FLOW_LOG).inputs
    assert {k: v for k, v in flow.items() if k != "tags"} == {
        "vpcId": "lake-vpc-id", "trafficType": "ALL", "logDestinationType": "cloud-watch-logs",
        "logDestination": GROUP_ARN, "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/lakehouse-dev-vpc-flow-logs"}
    assert flow["tags"] == {**TAGS, "Name": "lakehouse-dev-vpc-flow-logs"}
    group = ev.get(LOG_GROUP, "lake-flow-logs").inputs
    assert (group["name"], group["kmsKeyId"], group["retentionInDays"], group["deletionProtectionEnabled"]) == (
        vpc_flow_log_group("lakehouse-dev"), KMS, 7, False)
    role = ev.get(ROLE, "lake-flow-logs").inputs
    assert json.loads(role["assumeRolePolicy"])["Statement"] == [{
        "Sid": "VpcFlowLogsAssumeRole", "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
        "Action": "sts:AssumeRole", "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-flow-log/*"}}}]
    policy = json.loads(ev.get("aws:iam/rolePolicy:RolePolicy", "lake-flow-logs").inputs["policy"])
    assert policy["Statement"] == [{
        "Sid": "DeliverToFlowLogGroup", "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
        "Resource": [GROUP_ARN, f"{GROUP_ARN}:*"]}]  # that group's streams, nothing else
    assert lint(policy) == [] and lint(json.loads(role["assumeRolePolicy"]), "trust") == []
    prod = run_program(lambda: GlueRdsConnection("lake", GlueRdsConnectionArgs(
        name_prefix="lakehouse-prod", environment="prod", region=REGION, network=CREATED_NETWORK, database=PROD_DB,
        kms_key_arn=KMS, key_alias=KEY_ALIAS, tags=TAGS, **{**NETWORK_ARGS, "log_retention_days": 365})),
        stack="prod", invokes=CALLS)
    group = prod.get(LOG_GROUP, "lake-flow-logs").inputs
    assert (group["retentionInDays"], group["deletionProtectionEnabled"]) == (365, True)


def test_created_endpoints_admit_only_this_account_and_s3_only_the_stack_buckets():
    ev = build()
    s3 = json.loads(ev.get(ENDPOINT, "lake-s3").inputs["policy"])
    objects = sorted(f"arn:aws:s3:::{b}/*" for b in BUCKETS)
    assert s3["Statement"] == [{
        "Sid": "StackBucketsForThisAccountOnly", "Effect": "Allow", "Principal": "*",
        # what a job on the connection can be granted in S3, nothing else
        "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
        "Resource": sorted([f"arn:aws:s3:::{b}" for b in BUCKETS] + objects),
        "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}]
    assert s3_endpoint_actions(AwsContext(ACCOUNT, REGION), "c") == s3["Statement"][0]["Action"]
    for service in INTERFACE_SERVICES:
        policy = json.loads(ev.get(ENDPOINT, f"lake-{service}").inputs["policy"])
        assert policy["Statement"] == [{
            "Sid": "PrincipalsOfThisAccountOnly", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}], service


def test_china_endpoint_policies_and_flow_logs_use_the_partition():
    def program():
        GlueRdsConnection("lake", GlueRdsConnectionArgs(
            name_prefix="lakehouse-dev", environment="dev", region="cn-north-1", network=CREATED_NETWORK,
            database=CREATED_DB, kms_key_arn=KMS, key_alias=KEY_ALIAS, tags=TAGS, dns_suffix="amazonaws.com.cn",
            **{**NETWORK_ARGS, "partition": "aws-cn"}))
    ev = run_program(program, invokes=CALLS)
    resources = json.loads(ev.get(ENDPOINT, "lake-s3").inputs["policy"])["Statement"][0]["Resource"]
    assert all(r.startswith("arn:aws-cn:s3:::") for r in resources)
    trust = json.loads(ev.get(ROLE, "lake-flow-logs").inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com.cn"}
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws-cn:ec2:cn-north-1:{ACCOUNT}:vpc-flow-log/*"}


@pytest.mark.parametrize("missing, message", [
    ({"account_id": ""}, r"account_id: got ''; allowed: the account id when createNetwork is true"),
    ({"bucket_names": ()}, r"bucket_names: got \[\]; allowed: the stack's buckets when createNetwork is true"),
])
def test_a_created_network_needs_the_account_and_the_buckets(missing, message):
    def program():
        GlueRdsConnection("lake", GlueRdsConnectionArgs(
            name_prefix="lakehouse-dev", environment="dev", region=REGION, network=CREATED_NETWORK,
            database=CREATED_DB, kms_key_arn=KMS, key_alias=KEY_ALIAS, tags=TAGS, **{**NETWORK_ARGS, **missing}))
    with pytest.raises(ConfigError, match=message):
        run_program(program, invokes=CALLS)


def test_the_interface_endpoints_are_read_off_the_job_role_statements():
    ctx = AwsContext(ACCOUNT, REGION)
    actions = connection_job_actions(ctx, "lakehouse-dev-postgres")
    assert {a.partition(":")[0] for a in actions} == {"s3", "glue", "kms", "logs", "cloudwatch", "secretsmanager",
                                                      "ec2"}
    assert "cloudwatch:PutMetricData" in actions and "glue:GetConnection" in actions
    assert interface_endpoint_services(ctx, "lakehouse-dev-postgres") == INTERFACE_SERVICES
    china = AwsContext(ACCOUNT, "cn-north-1", "aws-cn", "amazonaws.com.cn")
    assert interface_endpoint_services(china, "c") == INTERFACE_SERVICES


def test_endpoints_in_a_china_region_use_the_partition_service_names():
    def program():
        GlueRdsConnection("lake", GlueRdsConnectionArgs(
            name_prefix="lakehouse-dev", environment="dev", region="cn-north-1", network=CREATED_NETWORK,
            database=CREATED_DB, kms_key_arn=KMS, key_alias=KEY_ALIAS, tags=TAGS, dns_suffix="amazonaws.com.cn",
            **{**NETWORK_ARGS, "partition": "aws-cn"}))
    ev = run_program(program, invokes=CALLS)
    assert sorted(e.inputs["serviceName"] for e in ev.of_type(ENDPOINT)) == sorted(
        f"cn.com.amazonaws.cn-north-1.{s}" for s in ["s3", *INTERFACE_SERVICES])


def test_security_groups_allow_glue_to_itself_s3_secrets_and_postgres_and_postgres_only_from_glue():
    ev = build()
    glue, rds, endpoints = "lake-glue-id", "lake-rds-id", "lake-endpoints-id"
    assert rules(ev, INGRESS) == {
        (glue, 0, 65535, glue),  # self-referencing all TCP, required by Glue
        (rds, 5432, 5432, glue),
        (endpoints, 443, 443, glue),
    }
    assert rules(ev, EGRESS) == {
        (glue, 0, 65535, glue),
        (glue, 443, 443, "pl-63a5400a"),  # the S3 gateway endpoint's prefix list
        (glue, 443, 443, endpoints),
        (glue, 5432, 5432, rds),
    }
    assert {g.name: g.inputs["vpcId"] for g in ev.of_type(SG)} == {
        "lake-glue": "lake-vpc-id", "lake-rds": "lake-vpc-id", "lake-endpoints": "lake-vpc-id"}
    for g in ev.of_type(SG):  # every rule is a separate resource: no inline, no default allow-all
        assert "ingress" not in g.inputs and "egress" not in g.inputs


def test_no_rule_anywhere_admits_the_internet():
    for network, database in ((CREATED_NETWORK, CREATED_DB), (EXISTING_NETWORK, EXISTING_DB),
                              (EXISTING_NETWORK, CREATED_DB)):
        ev = build(network, database)
        for r in ev.of_type(INGRESS) + ev.of_type(EGRESS):
            assert r.inputs.get("cidrIpv4") not in ("0.0.0.0/0",) and "cidrIpv6" not in r.inputs, r.name


# --- RDS --------------------------------------------------------------------------------

def test_dev_rds_instance_is_encrypted_private_backed_up_with_a_managed_password_and_no_final_snapshot():
    ev = build()
    db = ev.one(RDS).inputs
    assert {k: v for k, v in db.items() if k != "tags"} == {
        "identifier": "lakehouse-dev-postgres", "engine": "postgres", "engineVersion": "16.4",
        "instanceClass": "db.t4g.micro", "allocatedStorage": 20, "storageType": "gp3",
        "storageEncrypted": True, "kmsKeyId": KMS, "dbName": "lakehouse", "port": 5432,
        "username": "lakehouse_admin", "manageMasterUserPassword": True, "masterUserSecretKmsKeyId": KMS,
        "iamDatabaseAuthenticationEnabled": True, "publiclyAccessible": False,
        "dbSubnetGroupName": "lakehouse-dev-postgres", "vpcSecurityGroupIds": ["lake-rds-id"],
        "backupRetentionPeriod": 1, "multiAz": False, "deletionProtection": False,
        "skipFinalSnapshot": True, "copyTagsToSnapshot": True, "autoMinorVersionUpgrade": True,
        "allowMajorVersionUpgrade": False,
    }
    assert "password" not in db and "passwordWo" not in db
    group = ev.one("aws:rds/subnetGroup:SubnetGroup").inputs
    assert group["name"] == "lakehouse-dev-postgres"
    assert group["subnetIds"] == ["lake-private-1-id", "lake-private-2-id"]


def test_prod_rds_instance_is_multi_az_protected_and_keeps_a_final_snapshot():
    ev = build(database=PROD_DB, environment="prod")
    db = ev.one(RDS).inputs
    assert (db["multiAz"], db["deletionProtection"], db["backupRetentionPeriod"]) == (True, True, 14)
    assert (db["skipFinalSnapshot"], db["finalSnapshotIdentifier"]) == (False, "lakehouse-prod-postgres-final")
    assert (db["instanceClass"], db["allocatedStorage"]) == ("db.t4g.medium", 100)


# --- Glue connection ----------------------------------------------------------------------

def test_glue_connection_uses_tls_the_rds_managed_secret_and_the_first_private_subnet():
    ev = build()
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-lake-postgres-AbCdEf"
    endpoint = f"lakehouse-dev-postgres.abc123xyz.{REGION}.rds.amazonaws.com:5432"  # the mocks' RDS address
    conn = ev.one(CONNECTION)
    assert conn.inputs["name"] == "lakehouse-dev-postgres" and conn.inputs["connectionType"] == "JDBC"
    assert conn.inputs["connectionProperties"] == {
        "JDBC_CONNECTION_URL": f"jdbc:postgresql://{endpoint}/lakehouse",
        "JDBC_ENFORCE_SSL": "true",
        "SECRET_ID": secret,
    }
    assert conn.inputs["physicalConnectionRequirements"] == {
        "subnetId": "lake-private-1-id", "availabilityZone": "us-east-1a", "securityGroupIdLists": ["lake-glue-id"]}
    assert conn.secret_inputs == {"connectionProperties"}  # kept encrypted in state
    assert ev.outputs["secret"] == secret and ev.outputs["connection"] == "lakehouse-dev-postgres"
    # created after the routes and rules it needs, so a test connection works right away
    needed = {ev.urn(ENDPOINT, "lake-s3"), *(ev.urn(ENDPOINT, f"lake-{s}") for s in INTERFACE_SERVICES),
              ev.urn(EGRESS, "lake-glue-s3"), ev.urn(EGRESS, "lake-glue-endpoints"), ev.urn(INGRESS, "lake-glue-self"),
              ev.urn(EGRESS, "lake-glue-rds")}
    assert needed <= conn.explicit_dependencies


# --- existing network and database ----------------------------------------------------------

def test_existing_network_and_database_are_used_as_configured_and_nothing_is_added_to_the_vpc():
    ev = build(EXISTING_NETWORK, EXISTING_DB)
    for made in ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable", ENDPOINT, RDS,
                 "aws:rds/subnetGroup:SubnetGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
        assert not ev.of_type(made), made
    assert [g.name for g in ev.of_type(SG)] == ["lake-glue"]
    assert ev.one(SG).inputs["vpcId"] == EXISTING_VPC
    glue = "lake-glue-id"
    assert rules(ev, INGRESS) == {(glue, 0, 65535, glue)}
    assert rules(ev, EGRESS) == {
        (glue, 0, 65535, glue),
        (glue, 443, 443, "pl-02cd2c6b"),  # S3 prefix list of the region
        (glue, 443, 443, "10.7.0.0/16"),  # a Secrets Manager endpoint inside the VPC
        (glue, 6432, 6432, "10.7.0.0/16"),  # the existing database's port
    }
    conn = ev.one(CONNECTION).inputs
    assert conn["connectionProperties"] == {
        "JDBC_CONNECTION_URL": "jdbc:postgresql://pg.internal.example:6432/lakehouse",
        "JDBC_ENFORCE_SSL": "true", "SECRET_ID": EXISTING_SECRET}
    assert conn["physicalConnectionRequirements"] == {
        "subnetId": EXISTING_SUBNETS[0], "availabilityZone": "us-east-1c", "securityGroupIdLists": [glue]}


def test_an_existing_network_gets_no_flow_log_and_needs_no_account_or_buckets():
    """The existing VPC is someone else's: its flow logs and endpoints are theirs (README)."""
    def program():
        GlueRdsConnection("lake", GlueRdsConnectionArgs(
            name_prefix="lakehouse-dev", environment="dev", region=REGION, network=EXISTING_NETWORK,
            database=EXISTING_DB, kms_key_arn=KMS, key_alias=KEY_ALIAS, tags=TAGS))
    ev = run_program(program, invokes=CALLS)
    assert not ev.of_type(FLOW_LOG) and not ev.of_type(ROLE) and not ev.of_type(LOG_GROUP)


def test_rds_in_an_existing_network_uses_every_configured_subnet():
    ev = build(EXISTING_NETWORK, CREATED_DB)
    assert ev.one("aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"] == list(EXISTING_SUBNETS)
    assert {g.name: g.inputs["vpcId"] for g in ev.of_type(SG)} == {"lake-glue": EXISTING_VPC, "lake-rds": EXISTING_VPC}
    assert (("lake-glue-id", 5432, 5432, "lake-rds-id") in rules(ev, EGRESS))


def test_database_mode_none_makes_no_connection():
    with pytest.raises(ConfigError, match=r"databaseMode: got 'none'; allowed: create \| existing"):
        build(database=replace(CREATED_DB, mode="none"))


# --- IAM for jobs using the connection ---------------------------------------------------------

def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


DESCRIBE = {"Sid": "DescribeNetworkForConnection", "Effect": "Allow", "Action": [
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets", "ec2:DescribeVpcEndpoints"], "Resource": "*"}


def read_connection(connection: str) -> dict:
    return {"Sid": "ReadConnection", "Effect": "Allow", "Action": "glue:GetConnection",
            "Resource": [arn("glue", "catalog"), arn("glue", f"connection/{connection}")]}


def created_statements(connection: str = "lakehouse-dev-postgres", db: str = "lakehouse-dev-postgres",
                       alias: str = KEY_ALIAS) -> list[dict]:
    """A network and database made by the stack: nothing named by an AWS-assigned id."""
    eni, tagged = arn("ec2", "network-interface/*"), {"StringEquals": {
        "aws:ResourceTag/lakehouse:glue-connection": connection}}
    return [
        read_connection(connection),
        {"Sid": "ReadConnectionSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": arn("secretsmanager", "secret:rds!db-*"),
         "Condition": {"StringEquals": {"aws:ResourceTag/aws:rds:primaryDBInstanceArn": arn("rds", f"db:{db}")}}},
        {"Sid": "DecryptConnectionSecret", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": arn("kms", "key/*"),
         "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias},
                       "StringLike": {"kms:EncryptionContext:SecretARN": arn("secretsmanager", "secret:rds!db-*")},
                       "StringEquals": {"kms:ViaService": [f"secretsmanager.{REGION}.amazonaws.com"]}}},
        {"Sid": "CreateConnectionEni", "Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Resource": [eni]},
        {"Sid": "CreateConnectionEniInTaggedNetwork", "Effect": "Allow", "Action": "ec2:CreateNetworkInterface",
         "Resource": [arn("ec2", "subnet/*"), arn("ec2", "security-group/*")], "Condition": tagged},
        {"Sid": "TagConnectionEni", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": eni,
         "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["aws-glue-service-resource"]},
                       "ForAnyValue:StringEquals": {"aws:TagKeys": ["aws-glue-service-resource"]}}},
        {"Sid": "DeleteConnectionEni", "Effect": "Allow", "Action": "ec2:DeleteNetworkInterface", "Resource": eni,
         "Condition": {"Null": {"aws:ResourceTag/aws-glue-service-resource": "false"}}},
        {"Sid": "DescribeConnectionVpc", "Effect": "Allow", "Action": "ec2:DescribeVpcAttribute",
         "Resource": arn("ec2", "vpc/*"), "Condition": tagged},
        DESCRIBE,
    ]


def existing_statements(connection: str = "lakehouse-dev-postgres") -> list[dict]:
    """An existing network and database: their configured ids and secret ARN; no key we do not own."""
    eni, subnet = arn("ec2", "network-interface/*"), arn("ec2", f"subnet/{EXISTING_SUBNETS[0]}")
    return [
        read_connection(connection),
        {"Sid": "ReadConnectionSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": EXISTING_SECRET},
        {"Sid": "CreateConnectionEni", "Effect": "Allow", "Action": "ec2:CreateNetworkInterface",
         "Resource": [eni, subnet]},
        {"Sid": "CreateConnectionEniInTaggedNetwork", "Effect": "Allow", "Action": "ec2:CreateNetworkInterface",
         "Resource": [arn("ec2", "security-group/*")],
         "Condition": {"StringEquals": {"aws:ResourceTag/lakehouse:glue-connection": connection}}},
        {"Sid": "TagConnectionEni", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": eni,
         "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["aws-glue-service-resource"]},
                       "ForAnyValue:StringEquals": {"aws:TagKeys": ["aws-glue-service-resource"]},
                       "ArnEquals": {"ec2:Subnet": [subnet]}}},
        {"Sid": "DeleteConnectionEni", "Effect": "Allow", "Action": "ec2:DeleteNetworkInterface", "Resource": eni,
         "Condition": {"ArnEquals": {"ec2:Subnet": [subnet]}}},
        {"Sid": "DescribeConnectionVpc", "Effect": "Allow", "Action": "ec2:DescribeVpcAttribute",
         "Resource": arn("ec2", f"vpc/{EXISTING_VPC}")},
        DESCRIBE,
    ]


def test_job_statements_of_a_created_network_and_database_name_them_by_tag_and_instance_arn():
    assert build().outputs["statements"] == created_statements()


def test_job_statements_of_an_existing_network_and_database_use_the_configured_ids_and_no_key_we_do_not_own():
    assert build(EXISTING_NETWORK, EXISTING_DB).outputs["statements"] == existing_statements()


def tagged_with_connection(ev) -> set[str]:
    return {r.name for r in ev if (r.inputs.get("tags") or {}).get(CONNECTION_TAG_KEY) == "lakehouse-dev-postgres"}


def test_exactly_what_the_connection_enis_may_use_carries_the_connection_tag():
    """The tag-scoped statements reach the VPC, the connection's subnet and its security group:
    not the second subnet (RDS only), the endpoints' or the database's group."""
    assert tagged_with_connection(build()) == {"lake-vpc", "lake-private-1", "lake-glue"}
    assert tagged_with_connection(build(EXISTING_NETWORK, EXISTING_DB)) == {"lake-glue"}


@pytest.mark.parametrize("statements", [created_statements(), existing_statements()], ids=["created", "existing"])
def test_only_the_describe_actions_that_take_no_resource_use_a_star(statements):
    star = [s for s in statements if "*" in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    assert star == [statements[-1]] and sorted(star[0]["Action"]) == sorted(STAR_ONLY_EC2_ACTIONS)
    # the pack's parliament lint: every action, resource type and condition key known and matched
    assert lint({"Version": "2012-10-17", "Statement": statements}) == []


@pytest.mark.parametrize("kwargs, message", [
    ({"db_instance": "db", "db_secret_arn": EXISTING_SECRET}, "exactly one"),
    ({}, "exactly one"),
    ({"db_instance": "db", "subnet_ids": EXISTING_SUBNETS}, "both subnet_ids and vpc_id"),
    ({"db_instance": "db", "vpc_id": EXISTING_VPC}, "both subnet_ids and vpc_id"),
])
def test_contradictory_connection_grants_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        connection_job_statements(AwsContext(ACCOUNT, REGION), connection_name="c", **kwargs)


def test_endpoint_service_names_follow_the_partition_dns_suffix():
    assert AwsContext(ACCOUNT, "us-east-1").endpoint_service("s3") == "com.amazonaws.us-east-1.s3"
    china = AwsContext(ACCOUNT, "cn-north-1", "aws-cn", "amazonaws.com.cn")
    assert china.endpoint_service("secretsmanager") == "cn.com.amazonaws.cn-north-1.secretsmanager"
    assert china.service("events") == "events.amazonaws.com.cn"


def test_pure_helpers():
    assert private_subnet_cidrs("10.42.0.0/16") == ["10.42.0.0/18", "10.42.64.0/18"]
    assert private_subnet_cidrs("192.168.10.0/24") == ["192.168.10.0/26", "192.168.10.64/26"]
    assert jdbc_url("db.example:5432", "lake") == "jdbc:postgresql://db.example:5432/lake"
    assert connection_properties("jdbc:postgresql://h:1/d", "arn:s") == {
        "JDBC_CONNECTION_URL": "jdbc:postgresql://h:1/d", "JDBC_ENFORCE_SSL": "true", "SECRET_ID": "arn:s"}


def test_the_connection_properties_transform_hands_unknown_members_over_one_by_one():
    """pulumi-aws makes connection_properties one secret Output, unknown as a whole while the URL or
    the secret is (a first preview): the transform gives the engine the map member by member, so
    JDBC_ENFORCE_SSL stays known; with every member known it changes nothing."""
    import pulumi
    from pulumi.output import Unknown
    from pulumi.runtime.rpc import wrap_rpc_secret

    from components.glue_rds_connection import per_key_connection_properties

    url, secret = pulumi.Output.from_input("jdbc:postgresql://h:5432/d"), pulumi.Output.from_input("arn:s")
    transform = per_key_connection_properties(connection_properties(url, secret))

    def args(value):
        return pulumi.ResourceTransformArgs(custom=True, type_=CONNECTION, name="lake",
                                            props={"name": "n", "connectionProperties": value},
                                            opts=pulumi.ResourceOptions())

    known = {"JDBC_CONNECTION_URL": "jdbc:postgresql://h:5432/d", "JDBC_ENFORCE_SSL": "true", "SECRET_ID": "arn:s"}
    assert transform(args(known)) is None and transform(args(wrap_rpc_secret(known))) is None
    for unknown in (Unknown(), wrap_rpc_secret(Unknown()), None):
        result = transform(args(unknown))
        assert result.props["name"] == "n"
        members = result.props["connectionProperties"]
        assert members["JDBC_ENFORCE_SSL"] == "true"
        assert all(isinstance(members[k], pulumi.Output) for k in ("JDBC_CONNECTION_URL", "SECRET_ID"))


PROD_TAGS = {"Environment": "prod", "Project": "glue-lakehouse", "Owner": "data-platform", "CostCenter": "cc-1",
             "DataClassification": "restricted", "ManagedBy": "pulumi", "Stack": "prod"}


@pytest.mark.parametrize("network", [CREATED_NETWORK, EXISTING_NETWORK], ids=["created-network", "existing-network"])
def test_prod_connection_passes_the_policy_pack(network):
    def program():
        GlueRdsConnection("lake", GlueRdsConnectionArgs(
            name_prefix="lakehouse-prod", environment="prod", region=REGION, network=network,
            database=PROD_DB, kms_key_arn=KMS, key_alias=KEY_ALIAS, tags=PROD_TAGS,
            **{**NETWORK_ARGS, "log_retention_days": 365}))
    ev = run_program(program, stack="prod", invokes=CALLS)
    assert policy_violations(ev, "prod") == []


def test_policy_pack_refuses_a_dev_database_in_prod():
    def program():
        GlueRdsConnection("lake", GlueRdsConnectionArgs(
            name_prefix="lakehouse-prod", environment="prod", region=REGION, network=CREATED_NETWORK,
            database=CREATED_DB, kms_key_arn=KMS, key_alias=KEY_ALIAS, tags=PROD_TAGS,
            **{**NETWORK_ARGS, "log_retention_days": 365}))
    found = policy_violations(run_program(program, stack="prod", invokes=CALLS), "prod")
    assert sorted(v.split(":")[0] for v in found) == [
        "mandatory aws-rds-instance-configure-backup-retention lake-postgres",
        "mandatory aws-rds-instance-enable-deletion-protection lake-postgres",
        "mandatory aws-rds-instance-enable-multi-az lake-postgres",
    ]


# --- wired into the program: both stacks, and the job role ----------------------------------------

def declare_gold_on_connection(tmp_path, monkeypatch):
    """pipelines/fhir.yaml with gold writing a PostgreSQL table on `connection: true` (the declared
    change that attaches it)."""
    data = yaml.safe_load((pipelines.PIPELINES_DIR / "fhir.yaml").read_text())
    for j in data["jobs"]:
        j["connection"] = j["name"] == "gold"
        if j["connection"]:
            j["writes"].append({"database": "postgres", "tables": ["cms_facility_monthly"]})
    (tmp_path / "fhir.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setattr(pipelines, "PIPELINES_DIR", tmp_path)


def role_policy(ev, job: str) -> dict:
    return json.loads(ev.get("aws:iam/rolePolicy:RolePolicy", f"fhir-{job}-policy").inputs["policy"])


def fhir_only(stack: str) -> dict:
    """The stack file's values with only the fhir pipeline: no declared job uses the connection."""
    values = stack_file_values(stack)
    values[f"{PROJECT}:pipelines"] = ["fhir"]
    return values


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_stacks_evaluate_with_workflows_and_the_connection(stack):
    cfg = load_stack_config(stack)  # as shipped: fhir and climate, whose jobs declare `connection: true`
    ev = evaluate_stack(stack)
    base = f"lakehouse-{stack}"
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-postgres-postgres-AbCdEf"
    endpoint = f"{base}-postgres.abc123xyz.{REGION}.rds.amazonaws.com:5432"
    # a Glue workflow per pipeline but those a state machine runs (orders: orchestrator step_functions)
    assert ev.outputs["workflows"] == {p.name: f"{base}-{p.name}" for p in cfg.pipelines
                                       if p.orchestrator == "glue_workflow"}
    assert sorted(ev.outputs["workflows"]) == ["climate", "fhir"]
    assert sorted(ev.outputs["stateMachines"]) == ["orders"]
    assert ev.outputs["connection"] == {
        "name": f"{base}-postgres", "jdbcUrl": f"jdbc:postgresql://{endpoint}/lakehouse", "vpcId": "postgres-vpc-id",
        "subnetId": "postgres-private-1-id", "securityGroupId": "postgres-glue-id"}
    assert ev.outputs["database"] == {"endpoint": endpoint, "name": "lakehouse", "secretArn": secret}
    (rds,) = ev.of_type(RDS)
    db = rds.inputs
    prod = stack == "prod"
    assert (db["multiAz"], db["deletionProtection"], db["backupRetentionPeriod"], db["skipFinalSnapshot"]) == (
        prod, prod, 14 if prod else 1, not prod)
    assert [c.inputs["name"] for c in ev.of_type(CONNECTION)] == [f"{base}-postgres"]
    for p in cfg.pipelines:
        for j in p.jobs:  # exactly the jobs declaring `connection: true` run on it
            job = ev.get("aws:glue/job:Job", f"{p.name}-{j.name}").inputs
            if j.connection:
                assert job["connections"] == [f"{base}-postgres"], j.key
                assert job["defaultArguments"]["--connection_name"] == f"{base}-postgres", j.key
            else:
                assert "connections" not in job and "--connection_name" not in job["defaultArguments"], j.key
    assert {j.key for p in cfg.pipelines for j in p.jobs if j.connection} == {
        "climate.process_locations", "climate.process_climate_data", "climate.process_health_data",
        "climate.process_hospital_data", "climate.calculate_derived_metrics"}
    # the declared DAGs, then each pipeline's `maintain` job once its leaf jobs succeeded
    assert sorted(t.inputs["name"] for t in ev.of_type(TRIGGER)) == sorted(
        [f"{base}-fhir-start", f"{base}-fhir-after-bronze", f"{base}-fhir-after-silver", f"{base}-fhir-after-gold",
         f"{base}-climate-start", f"{base}-climate-after-process-locations",
         f"{base}-climate-after-process-climate-data-process-health-data-process-hospital-data",
         f"{base}-climate-after-calculate-derived-metrics"])
    for pipeline, leaf in (("fhir", "gold"), ("climate", "calculate-derived-metrics")):
        after_leaf = ev.get(TRIGGER, f"{pipeline}-after-{leaf}").inputs
        assert [a["jobName"] for a in after_leaf["actions"]] == [f"{base}-{pipeline}-maintain"]
    for pipeline, first in (("fhir", ["fhir-bronze"]), ("climate", ["climate-process-locations"])):
        start = ev.get(TRIGGER, f"{pipeline}-start").inputs
        assert start["type"] == ("SCHEDULED" if prod else "ON_DEMAND")
        assert [a["jobName"] for a in start["actions"]] == [f"{base}-{j}" for j in first]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_lake_key_encrypts_the_created_vpc_flow_log_group_kept_as_long_as_the_job_logs(stack):
    ev = evaluate_stack(stack)
    group = ev.get(LOG_GROUP, "postgres-flow-logs").inputs
    assert group["name"] == vpc_flow_log_group(f"lakehouse-{stack}")
    assert group["retentionInDays"] == load_stack_config(stack).log_retention_days
    key = ev.one("aws:kms/key:Key")
    assert group["kmsKeyId"] == key.outputs["arn"]
    statements = {st["Sid"]: st for st in json.loads(key.inputs["policy"])["Statement"]}
    assert statements["CloudWatchLogsEncryptVpcFlowLogGroup"]["Condition"] == {"StringEquals": {
        "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group['name']}"}}
    endpoint = json.loads(ev.get(ENDPOINT, "postgres-s3").inputs["policy"])["Statement"][0]
    buckets = sorted(ev.outputs["buckets"].values())  # every bucket of the stack, and only those
    assert endpoint["Resource"] == sorted([f"arn:aws:s3:::{b}" for b in buckets]
                                          + [f"arn:aws:s3:::{b}/*" for b in buckets])


def test_attaching_the_connection_adds_exactly_its_statements_to_the_job_role(tmp_path, monkeypatch):
    plain = evaluate_stack("dev", fhir_only("dev"))  # fhir as declared: no job uses the connection
    assert "connection" not in plain.outputs and not plain.of_type(CONNECTION)
    declare_gold_on_connection(tmp_path, monkeypatch)
    attached = evaluate_stack("dev", fhir_only("dev"))
    before, after = role_policy(plain, "gold"), role_policy(attached, "gold")
    # the RDS CA bundle, uploaded with the connection, and readable (that object alone) by the job on it
    assert not [o for o in plain.of_type(OBJECT) if o.name == "rds-ca-bundle"]
    bundle = attached.get(OBJECT, "rds-ca-bundle").inputs
    assert bundle["key"] == ca_bundle_key(ca_bundle_bytes())
    read_own = before["Statement"][0]
    assert read_own["Sid"] == "ReadOwnScriptAndLibrary"
    read_own = {**read_own, "Resource": sorted(read_own["Resource"] + [f"arn:aws:s3:::{bundle['bucket']}/"
                                                                       f"{bundle['key']}"])}
    # the connection's statements, all built from names, join the job's one policy (judged at preview)
    assert after == {**before, "Statement": [read_own, *before["Statement"][1:]]
                     + created_statements(alias="alias/lakehouse-dev-lake")}
    for job in ("bronze", "silver"):  # jobs without `connection: true` keep their policy
        assert role_policy(attached, job) == role_policy(plain, job)
    # the job roles' policies (the other role policies belong to no job: the VPC flow logs' role, ...)
    assert sorted(r.name for r in attached.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.startswith("fhir-")) == [
        "fhir-bronze-policy", "fhir-gold-policy", "fhir-maintain-policy", "fhir-silver-policy"]


# --- every connection job reaches every service it calls (lakehouse.model.network) ---------------

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def network_of(ev) -> Network:
    """The stack's network as lakehouse.model.network describes it, by the ids the mocks assign."""
    def rule(r) -> list[Rule]:
        i = r.inputs
        peers = [("security-group", i.get("referencedSecurityGroupId")), ("prefix-list", i.get("prefixListId")),
                 ("cidr", i.get("cidrIpv4"))]
        return [Rule(i["ipProtocol"], int(i["fromPort"]), int(i["toPort"]), kind, peer) for kind, peer in peers if peer]

    egress, ingress = {}, {}
    for into, typ in ((egress, EGRESS), (ingress, INGRESS)):
        for r in ev.of_type(typ):
            into.setdefault(r.inputs["securityGroupId"], []).extend(rule(r))
    endpoints = tuple(Endpoint(
        service=endpoint_short_name(e.inputs["serviceName"]), type=e.inputs["vpcEndpointType"], name=e.name,
        private_dns=bool(e.inputs.get("privateDnsEnabled")), subnets=frozenset(e.inputs.get("subnetIds", ())),
        security_groups=frozenset(e.inputs.get("securityGroupIds", ())),
        route_tables=frozenset(e.inputs.get("routeTableIds", ())), prefix_list=e.outputs.get("prefixListId", ""))
        for e in ev.of_type(ENDPOINT))
    tables = {a.inputs["subnetId"]: a.inputs["routeTableId"]
              for a in ev.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")}
    return Network(endpoints=endpoints, route_tables=tables, egress={g: tuple(r) for g, r in egress.items()},
                   ingress={g: tuple(r) for g, r in ingress.items()})


def role_actions(ev, job) -> set[str]:
    """Allow actions of the inline policy of the job's role."""
    role = job.inputs["roleArn"].rsplit("/", 1)[1]
    return {a for p in ev.of_type(ROLE_POLICY) if p.inputs["role"] == role
            for st in json.loads(p.inputs["policy"])["Statement"] if st["Effect"] == "Allow"
            for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}


def connection_findings(ev) -> dict[str, list[tuple[str, str]]]:
    """job -> (service, reason) of what it cannot reach from its connection's subnet."""
    network = network_of(ev)
    connections = {c.inputs["name"]: c.inputs["physicalConnectionRequirements"] for c in ev.of_type(CONNECTION)}
    out = {}
    for job in ev.of_type("aws:glue/job:Job"):
        for name in job.inputs.get("connections") or ():
            place = connections[name]
            out[job.inputs["name"]] = [(u.service, u.reason) for u in unreachable(
                role_actions(ev, job), network, place["subnetId"], place["securityGroupIdLists"])]
    return out


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_connection_job_reaches_every_service_its_role_calls_and_a_missing_endpoint_is_named(stack):
    ev = evaluate_stack(stack)
    findings = connection_findings(ev)
    assert len(findings) == 5 and all(f == [] for f in findings.values()), findings
    services = {s for job in ev.of_type("aws:glue/job:Job") if job.inputs.get("connections")
                for s in needed_services(role_actions(ev, job))}
    assert services == {"s3", *INTERFACE_SERVICES}  # what the jobs' statements call is what the network serves
    ev.remove(ev.get(ENDPOINT, "postgres-kms"))  # broken on purpose
    assert set(map(tuple, connection_findings(ev).values())) == {
        (("kms", "no kms endpoint in the VPC; no NAT route from the subnet"),)}


def test_the_readme_says_what_an_existing_network_must_provide():
    """With createNetwork: false nothing is created: README lists the endpoint service of everything the
    check finds unreachable in a network it knows nothing of."""
    readme = (pipelines.REPO_ROOT / "README.md").read_text()
    section = readme.split("### Database connection", 1)[1].split("\n## ", 1)[0]
    ctx = AwsContext(ACCOUNT, REGION)
    needed = [u.service for u in unreachable(connection_job_actions(ctx, "c"), Network(), "subnet", ["sg"])]
    assert needed == sorted(["s3", *INTERFACE_SERVICES])
    for service in needed:
        assert f"com.amazonaws.<region>.{service}`" in section, service
