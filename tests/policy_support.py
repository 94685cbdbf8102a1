"""Happy-path AWS resources, as the policy engine sees them (pulumi-aws v7 type tokens,
camelCase inputs), and helpers to run policies on them through policy.offline: on those
resources, or on what a component registered under lakehouse.offline.run_program.

Tests change one property of a happy-path resource and assert the exact message.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any, Iterable, Mapping

from pulumi_policy import ResourceValidationPolicy

from policy.lakehouse_policies import all_policies, policies_by_name
from policy.offline import POLICY_DIR, Resource, Violation, evaluate, load_pack_config, resources_from_program

ACCOUNT = "123456789012"
REGION = "us-east-1"
PROJECT = "glue-lakehouse"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ZONES = ("raw", "bronze", "silver", "gold", "scripts", "temp", "logs")


def urn(stack: str, rtype: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{rtype}::{name}"


def tags(stack: str = "prod", **overrides: str) -> dict[str, str]:
    t = {"Environment": stack, "Project": PROJECT, "Owner": "data-platform", "CostCenter": "cc-data-1001",
         "DataClassification": "restricted", "ManagedBy": "pulumi", "Stack": stack}
    t.update(overrides)
    return t


def doc(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class Stack:
    """A list of resources with URNs and property dependencies, built by name."""

    def __init__(self, stack: str = "prod"):
        self.stack = stack
        self.resources: list[Resource] = []

    def add(self, rtype: str, name: str, inputs: Mapping[str, Any], deps: Mapping[str, str] | None = None,
            state: Mapping[str, Any] | None = None) -> Resource:
        """deps: property -> name of the resource it references (a property dependency)."""
        pdeps = {prop: [self.get(other).urn] for prop, other in (deps or {}).items()}
        r = Resource(type=rtype, name=name, urn=urn(self.stack, rtype, name), inputs=copy.deepcopy(dict(inputs)),
                     state=dict(state) if state else None,
                     dependencies=sorted({u for us in pdeps.values() for u in us}), property_dependencies=pdeps)
        self.resources.append(r)
        return r

    def get(self, name: str) -> Resource:
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(f"no resource named {name!r}; have {[r.name for r in self.resources]}")

    def copy(self) -> "Stack":
        return copy.deepcopy(self)


# --- happy-path resources -------------------------------------------------------------------

def key_policy() -> str:
    return doc(
        {"Sid": "AccountRoot", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchLogs", "Effect": "Allow", "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
         "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                   f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/*"}}},
    )


def trust_policy(service: str = "glue.amazonaws.com") -> str:
    return doc({"Sid": "GlueAssume", "Effect": "Allow", "Principal": {"Service": service},
                "Action": "sts:AssumeRole"})


def job_policy(stack: str = "prod") -> str:
    b = f"lakehouse-{stack}"
    return doc(
        {"Sid": "ReadRaw", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [f"arn:aws:s3:::{b}-raw/fhir/*"]},
        {"Sid": "ListRaw", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{b}-raw"],
         "Condition": {"StringLike": {"s3:prefix": ["fhir/*"]}}},
        {"Sid": "WriteBronze", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [f"arn:aws:s3:::{b}-bronze/fhir_patient/*"]},
        {"Sid": "Catalog", "Effect": "Allow", "Action": ["glue:GetDatabase", "glue:GetTable", "glue:UpdateTable",
                                                          "glue:CreateTable"],
         "Resource": [f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog",
                      f"arn:aws:glue:{REGION}:{ACCOUNT}:database/lakehouse_{stack}_bronze",
                      f"arn:aws:glue:{REGION}:{ACCOUNT}:table/lakehouse_{stack}_bronze/fhir_patient"]},
        {"Sid": "Key", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"],
         "Resource": [KEY_ARN]},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents",
                                                       "logs:AssociateKmsKey"],
         "Resource": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/jobs/*:*"]},
        {"Sid": "Metrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": "Glue"}}},
        {"Sid": "VpcConnection", "Effect": "Allow",
         "Action": ["ec2:DescribeVpcEndpoints", "ec2:DescribeRouteTables", "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups"], "Resource": "*"},
        {"Sid": "DbSecret", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:lakehouse-{stack}-db-AbCdEf"]},
    )


def bucket_policy(bucket: str, log_sources: tuple[str, ...] = ()) -> str:
    """TLS only; the access-log bucket (log_sources: the buckets logging into it) also admits log delivery."""
    deny = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    if not log_sources:
        return doc(deny)
    return doc(deny, {"Sid": "S3ServerAccessLogDelivery", "Effect": "Allow",
                      "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
                      "Resource": f"arn:aws:s3:::{bucket}/s3-access/*",
                      "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                                    "ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{b}" for b in log_sources]}}})


def happy_stack(stack: str = "prod", *, with_database: bool = True) -> Stack:
    """A compliant lakehouse: key, buckets with their settings, Glue, IAM, logs, alerts,
    and (with_database) the JDBC side: secret, RDS, security groups, connection."""
    s = Stack(stack)
    t = tags(stack)
    s.add("aws:kms/key:Key", "lake-key", {"enableKeyRotation": True, "deletionWindowInDays": 30,
                                          "policy": key_policy(), "tags": t})
    for zone in ZONES:
        name = f"lakehouse-{stack}-{zone}"
        s.add("aws:s3/bucket:Bucket", f"{zone}-bucket", {"bucket": name, "forceDestroy": False, "tags": t},
              state={"bucket": name, "id": name, "arn": f"arn:aws:s3:::{name}"})
        s.add("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              f"{zone}-bucket-sse", {"bucket": name, "rules": [{"applyServerSideEncryptionByDefault": {
                  "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}, "bucketKeyEnabled": True}]},
              deps={"bucket": f"{zone}-bucket"})
        s.add("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{zone}-bucket-pab",
              {"bucket": name, "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
               "restrictPublicBuckets": True}, deps={"bucket": f"{zone}-bucket"})
        sources = tuple(f"lakehouse-{stack}-{z}" for z in ZONES if z != "logs") if zone == "logs" else ()
        s.add("aws:s3/bucketPolicy:BucketPolicy", f"{zone}-bucket-policy",
              {"bucket": name, "policy": bucket_policy(name, sources)}, deps={"bucket": f"{zone}-bucket"})
        s.add("aws:s3/bucketVersioning:BucketVersioning", f"{zone}-bucket-versioning",
              {"bucket": name, "versioningConfiguration": {"status": "Enabled"}}, deps={"bucket": f"{zone}-bucket"})
        s.add("aws:s3/bucketOwnershipControls:BucketOwnershipControls", f"{zone}-bucket-ownership",
              {"bucket": name, "rule": {"objectOwnership": "BucketOwnerEnforced"}}, deps={"bucket": f"{zone}-bucket"})
    for zone in ZONES[:-1]:  # every bucket but the logs bucket logs into it (added last: ZONES ends with logs)
        name = f"lakehouse-{stack}-{zone}"
        s.add("aws:s3/bucketLogging:BucketLogging", f"{zone}-bucket-logging",
              {"bucket": name, "targetBucket": f"lakehouse-{stack}-logs", "targetPrefix": f"s3-access/{name}/"},
              deps={"bucket": f"{zone}-bucket", "targetBucket": "logs-bucket"})
    s.add("aws:glue/securityConfiguration:SecurityConfiguration", "security-configuration", {
        "name": f"lakehouse-{stack}", "encryptionConfiguration": {
            "s3Encryption": {"s3EncryptionMode": "SSE-KMS", "kmsKeyArn": KEY_ARN},
            "cloudwatchEncryption": {"cloudwatchEncryptionMode": "SSE-KMS", "kmsKeyArn": KEY_ARN},
            "jobBookmarksEncryption": {"jobBookmarksEncryptionMode": "CSE-KMS", "kmsKeyArn": KEY_ARN}}})
    s.add("aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings", "catalog-encryption", {
        "dataCatalogEncryptionSettings": {
            "encryptionAtRest": {"catalogEncryptionMode": "SSE-KMS", "sseAwsKmsKeyId": KEY_ARN},
            "connectionPasswordEncryption": {"returnConnectionPasswordEncrypted": True, "awsKmsKeyId": KEY_ARN}}})
    for zone in ("bronze", "silver", "gold"):
        s.add("aws:glue/catalogDatabase:CatalogDatabase", f"{zone}-database",
              {"name": f"lakehouse_{stack}_{zone}", "locationUri": f"s3://lakehouse-{stack}-{zone}/", "tags": t})
    s.add("aws:iam/role:Role", "job-role", {"assumeRolePolicy": trust_policy(), "tags": t})
    s.add("aws:iam/rolePolicy:RolePolicy", "job-role-policy", {"role": "job-role", "policy": job_policy(stack)},
          deps={"role": "job-role"})
    for job in ("bronze", "silver", "gold"):
        # bronze runs Glue 4.0 (continuous logging into its own group), silver and gold Glue 5.0
        # (real-time logging into <--custom-logGroup-prefix>/error and /output)
        group = f"/aws-glue/jobs/lakehouse-{stack}-fhir-{job}"
        glue4 = job == "bronze"
        for suffix, name in ([("logs", group)] if glue4 else [("logs", f"{group}/error"),
                                                               ("logs-output", f"{group}/output")]):
            s.add("aws:cloudwatch/logGroup:LogGroup", f"fhir-{job}-{suffix}", {
                "name": name, "retentionInDays": 365, "kmsKeyId": KEY_ARN, "tags": t})
        logging = ({"--enable-continuous-cloudwatch-log": "true", "--continuous-log-logGroup": group} if glue4
                   else {"--custom-logGroup-prefix": group})
        s.add("aws:glue/job:Job", f"fhir-{job}", {
            "name": f"lakehouse-{stack}-fhir-{job}", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/job-role",
            "command": {"name": "glueetl", "pythonVersion": "3",
                        "scriptLocation": f"s3://lakehouse-{stack}-scripts/fhir/{job}.py"},
            "glueVersion": "4.0" if glue4 else "5.0", "workerType": "G.2X", "numberOfWorkers": 10, "timeout": 120,
            "executionClass": "STANDARD", "maxRetries": 1,
            "securityConfiguration": f"lakehouse-{stack}",
            "defaultArguments": {**logging, "--enable-metrics": "true"},
            "tags": t})
    s.add("aws:glue/crawler:Crawler", "raw-crawler", {
        "databaseName": f"lakehouse_{stack}_bronze", "role": f"arn:aws:iam::{ACCOUNT}:role/job-role",
        "securityConfiguration": f"lakehouse-{stack}", "s3Targets": [{"path": f"s3://lakehouse-{stack}-raw/fhir/"}],
        "schemaChangePolicy": {"updateBehavior": "LOG", "deleteBehavior": "LOG"},  # as GlueCrawler sets it
        "tags": t})
    s.add("aws:sns/topic:Topic", "alerts", {"name": f"lakehouse-{stack}-alerts", "kmsMasterKeyId": KEY_ARN,
                                            "tags": t})
    if with_database:
        add_database_side(s)
    return s


def add_database_side(s: Stack) -> None:
    """RDS PostgreSQL reached by a Glue JDBC connection (arrives with a later issue in the program)."""
    t = tags(s.stack)
    s.add("aws:secretsmanager/secret:Secret", "db-secret", {"name": f"lakehouse-{s.stack}-db", "kmsKeyId": KEY_ARN,
                                                           "tags": t})
    s.add("aws:ec2/securityGroup:SecurityGroup", "glue-sg", {
        "description": "Glue JDBC connection", "vpcId": "vpc-0abc",
        "ingress": [{"protocol": "tcp", "fromPort": 0, "toPort": 65535, "self": True}],
        "egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}], "tags": t})
    s.add("aws:ec2/securityGroup:SecurityGroup", "db-sg", {
        "description": "PostgreSQL from Glue", "vpcId": "vpc-0abc",
        "ingress": [{"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "securityGroups": ["sg-glue"]}],
        "tags": t})
    s.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "db-from-glue", {
        "securityGroupId": "sg-db", "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432,
        "referencedSecurityGroupId": "sg-glue", "tags": t})
    s.add("aws:rds/instance:Instance", "db", {
        "engine": "postgres", "engineVersion": "16.4", "instanceClass": "db.t4g.medium", "allocatedStorage": 20,
        "storageEncrypted": True, "kmsKeyId": KEY_ARN, "publiclyAccessible": False, "multiAz": True,
        "backupRetentionPeriod": 14, "deletionProtection": True, "manageMasterUserPassword": True,
        "masterUserSecretKmsKeyId": KEY_ARN, "iamDatabaseAuthenticationEnabled": True, "tags": t})
    s.add("aws:glue/connection:Connection", "db-connection", {
        "name": f"lakehouse-{s.stack}-db", "connectionType": "JDBC",
        "connectionProperties": {"JDBC_CONNECTION_URL": "jdbc:postgresql://db.example.internal:5432/lake",
                                 "JDBC_ENFORCE_SSL": "true", "SECRET_ID": f"lakehouse-{s.stack}-db"},
        "physicalConnectionRequirements": {"availabilityZone": "us-east-1a", "subnetId": "subnet-0abc",
                                           "securityGroupIdLists": ["sg-glue"]},
        "tags": t})


def orchestration_side(stack: str = "prod") -> list[Resource]:
    """A pipeline's crawler and Step Functions state machine (with their roles, log groups and, in a SCHEDULED
    stack, the start rule) as GlueCrawler and PipelineStateMachine register them, for stacks whose pipelines
    use neither (added to the shipped stack before a mutation, as add_database_side is)."""
    import pulumi

    from components.glue_crawler import GlueCrawler, GlueCrawlerArgs
    from components.pipeline_state_machine import PipelineStateMachine, PipelineStateMachineArgs
    from lakehouse.model.config import WorkflowSettings
    from lakehouse.model.names import AwsContext, OrchestrationNames
    from lakehouse.model.pipelines import Access, CrawlerSpec, JobSpec, PipelineSpec
    from lakehouse.offline import run_program

    ctx = AwsContext(ACCOUNT, REGION)
    base = f"lakehouse-{stack}-shop"
    jobs = (JobSpec("shop", "extract", "a.py", reads=(Access("raw", ("shop_raw_orders",), ("shop/",)),)),
            JobSpec("shop", "load", "a.py", depends_on=("extract",)))
    pipeline = PipelineSpec("shop", "orders", jobs, orchestrator="step_functions",
                            crawler=CrawlerSpec(("shop/orders/",), "shop_raw_"))
    names = OrchestrationNames(
        raw_database=f"lakehouse_{stack}_raw", crawler=f"{base}-crawler", crawler_role=f"{base}-crawler",
        crawler_log_group=f"/aws-glue/crawlers-role/{base}-crawler-lakehouse-{stack}", state_machine=base,
        state_machine_role=f"{base}-sfn", state_machine_log_group=f"/aws/vendedlogs/states/{base}",
        schedule_rule=f"{base}-start", start_role=f"{base}-start")
    settings = WorkflowSettings(start_mode="SCHEDULED", schedule="cron(0 2 * * ? *)", event_batch_size=10,
                                event_batch_window_seconds=900, max_concurrent_runs=1)
    t = {k: v for k, v in tags(stack).items() if k != "Stack"}

    def program() -> None:
        crawler = GlueCrawler("shop-crawler", GlueCrawlerArgs(
            pipeline=pipeline, names=names, aws=ctx, raw_bucket=f"lakehouse-{stack}-raw",
            security_configuration=f"lakehouse-{stack}", key_alias=f"alias/lakehouse-{stack}-lake",
            kms_key_arn=KEY_ARN, log_retention_days=365, tags=t))
        PipelineStateMachine("shop", PipelineStateMachineArgs(
            pipeline=pipeline, names=names, aws=ctx, job_names={j.name: f"{base}-{j.name}" for j in jobs},
            alerts_topic_arn=ctx.arn("sns", f"lakehouse-{stack}-alerts"), kms_key_arn=KEY_ARN,
            key_alias=f"alias/lakehouse-{stack}-lake", log_retention_days=365, settings=settings, tags=t,
            crawler_name=names.crawler), opts=pulumi.ResourceOptions(depends_on=[crawler]))

    return resources_from_program(run_program(program, stack=stack))


# --- running policies ----------------------------------------------------------------------

def run(resources: Iterable[Resource] | Stack, names: Iterable[str] | None = None,
        config: Mapping[str, Any] | None = None) -> list[Violation]:
    """Violations of the named policies (all when None) with a pack config (default: none)."""
    res = resources.resources if isinstance(resources, Stack) else list(resources)
    by_name = policies_by_name()
    policies = [by_name[n] for n in names] if names is not None else None
    return evaluate(res, config or {}, policies=policies)


def messages(violations: Iterable[Violation]) -> list[tuple[str, str, str]]:
    """(policy, resource name, message) triples, sorted."""
    return sorted((v.policy, v.resource_name, v.message) for v in violations)


def single(stack: Stack, name: str, config: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """(resource name, message) of one policy's violations on a stack."""
    return sorted((v.resource_name, v.message) for v in run(stack, [name], config))


def policy_violations(registered: Iterable[Any], stack: str) -> list[str]:
    """The project's resource policies, with the stack's pack config, on what a test registered
    (a lakehouse.offline StackEvaluation), as "level policy resource: message" lines.

    Stack policies judge a whole stack (e.g. catalog encryption settings made elsewhere), so a
    component alone is checked against the per-resource policies only."""
    policies = [p for p in all_policies() if isinstance(p, ResourceValidationPolicy)]
    names = {p.name for p in policies}  # the config's entries for stack policies do not apply here
    config = {k: v for k, v in load_pack_config(POLICY_DIR / f"config.{stack}.json").items()
              if k == "all" or k in names}
    return [f"{v.level} {v.policy} {v.resource_name}: {v.message}"
            for v in evaluate(resources_from_program(registered), config, policies)]


# --- the shipped stacks ------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _shipped(stack: str) -> tuple[Resource, ...]:
    from lakehouse.offline import evaluate_stack

    return tuple(resources_from_program(evaluate_stack(stack)))


def shipped(stack: str) -> list[Resource]:
    """A fresh copy of what the program registers for `stack` (dev, prod) under the SDK's mocks."""
    return copy.deepcopy(list(_shipped(stack)))


def judged(resources: Iterable[Resource] | Stack, policy: str, stack: str = "prod") -> list[tuple[str, str, str]]:
    """(level, resource name, message) of one policy's violations with the stack's pack config."""
    res = resources.resources if isinstance(resources, Stack) else list(resources)
    config = {k: v for k, v in load_pack_config(POLICY_DIR / f"config.{stack}.json").items() if k in ("all", policy)}
    return sorted((v.level, v.resource_name, v.message) for v in evaluate(res, config, [policies_by_name()[policy]]))


def named(resources: Iterable[Resource], name: str, rtype: str | None = None) -> Resource:
    """The one resource of that logical name (and type)."""
    found = [r for r in resources if r.name == name and (rtype is None or r.type == rtype)]
    assert len(found) == 1, (name, rtype, len(found))
    return found[0]


def set_input(r: Resource, key: str, value: Any) -> None:
    """Change an input and the state alike (stack policies read the state, resource policies the inputs)."""
    r.inputs[key] = value
    if r.state is not None:
        r.state[key] = value


def drop_input(r: Resource, key: str) -> None:
    r.inputs.pop(key, None)
    if r.state is not None:
        r.state.pop(key, None)


def level_of(policy: str, stack: str) -> str:
    """The policy's enforcement level in the stack's pack config."""
    from policy.offline import configure

    return next(c.level.value for c in configure(all_policies(), load_pack_config(POLICY_DIR / f"config.{stack}.json"))
                if c.policy.name == policy)
