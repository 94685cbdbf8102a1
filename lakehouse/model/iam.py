"""IAM, KMS key, S3 bucket and SNS topic policy documents, as pure functions returning dicts.

No Pulumi here: components call these with names and ARNs composed from them (AwsContext), so
the documents are known at `pulumi preview` and the policy pack judges them there; only what names
an id AWS assigns on creation (a VPC's subnets, an RDS-managed secret) waits for `.apply`. Tests
call them directly (and lint them with parliament). Every statement has a Sid, so a diff of a
policy reads as a list of named grants. Names come from lakehouse.model.names, so a document can
name a bucket, a log group, a rule or a key alias before that resource exists.

Least privilege for a Glue job (`job_role_policy`): S3 only on the exact prefixes the job
declares (Iceberg tables are `<table>/` in their zone bucket), its own script and library
objects (and the RDS CA bundle object for a job on a connection), its temp and Spark UI
prefixes; the lake key; Glue Catalog actions only on its databases and tables; CloudWatch Logs
only on its own log groups. The one statement on Resource "*" is cloudwatch:PutMetricData, which
supports no resource-level permission: it is constrained to the Glue metric namespace and the stack's
own custom-metrics namespace (GlueLakehouse/<prefix>-<stack>) by the cloudwatch:namespace condition
(the documented allow-list exception).

The lake key is named by its alias (`key_by_alias`): Resource arn:<p>:kms:<region>:<account>:key/*
with ForAnyValue:StringEquals kms:ResourceAliases = the lake key's alias (AWS KMS developer guide,
"Use aliases to control access to KMS keys", part of ABAC for AWS KMS). The key's ARN carries a key
id AWS assigns on creation, so a policy naming it is unknown until the key exists. ForAnyValue, not
ForAllValues: ForAllValues alone also matches a key without any alias. What this costs: whoever may
create, update or delete aliases in the account and region can point the alias at another key
(CreateAlias/UpdateAlias/DeleteAlias are key administration, which the lake key policy leaves to
IAM); alias changes take up to five minutes to affect authorization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

from .names import AwsContext
from .pipelines import Access
from .platform import REAL_TIME_LOG_GROUPS, logs_in_real_time
from .table_optimizers import TableOptimizerGrant
from .zones import LAKE_ZONES

VERSION = "2012-10-17"
GLUE_METRICS_NAMESPACE = "Glue"  # job metrics and observability metrics
S3_ACCESS_LOG_PREFIX = "s3-access/"  # server access logs in the logs bucket: s3-access/<bucket>/

# Key administration by the account (IAM policies decide who): the actions of AWS's default
# key policy for key administrators, listed rather than kms:* so nothing is granted by accident.
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*", "kms:Enable*",
    "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:Update*",
]
# Cryptographic use by principals of the account whose IAM policy allows it (the job roles).
KEY_USE_ACTIONS = [
    "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom", "kms:ReEncryptTo",
]
# What CloudWatch Logs needs to encrypt a log group (CloudWatch Logs user guide, encrypt-log-data-kms),
# spelled out: AWS's example uses kms:Describe*, but DescribeKey carries no encryption context,
# so under the log-group condition it could never be allowed anyway.
LOGS_KEY_ACTIONS = [
    "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom", "kms:ReEncryptTo",
]

JOB_KEY_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
OBJECT_READ_ACTIONS = ["s3:GetObject"]
OBJECT_WRITE_ACTIONS = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
CATALOG_READ_ACTIONS = ["glue:GetDatabase", "glue:GetTable"]
CRAWLED_TABLE_READ_ACTIONS = ["glue:BatchGetPartition", "glue:GetDatabase", "glue:GetPartition", "glue:GetPartitions",
                              "glue:GetTable"]
CATALOG_WRITE_ACTIONS = ["glue:CreateTable", "glue:GetTable", "glue:UpdateTable"]
LOG_ACTIONS = ["logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


def document(*statements: Optional[dict]) -> dict:
    return {"Version": VERSION, "Statement": [s for s in statements if s]}


ANY_KEY_WITH_ALIAS = "ForAnyValue:StringEquals"  # the condition operator of key_by_alias


def key_by_alias(ctx: AwsContext, alias: str) -> dict:
    """Resource and Condition naming one KMS key of this account and region by its alias.

    kms:ResourceAliases is multi-valued (every alias of the key), hence ForAnyValue; it only
    applies to operations authorized on a KMS key (Decrypt, Encrypt, GenerateDataKey,
    DescribeKey ...), which is all a job does with the key.
    """
    if not alias.startswith("alias/") or any(c in alias for c in "*?"):
        raise ValueError(f"a key alias is alias/<name> without wildcards, got {alias!r}")
    return {
        "Resource": ctx.arn("kms", "key/*"),
        "Condition": {ANY_KEY_WITH_ALIAS: {"kms:ResourceAliases": alias}},
    }


# Services that use the lake key on a job's behalf: S3 (SSE-KMS objects) and Glue (the Data Catalog).
LAKE_KEY_SERVICES = ("s3", "glue")


def lake_key_through(ctx: AwsContext, alias: str, services: Sequence[str]) -> dict:
    """key_by_alias, usable only through `services` (kms:ViaService, single-valued: any of them)."""
    key = key_by_alias(ctx, alias)
    via = sorted(ctx.service(s, regional=True) for s in services)
    return {"Resource": key["Resource"],
            "Condition": {**key["Condition"], "StringEquals": {"kms:ViaService": via}}}


# --- KMS ------------------------------------------------------------------------------------

def lake_key_policy(
    ctx: AwsContext,
    *,
    log_group_prefix: str,
    alerts_topic_arn: str,
    access_logged_bucket_arns: Sequence[str],
) -> dict:
    """Key policy of the lake key. No statement names the '*' principal.

    - the account administers and uses the key through IAM (the job roles' own policies);
    - CloudWatch Logs encrypts only the stack's job log groups (encryption-context ARN);
    - EventBridge and CloudWatch alarms publish to the encrypted alert topic only (SNS encryption context);
    - S3 server access logging writes SSE-KMS log objects for the stack's own buckets only
      (aws:SourceAccount + aws:SourceArn), because the logs bucket is SSE-KMS with this key.
    """
    return document(
        {
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": {"AWS": ctx.root_arn},
            "Action": KEY_ADMIN_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "AccountIamPoliciesUseKey",
            "Effect": "Allow",
            "Principal": {"AWS": ctx.root_arn},
            "Action": KEY_USE_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsEncryptJobLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": ctx.service("logs", regional=True)},
            "Action": LOGS_KEY_ACTIONS,
            "Resource": "*",
            # StringLike, not ArnLike: the encryption-context key is typed String (parliament agrees)
            "Condition": {"StringLike": {
                "kms:EncryptionContext:aws:logs:arn": ctx.arn("logs", f"log-group:{log_group_prefix}*"),
            }},
        },
        {
            "Sid": "EventBridgePublishesToAlertTopic",
            "Effect": "Allow",
            "Principal": {"Service": ctx.service("events")},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": alerts_topic_arn}},
        },
        {
            # the stack's alarms (lakehouse.model.monitoring) notify the same encrypted topic
            "Sid": "CloudWatchAlarmsPublishToAlertTopic",
            "Effect": "Allow",
            "Principal": {"Service": ctx.service("cloudwatch")},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": alerts_topic_arn}},
        },
        {
            "Sid": "S3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": ctx.service("logging.s3")},
            "Action": ["kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnLike": {"aws:SourceArn": sorted(access_logged_bucket_arns)},
            },
        },
    )


# --- S3 bucket policies ---------------------------------------------------------------------

def deny_insecure_transport(ctx: AwsContext, bucket: str) -> list[dict]:
    """Refuse plain HTTP for every caller (a Deny on '*' restricts, it grants nothing)."""
    return [{
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [ctx.s3_arn(bucket), ctx.s3_arn(bucket, "*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]


def bucket_policy(ctx: AwsContext, bucket: str) -> dict:
    return document(*deny_insecure_transport(ctx, bucket))


def logs_bucket_policy(ctx: AwsContext, bucket: str, source_buckets: Iterable[str]) -> dict:
    """The logs bucket also admits S3 server access log delivery from the stack's own buckets.

    With ACLs disabled (BucketOwnerEnforced) the logging service principal must be granted
    in the bucket policy; aws:SourceAccount and aws:SourceArn stop other buckets from
    writing here (confused deputy).
    """
    return document(
        *deny_insecure_transport(ctx, bucket),
        {
            "Sid": "S3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": ctx.service("logging.s3")},
            "Action": "s3:PutObject",
            "Resource": ctx.s3_arn(bucket, f"{S3_ACCESS_LOG_PREFIX}*"),
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnLike": {"aws:SourceArn": sorted(ctx.s3_arn(b) for b in source_buckets)},
            },
        },
    )


# --- SNS ------------------------------------------------------------------------------------

def alerts_topic_policy(ctx: AwsContext, topic_arn: str, rule_arns: Iterable[str],
                        alarm_arns: Iterable[str] = ()) -> dict:
    """EventBridge may publish, only from this stack's job-failure rules, and CloudWatch only from this
    stack's alarms (lakehouse.model.monitoring), each named by exact ARN; no plain HTTP."""
    alarms = sorted(alarm_arns)
    return document(
        {
            "Sid": "EventBridgePublishesJobAlerts",
            "Effect": "Allow",
            "Principal": {"Service": ctx.service("events")},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnLike": {"aws:SourceArn": sorted(rule_arns)},
            },
        },
        {
            "Sid": "CloudWatchPublishesAlarms",
            "Effect": "Allow",
            "Principal": {"Service": ctx.service("cloudwatch")},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ctx.account_id},
                "ArnLike": {"aws:SourceArn": alarms},
            },
        } if alarms else None,
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )


# --- VPC flow logs, VPC endpoint policies ----------------------------------------------------

# What VPC Flow Logs does with its role, on the one log group (AWS CDK's FlowLog grants the same):
# no logs:CreateLogGroup (the stack creates the group) and no logs:DescribeLogGroups (account-wide).
FLOW_LOG_ACTIONS = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]


def vpc_flow_logs_trust_policy(ctx: AwsContext) -> dict:
    """Only VPC Flow Logs, delivering a flow log of this account and region, assumes the flow-log role
    (aws:SourceAccount and aws:SourceArn: the confused-deputy guard AWS documents for it)."""
    return document({
        "Sid": "VpcFlowLogsAssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": ctx.service("vpc-flow-logs")},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ctx.account_id},
            "ArnLike": {"aws:SourceArn": ctx.arn("ec2", "vpc-flow-log/*")},
        },
    })


def vpc_flow_logs_policy(ctx: AwsContext, log_group: str) -> dict:
    """The flow-log role's inline policy: write streams of `log_group` and nothing else."""
    return document({
        "Sid": "DeliverToFlowLogGroup",
        "Effect": "Allow",
        "Action": FLOW_LOG_ACTIONS,
        "Resource": [ctx.arn("logs", f"log-group:{log_group}"), ctx.arn("logs", f"log-group:{log_group}:*")],
    })


def vpc_flow_logs_key_statement(ctx: AwsContext, log_group: str) -> dict:
    """The lake key policy statement (after lake_key_policy's) letting CloudWatch Logs encrypt the flow-log
    group: that group only, by its encryption context (the group's ARN)."""
    return {
        "Sid": "CloudWatchLogsEncryptVpcFlowLogGroup",
        "Effect": "Allow",
        "Principal": {"Service": ctx.service("logs", regional=True)},
        "Action": LOGS_KEY_ACTIONS,
        "Resource": "*",
        "Condition": {"StringEquals": {
            "kms:EncryptionContext:aws:logs:arn": ctx.arn("logs", f"log-group:{log_group}"),
        }},
    }


def vpc_endpoint_policy(ctx: AwsContext) -> dict:
    """An interface endpoint's policy: its service, for principals of this account only (no call
    through the endpoint with another account's credentials). A Deny-free Allow: IAM still decides
    what each principal may do."""
    return document({
        "Sid": "PrincipalsOfThisAccountOnly",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": ctx.account_id}},
    })


def s3_gateway_endpoint_policy(ctx: AwsContext, buckets: Iterable[str], actions: Iterable[str]) -> dict:
    """The S3 gateway endpoint's policy: `actions` (what the jobs on the connection may do in S3) on the
    stack's `buckets` and their objects, for principals of this account only. Nothing in the VPC can
    reach another bucket through it (no copy out to someone else's bucket)."""
    names = sorted(set(buckets))
    if not names:
        raise ValueError("the S3 endpoint policy names the stack's buckets: got none")
    return document({
        "Sid": "StackBucketsForThisAccountOnly",
        "Effect": "Allow",
        "Principal": "*",
        "Action": sorted(set(actions)),
        "Resource": sorted([ctx.s3_arn(b) for b in names] + [ctx.s3_arn(b, "*") for b in names]),
        "Condition": {"StringEquals": {"aws:PrincipalAccount": ctx.account_id}},
    })


# --- Glue job role --------------------------------------------------------------------------

def glue_trust_policy(ctx: AwsContext) -> dict:
    """Only Glue, acting for this account, assumes a job role (confused-deputy guard)."""
    return document({
        "Sid": "GlueAssumesRole",
        "Effect": "Allow",
        "Principal": {"Service": ctx.service("glue")},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}},
    })


@dataclass(frozen=True)
class JobGrant:
    """Everything one job may touch, as names (resolved before the document is built)."""

    role_name: str
    reads: tuple[Access, ...]
    writes: tuple[Access, ...]
    buckets: Mapping[str, str]  # role -> bucket name (zones, scripts, temp, logs)
    databases: Mapping[str, str]  # lake zone -> Glue database
    script_key: str  # in the scripts bucket
    library_key: str  # in the scripts bucket
    temp_prefix: str  # in the temp bucket
    spark_ui_prefix: Optional[str]  # in the logs bucket; None when the Spark UI is off
    log_groups: tuple[str, ...]  # log group names the job writes to
    key_alias: str  # the lake key's alias (key_by_alias): its ARN is unknown before it exists
    ca_bundle_key: Optional[str] = None  # in the scripts bucket: the RDS CA bundle of a job on a connection
    metrics_namespace: Optional[str] = None  # the stack's custom-metrics namespace (lakelib.runtime.metrics)


def access_prefixes(access: Access) -> tuple[str, ...]:
    """Object prefixes of one declared access: `<table>/` per Iceberg table, then the prefixes. A raw-zone
    table is a crawler's, over files under the declared raw prefixes: it adds no prefix of its own."""
    tables = () if access.zone == "raw" else access.tables
    return tuple(f"{t}/" for t in tables) + tuple(access.prefixes)


def _by_bucket(grant: JobGrant, accesses: Iterable[Access]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in accesses:
        if a.in_lake:  # the database is reached through the connection (connection_job_statements)
            out.setdefault(grant.buckets[a.zone], []).extend(access_prefixes(a))
    return {b: sorted(set(p)) for b, p in sorted(out.items())}


def _objects(ctx: AwsContext, by_bucket: Mapping[str, Sequence[str]]) -> list[str]:
    return sorted(ctx.s3_arn(b, f"{p}*") for b, prefixes in by_bucket.items() for p in prefixes)


def _list_statements(ctx: AwsContext, by_bucket: Mapping[str, Sequence[str]]) -> list[dict]:
    """s3:ListBucket per bucket, limited to the job's prefixes by the s3:prefix condition."""
    out = []
    for bucket, prefixes in sorted(by_bucket.items()):
        values = sorted({v for p in prefixes for v in (p, f"{p}*")})
        out.append({
            "Sid": "ListPrefixes" + "".join(ch for ch in bucket.title() if ch.isalnum()),
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": ctx.s3_arn(bucket),
            "Condition": {"StringLike": {"s3:prefix": values}},
        })
    return out


def _tables(accesses: Iterable[Access], zones: Sequence[str] = LAKE_ZONES) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for a in accesses:
        if a.zone in zones and a.tables:
            out.setdefault(a.zone, set()).update(a.tables)
    return {z: sorted(t) for z, t in out.items()}


def _table_arns(ctx: AwsContext, grant: JobGrant, tables: Mapping[str, Sequence[str]]) -> list[str]:
    return [ctx.arn("glue", f"table/{grant.databases[z]}/{t}") for z in sorted(tables) for t in tables[z]]


def job_role_policy(ctx: AwsContext, grant: JobGrant, *extra: dict) -> dict:
    """The inline policy of one job's role: exactly what the job declares, nothing else.

    Built from names only, so it is known at preview. `extra`: statements of something the job
    uses that are known from names too (connection_job_statements), appended at the end.

    The lake key only through the services that use it on the job's behalf (kms:ViaService):
    S3 for SSE-KMS objects and Glue for the encrypted Data Catalog, so the role's credentials
    cannot decrypt anything with the key directly. The one runtime path that calls KMS with the
    role itself, CSE-KMS job bookmarks of the security configuration, is off: the platform sets
    --job-bookmark-option job-bookmark-disable on every job (lakehouse.model.platform). Whether
    another Glue 5.0 runtime path calls KMS directly only a deployed job's CloudTrail can show.
    """
    reads = _by_bucket(grant, grant.reads)
    writes = _by_bucket(grant, grant.writes)
    own = {grant.buckets["temp"]: [grant.temp_prefix]}
    if grant.spark_ui_prefix:
        own[grant.buckets["logs"]] = [grant.spark_ui_prefix]
    listed: dict[str, list[str]] = {}
    for part in (reads, writes, own):
        for bucket, prefixes in part.items():
            listed[bucket] = sorted(set(listed.get(bucket, [])) | set(prefixes))

    read_tables, write_tables = _tables(grant.reads), _tables(grant.writes)
    # a crawler's tables over raw files (Hive-style: partitions too), read through the raw zone's database
    crawled = _tables(grant.reads, ("raw",))
    if crawled and "raw" not in grant.databases:
        raise ValueError(f"{grant.role_name}: the job reads crawler tables {crawled['raw']}: its grant needs the "
                         "raw zone's Glue database")
    zones = sorted({a.zone for a in grant.reads + grant.writes if a.zone in LAKE_ZONES})
    catalog = ctx.arn("glue", "catalog")
    # Spark with --enable-glue-datacatalog looks up the `default` database when it starts.
    databases = ([ctx.arn("glue", f"database/{grant.databases[z]}") for z in zones]
                 + [ctx.arn("glue", "database/default")])
    all_tables = {z: sorted(set(read_tables.get(z, [])) | set(write_tables.get(z, []))) for z in zones}

    statements: list[Optional[dict]] = [
        {
            "Sid": "ReadOwnScriptAndLibrary",
            "Effect": "Allow",
            "Action": OBJECT_READ_ACTIONS,
            # its script, lakelib (--extra-py-files) and, for a job on a connection, the RDS CA bundle (--extra-files)
            "Resource": sorted(ctx.s3_arn(grant.buckets["scripts"], k)
                               for k in (grant.script_key, grant.library_key, grant.ca_bundle_key) if k),
        },
        {
            "Sid": "ReadDeclaredObjects",
            "Effect": "Allow",
            "Action": OBJECT_READ_ACTIONS,
            "Resource": _objects(ctx, reads),
        } if reads else None,
        {
            "Sid": "WriteDeclaredObjects",
            "Effect": "Allow",
            "Action": OBJECT_WRITE_ACTIONS,
            "Resource": _objects(ctx, writes),
        } if writes else None,
        {
            "Sid": "UseOwnTempAndSparkUiPrefixes",
            "Effect": "Allow",
            "Action": OBJECT_WRITE_ACTIONS,
            "Resource": _objects(ctx, own),
        },
        *_list_statements(ctx, listed),
        {
            "Sid": "UseLakeKey",
            "Effect": "Allow",
            "Action": JOB_KEY_ACTIONS,
            **lake_key_through(ctx, grant.key_alias, LAKE_KEY_SERVICES),
        },
        {
            "Sid": "ReadCatalog",
            "Effect": "Allow",
            "Action": CATALOG_READ_ACTIONS,
            "Resource": [catalog] + databases + _table_arns(ctx, grant, all_tables),
        },
        {
            "Sid": "ReadCrawledTables",
            "Effect": "Allow",
            "Action": CRAWLED_TABLE_READ_ACTIONS,
            "Resource": [catalog, ctx.arn("glue", f"database/{grant.databases['raw']}")]
            + _table_arns(ctx, grant, crawled),
        } if crawled else None,
        {
            "Sid": "WriteCatalogTables",
            "Effect": "Allow",
            "Action": CATALOG_WRITE_ACTIONS,
            "Resource": [catalog]
            + [ctx.arn("glue", f"database/{grant.databases[z]}") for z in sorted(write_tables)]
            + _table_arns(ctx, grant, write_tables),
        } if write_tables else None,
        {
            "Sid": "WriteOwnLogGroups",
            "Effect": "Allow",
            "Action": LOG_ACTIONS,
            "Resource": sorted(ctx.arn("logs", f"log-group:{g}:*") for g in grant.log_groups),
        },
        {
            "Sid": "PublishGlueMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",  # PutMetricData has no resource-level permission: scoped by namespace
            # Glue's own job and observability metrics, and the run's row counts in the stack's namespace
            "Condition": {"StringEquals": {"cloudwatch:namespace": _metric_namespaces(grant)}},
        },
        *extra,
    ]
    return document(*statements)


def _metric_namespaces(grant: JobGrant) -> str | list[str]:
    if not grant.metrics_namespace:
        return GLUE_METRICS_NAMESPACE
    return [GLUE_METRICS_NAMESPACE, grant.metrics_namespace]


def job_log_groups(log_group: str, security_configuration: str, role_name: str,
                   glue_version: str = "4.0") -> tuple[str, ...]:
    """Every log group a job of `glue_version` writes to: GlueJob creates exactly these (with KMS,
    retention, deletion protection in prod) and the job's role may write exactly these.

    Glue 5.0 and later (lakehouse.model.platform.logs_in_real_time), given --custom-logGroup-prefix
    = `log_group`: `<log_group>/error` (system, Spark and GlueLogger logs) and `<log_group>/output`
    (stdout and stderr), in that order. Whether a security configuration that encrypts CloudWatch
    logs changes these names in 5.0, as it does in 4.0, is not in AWS's documentation (the
    configuration's KMS key applies to the groups either way: GlueJob creates them with it).

    Glue 4.0 (`glue_version`'s default, the set before Glue 5.0 had its own; the program always
    passes the job's version):
    - its own continuous-logging group (--continuous-log-logGroup), and the same name
      suffixed with the security configuration: Glue appends it when the configuration
      encrypts CloudWatch logs;
    - the output/error groups Glue uses for a job whose security configuration encrypts
      CloudWatch logs: /aws-glue/jobs/<security configuration>-role/<role>/{output,error}.
    Every name contains the job's own name or role, so no job can write another job's logs.
    """
    if logs_in_real_time(glue_version):
        return tuple(f"{log_group}/{stream}" for stream in REAL_TIME_LOG_GROUPS)
    standard = f"/aws-glue/jobs/{security_configuration}-role/{role_name}"
    return (log_group, f"{log_group}-{security_configuration}", f"{standard}/output", f"{standard}/error")


# --- EventBridge start of a workflow, jobs on the JDBC connection ----------------------------

# Tag key AWS Glue puts on the elastic network interfaces it creates for a connection
# (the same key the AWS managed AWSGlueServiceRole policy allows).
GLUE_ENI_TAG_KEY = "aws-glue-service-resource"

# Tag key the stack puts on what a connection's ENIs may use and it creates (subnets, VPC, the
# connection's security group), valued with the connection's name: the handle IAM conditions use
# for resources whose ids AWS assigns at creation, so the job's policy is known at preview.
CONNECTION_TAG_KEY = "lakehouse:glue-connection"

# The ec2 Describe calls Glue makes before it starts a job in a VPC (subnet, security groups,
# S3 endpoint / route tables, ENIs). These actions support no resource-level permissions,
# so "*" is the only resource AWS accepts: the one documented exception to "no * resources"
# (the policy pack's allow-list should name exactly these actions).
STAR_ONLY_EC2_ACTIONS = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcEndpoints",
)


def eventbridge_trust_policy(account_id: str, dns_suffix: str = AwsContext.dns_suffix) -> dict:
    """Trust policy of the role EventBridge assumes to notify a Glue workflow.

    aws:SourceAccount keeps another account's rule from using the role (confused deputy).
    """
    return document({
        "Sid": "EventBridgeAssume",
        "Effect": "Allow",
        "Principal": {"Service": f"events.{dns_suffix}"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
    })


def notify_workflow_policy(workflow_arn: str) -> dict:
    """What the EventBridge role may do: hand events to exactly one workflow."""
    return document({
        "Sid": "NotifyWorkflow",
        "Effect": "Allow",
        "Action": "glue:notifyEvent",
        "Resource": workflow_arn,
    })


def rds_instance_arn(ctx: AwsContext, identifier: str) -> str:
    return ctx.arn("rds", f"db:{identifier}")


def connection_job_statements(
    ctx: AwsContext,
    *,
    connection_name: str,
    db_secret_arn: Optional[str] = None,
    db_instance: Optional[str] = None,
    secret_key_alias: Optional[str] = None,
    subnet_ids: Sequence[str] = (),
    vpc_id: Optional[str] = None,
) -> list[dict]:
    """Statements a job role needs to run with the Glue JDBC connection, nothing wider, built from
    names only: known at preview, so the policy pack judges them in the PR check.

    - read exactly this connection's definition (Glue resolves it at job start, and
      GlueContext.extract_jdbc_conf in the script reads it again);
    - read the connection's secret: an existing database's, by its ARN (`db_secret_arn`), or the
      master user secret RDS manages for the instance `db_instance`. RDS names that secret
      rds!db-<id it generates>-<random>, so it is named by the tag RDS puts on it,
      aws:rds:primaryDBInstanceArn = the instance's ARN (built from its identifier);
    - decrypt it with its key only when Secrets Manager asks on behalf of the role:
      `secret_key_alias` names the key (the lake key of a database made here); None when the key
      is not ours (an existing database's secret: a customer key is granted by its owner, the
      AWS managed key needs no grant);
    - create ENIs only in the connection's subnets with its security group, tag them with
      Glue's tag key and no other (the key present, not only "no other key"), delete only ENIs
      Glue tagged (in the connection's subnets when those are configured ids); describe the VPC's
      attributes; the Describe calls that take "*".

    Tagging, what AWS allows narrowing it to: ec2:CreateTags on network-interface takes ec2:Subnet
    and ec2:Vpc (ARNs with ids) and, on the action, ec2:CreateAction (present only when the tags
    come with CreateNetworkInterface). An existing network's configured subnet pins the ENI. A
    created network's ids exist only after creation (unknown at preview), and ec2:CreateAction is
    not required: AWS's AWSGlueServiceRole grants ec2:CreateTags together with ec2:DeleteTags under
    aws:TagKeys alone, which points to Glue tagging in CreateTags calls of their own (no
    ec2:CreateAction in those); requiring it could stop Glue from tagging. So in a created network
    the job may put Glue's tag on any ENI of the account and region, and (DeleteConnectionEni)
    delete any ENI carrying it: the trade-off docs/policy-pack.md names.

    Subnets and VPC: `subnet_ids` and `vpc_id` of an existing network, or neither for the network
    the stack creates, whose ids AWS assigns at creation: those resources carry CONNECTION_TAG_KEY
    = `connection_name`, and so does the connection's security group (always made by the stack).
    """
    if (db_secret_arn is None) == (db_instance is None):
        raise ValueError("a connection's secret is an existing database's secret ARN or the RDS-managed "
                         f"secret of an instance made here: exactly one, got db_secret_arn={db_secret_arn!r}, "
                         f"db_instance={db_instance!r}")
    if bool(subnet_ids) != bool(vpc_id):
        raise ValueError("an existing network gives both subnet_ids and vpc_id, a created one neither: got "
                         f"subnet_ids={list(subnet_ids)}, vpc_id={vpc_id!r}")
    tagged = {"StringEquals": {f"aws:ResourceTag/{CONNECTION_TAG_KEY}": connection_name}}
    eni_arn = ctx.arn("ec2", "network-interface/*")
    subnet_arns = [ctx.arn("ec2", f"subnet/{s}") for s in sorted(set(subnet_ids))]

    if db_secret_arn is not None:
        secret: dict = {"Resource": db_secret_arn}
        secret_context = {"StringEquals": {"kms:EncryptionContext:SecretARN": db_secret_arn}}
    else:
        rds_secrets = ctx.arn("secretsmanager", "secret:rds!db-*")
        secret = {"Resource": rds_secrets, "Condition": {"StringEquals": {
            "aws:ResourceTag/aws:rds:primaryDBInstanceArn": rds_instance_arn(ctx, db_instance)}}}
        secret_context = {"StringLike": {"kms:EncryptionContext:SecretARN": rds_secrets}}
    # ENIs of an existing network: in its subnets; of a created one: those Glue tagged
    # (its subnets' ids are AWS-assigned, and an ENI carries no tag of ours)
    in_subnets = {"ArnEquals": {"ec2:Subnet": subnet_arns}} if subnet_arns else {}
    eni_scope = in_subnets or {"Null": {f"aws:ResourceTag/{GLUE_ENI_TAG_KEY}": "false"}}

    statements: list[dict] = [{
        "Sid": "ReadConnection",
        "Effect": "Allow",
        "Action": "glue:GetConnection",
        "Resource": [ctx.arn("glue", "catalog"), ctx.arn("glue", f"connection/{connection_name}")],
    }, {
        "Sid": "ReadConnectionSecret",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        **secret,
    }]
    if secret_key_alias:
        key = lake_key_through(ctx, secret_key_alias, ("secretsmanager",))
        statements.append({
            "Sid": "DecryptConnectionSecret",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key["Resource"],
            "Condition": {**key["Condition"], **secret_context, "StringEquals": {
                **key["Condition"]["StringEquals"], **secret_context.get("StringEquals", {})}},
        })
    statements += [
        {
            "Sid": "CreateConnectionEni",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkInterface",
            "Resource": [eni_arn] + subnet_arns,
        },
        {
            # IAM authorizes each resource of the call on its own: the tag condition binds the
            # subnets and group it names, not the new ENI (it has no tags yet)
            "Sid": "CreateConnectionEniInTaggedNetwork",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkInterface",
            "Resource": ([] if subnet_arns else [ctx.arn("ec2", "subnet/*")]) + [ctx.arn("ec2", "security-group/*")],
            "Condition": tagged,
        },
        {
            "Sid": "TagConnectionEni",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": eni_arn,
            # ForAllValues: no key but Glue's; ForAnyValue: Glue's key present (ForAllValues alone
            # also holds for a request with no key)
            "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": [GLUE_ENI_TAG_KEY]},
                          "ForAnyValue:StringEquals": {"aws:TagKeys": [GLUE_ENI_TAG_KEY]}, **in_subnets},
        },
        {
            "Sid": "DeleteConnectionEni",
            "Effect": "Allow",
            "Action": "ec2:DeleteNetworkInterface",
            "Resource": eni_arn,
            "Condition": eni_scope,
        },
        {
            "Sid": "DescribeConnectionVpc",
            "Effect": "Allow",
            "Action": "ec2:DescribeVpcAttribute",
            **({"Resource": ctx.arn("ec2", f"vpc/{vpc_id}")} if vpc_id
               else {"Resource": ctx.arn("ec2", "vpc/*"), "Condition": tagged}),
        },
        {
            "Sid": "DescribeNetworkForConnection",
            "Effect": "Allow",
            "Action": list(STAR_ONLY_EC2_ACTIONS),
            "Resource": "*",
        },
    ]
    return statements


# --- Athena: the analyst role --------------------------------------------------------------

ATHENA_QUERY_ACTIONS = [
    "athena:BatchGetNamedQuery", "athena:BatchGetQueryExecution", "athena:GetNamedQuery", "athena:GetQueryExecution",
    "athena:GetQueryResults", "athena:GetWorkGroup", "athena:ListNamedQueries", "athena:ListQueryExecutions",
    "athena:StartQueryExecution", "athena:StopQueryExecution",
]
ATHENA_RESULT_ACTIONS = ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]


@dataclass(frozen=True)
class AnalystGrant:
    """What the analyst role reads: the gold tables of the deployed pipelines, through one workgroup."""

    workgroup: str
    gold_bucket: str
    gold_database: str
    gold_tables: tuple[str, ...]  # Iceberg tables at <table>/ in the gold bucket
    results_bucket: str  # the temp bucket
    results_prefix: str  # the workgroup's query results, e.g. athena-results/
    key_alias: str  # the lake key: gold objects and query results are SSE-KMS


def analyst_trust_policy(ctx: AwsContext) -> dict:
    """Principals of this account whose own IAM policies allow assuming the role, signed in with MFA
    (the account delegates to IAM: nothing outside it can assume the role)."""
    return document({
        "Sid": "AccountPrincipalsWithMfa",
        "Effect": "Allow",
        "Principal": {"AWS": ctx.root_arn},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": ctx.account_id},  # says so in the statement
                      "Bool": {"aws:MultiFactorAuthPresent": "true"}},
    })


def analyst_role_policy(ctx: AwsContext, grant: AnalystGrant) -> dict:
    """Query gold through the stack's workgroup, read-only: its tables' objects and catalog entries,
    the workgroup's result prefix, the lake key only through S3 and Glue. Nothing of raw, bronze or
    silver: no statement names their buckets or databases."""
    if not grant.gold_tables:
        raise ValueError("an analyst grant needs at least one gold table (no deployed pipeline writes gold)")
    tables = sorted(grant.gold_tables)
    results = grant.results_prefix
    return document(
        {
            "Sid": "QueryThroughTheWorkgroup",
            "Effect": "Allow",
            "Action": ATHENA_QUERY_ACTIONS,
            "Resource": ctx.arn("athena", f"workgroup/{grant.workgroup}"),
        },
        {
            "Sid": "ReadGoldCatalog",
            "Effect": "Allow",
            "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetTables"],
            "Resource": [ctx.arn("glue", "catalog"), ctx.arn("glue", f"database/{grant.gold_database}")]
            + [ctx.arn("glue", f"table/{grant.gold_database}/{t}") for t in tables],
        },
        {
            "Sid": "ReadGoldTables",
            "Effect": "Allow",
            "Action": OBJECT_READ_ACTIONS,
            "Resource": [ctx.s3_arn(grant.gold_bucket, f"{t}/*") for t in tables],
        },
        *_list_statements(ctx, {grant.gold_bucket: [f"{t}/" for t in tables]}),
        {
            "Sid": "QueryResults",
            "Effect": "Allow",
            "Action": ATHENA_RESULT_ACTIONS,
            "Resource": ctx.s3_arn(grant.results_bucket, f"{results}*"),
        },
        *_list_statements(ctx, {grant.results_bucket: [results]}),
        {
            "Sid": "LocateBuckets",
            "Effect": "Allow",
            "Action": "s3:GetBucketLocation",
            "Resource": [ctx.s3_arn(grant.gold_bucket), ctx.s3_arn(grant.results_bucket)],
        },
        {
            "Sid": "UseLakeKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            **lake_key_through(ctx, grant.key_alias, LAKE_KEY_SERVICES),
        },
    )


# --- Glue crawler role ---------------------------------------------------------------------

# What a crawler does with the catalog: read the raw database, create and update its tables and
# partitions. No Delete*: its schema change policy only logs deletions (and changes).
CRAWLER_CATALOG_ACTIONS = [
    "glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:BatchUpdatePartition", "glue:CreatePartition",
    "glue:CreateTable", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable", "glue:UpdatePartition",
    "glue:UpdateTable",
]
CRAWLER_LOG_ACTIONS = ["logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]


@dataclass(frozen=True)
class CrawlerGrant:
    """Everything one crawler may touch, as names."""

    role_name: str
    raw_bucket: str
    prefixes: tuple[str, ...]  # in the raw bucket, each ending in '/'
    database: str  # the raw zone's Glue database
    table_prefix: str  # the crawler's tables are <table_prefix>*
    log_group: str  # its own log group (OrchestrationNames.crawler_log_group)
    key_alias: str  # the lake key


def crawler_role_policy(ctx: AwsContext, grant: CrawlerGrant) -> dict:
    """The crawler role's inline policy: read its raw prefixes, catalog `<table_prefix>*` tables of the raw
    database, write its own log group; the lake key only through S3 (reading SSE-KMS objects) and Glue (the
    encrypted catalog)."""
    if not grant.prefixes or not grant.table_prefix:
        raise ValueError(f"a crawler grant names its prefixes and table prefix: got {grant.prefixes!r}, "
                         f"{grant.table_prefix!r}")
    prefixes = sorted(set(grant.prefixes))
    return document(
        {
            "Sid": "ReadCrawledObjects",
            "Effect": "Allow",
            "Action": OBJECT_READ_ACTIONS,
            "Resource": _objects(ctx, {grant.raw_bucket: prefixes}),
        },
        *_list_statements(ctx, {grant.raw_bucket: prefixes}),
        {
            "Sid": "ReadRawDatabase",
            "Effect": "Allow",
            "Action": "glue:GetDatabase",
            "Resource": [ctx.arn("glue", "catalog"), ctx.arn("glue", f"database/{grant.database}")],
        },
        {
            "Sid": "CatalogCrawledTables",
            "Effect": "Allow",
            "Action": CRAWLER_CATALOG_ACTIONS,
            "Resource": [ctx.arn("glue", "catalog"), ctx.arn("glue", f"database/{grant.database}"),
                         ctx.arn("glue", f"table/{grant.database}/{grant.table_prefix}*")],
        },
        {
            "Sid": "WriteOwnLogGroup",
            "Effect": "Allow",
            "Action": CRAWLER_LOG_ACTIONS,
            "Resource": ctx.arn("logs", f"log-group:{grant.log_group}:*"),
        },
        {
            "Sid": "DecryptRawObjects",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            **lake_key_through(ctx, grant.key_alias, ("s3",)),
        },
        {
            "Sid": "UseLakeKeyForCatalog",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            **lake_key_through(ctx, grant.key_alias, ("glue",)),
        },
    )


# --- Step Functions state machine role -------------------------------------------------------

# What a glue:startJobRun.sync task does with its job (Step Functions developer guide, "IAM policies
# for calling AWS Glue"): start it, poll it, stop it when the execution is stopped.
SFN_GLUE_JOB_ACTIONS = ["glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun"]
SFN_CRAWLER_ACTIONS = ["glue:GetCrawler", "glue:StartCrawler"]
# Log delivery to CloudWatch Logs: the Step Functions developer guide ("Logging Step Functions using
# CloudWatch Logs", IAM policies for logging) lists these for the state machine's role on Resource "*",
# as CloudWatch Logs' vended-log delivery actions support no resource-level permissions.
SFN_LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
]
# X-Ray tracing: the Step Functions developer guide ("Trace Step Functions request data in AWS X-Ray")
# grants these on Resource "*"; X-Ray's sending actions support no resource-level permissions.
SFN_XRAY_ACTIONS = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords",
                    "xray:PutTraceSegments"]
# The encryption context Step Functions uses with a state machine's customer managed key (Step Functions
# developer guide, "Data at rest encryption").
SFN_KEY_CONTEXT = "kms:EncryptionContext:aws:states:stateMachineArn"


def state_machine_arn(ctx: AwsContext, name: str) -> str:
    return ctx.arn("states", f"stateMachine:{name}")


@dataclass(frozen=True)
class StateMachineGrant:
    """What one pipeline's state machine runs, as names."""

    state_machine: str
    jobs: tuple[str, ...]  # Glue job names
    crawler: Optional[str]
    alerts_topic_arn: str
    key_alias: str  # the lake key: the state machine's data, its log group, the alerts topic


def states_trust_policy(ctx: AwsContext, state_machine: str) -> dict:
    """Only Step Functions, running this state machine of this account, assumes the role (confused deputy)."""
    return document({
        "Sid": "StepFunctionsAssumesRole",
        "Effect": "Allow",
        "Principal": {"Service": ctx.service("states")},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ctx.account_id},
            "ArnLike": {"aws:SourceArn": state_machine_arn(ctx, state_machine)},
        },
    })


def state_machine_role_policy(ctx: AwsContext, grant: StateMachineGrant) -> dict:
    """The state machine role's inline policy: run exactly its pipeline's jobs and crawler, publish to the
    alerts topic, the lake key only through Step Functions (its own execution data, by encryption context)
    and SNS; log delivery and X-Ray on "*" as AWS requires (SFN_LOG_DELIVERY_ACTIONS, SFN_XRAY_ACTIONS)."""
    if not grant.jobs:
        raise ValueError(f"state machine {grant.state_machine!r} runs no job")
    machine = state_machine_arn(ctx, grant.state_machine)
    own_data = lake_key_through(ctx, grant.key_alias, ("states",))
    alerts_key = lake_key_through(ctx, grant.key_alias, ("sns",))
    return document(
        {
            "Sid": "RunPipelineJobs",
            "Effect": "Allow",
            "Action": SFN_GLUE_JOB_ACTIONS,
            "Resource": sorted(ctx.arn("glue", f"job/{j}") for j in set(grant.jobs)),
        },
        {
            "Sid": "RunPipelineCrawler",
            "Effect": "Allow",
            "Action": SFN_CRAWLER_ACTIONS,
            "Resource": ctx.arn("glue", f"crawler/{grant.crawler}"),
        } if grant.crawler else None,
        {
            "Sid": "PublishAlerts",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": grant.alerts_topic_arn,
        },
        {
            "Sid": "EncryptAlerts",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            **alerts_key,
        },
        {
            "Sid": "EncryptOwnExecutionData",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": own_data["Resource"],
            "Condition": {**own_data["Condition"], "StringEquals": {
                **own_data["Condition"]["StringEquals"], SFN_KEY_CONTEXT: machine}},
        },
        {
            "Sid": "DeliverLogs",
            "Effect": "Allow",
            "Action": SFN_LOG_DELIVERY_ACTIONS,
            "Resource": "*",  # no resource-level permissions (SFN_LOG_DELIVERY_ACTIONS)
        },
        {
            "Sid": "SendTraces",
            "Effect": "Allow",
            "Action": SFN_XRAY_ACTIONS,
            "Resource": "*",  # no resource-level permissions (SFN_XRAY_ACTIONS)
        },
    )


def start_state_machine_policy(ctx: AwsContext, state_machine: str, key_alias: str) -> dict:
    """What the EventBridge role starting a state machine may do: start that one, whose input Step Functions
    encrypts with the lake key (the caller's GenerateDataKey, by the state machine's encryption context)."""
    machine = state_machine_arn(ctx, state_machine)
    key = lake_key_through(ctx, key_alias, ("states",))
    return document(
        {
            "Sid": "StartStateMachine",
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": machine,
        },
        {
            "Sid": "EncryptExecutionInput",
            "Effect": "Allow",
            "Action": "kms:GenerateDataKey",
            "Resource": key["Resource"],
            "Condition": {**key["Condition"], "StringEquals": {**key["Condition"]["StringEquals"],
                                                               SFN_KEY_CONTEXT: machine}},
        },
    )


def orchestration_key_statements(ctx: AwsContext, *, log_groups: Sequence[str],
                                 state_machines: Sequence[str]) -> list[dict]:
    """Lake key policy statements (after lake_key_policy's) for the crawler and state machine log groups:
    CloudWatch Logs encrypts exactly those groups (by their encryption context), and the log delivery service
    decrypts the state machines' data to deliver their logs (by the Step Functions encryption context)."""
    out: list[dict] = []
    if log_groups:
        out.append({
            "Sid": "CloudWatchLogsEncryptOrchestrationLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": ctx.service("logs", regional=True)},
            "Action": LOGS_KEY_ACTIONS,
            "Resource": "*",
            "Condition": {"StringEquals": {
                "kms:EncryptionContext:aws:logs:arn": sorted(ctx.arn("logs", f"log-group:{g}") for g in log_groups),
            }},
        })
    if state_machines:
        out.append({
            "Sid": "LogDeliveryDecryptsStateMachineData",
            "Effect": "Allow",
            "Principal": {"Service": ctx.service("delivery.logs")},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {
                "aws:SourceAccount": ctx.account_id,
                SFN_KEY_CONTEXT: sorted(state_machine_arn(ctx, m) for m in state_machines),
            }},
        })
    return out


# --- Glue table optimizers --------------------------------------------------------------------

# What a table optimizer does with the role (AWS Glue developer guide, "Table optimization prerequisites"):
# read and rewrite the table's objects, update its catalog entry (compaction, retention; orphan-file
# deletion needs neither PutObject nor UpdateTable, but shares the role), write its runs' logs.
OPTIMIZER_OBJECT_ACTIONS = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
OPTIMIZER_CATALOG_ACTIONS = ["glue:GetTable", "glue:UpdateTable"]
OPTIMIZER_LOG_ACTIONS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
# the same guide: decrypt SSE-KMS objects and generate data keys for the rewritten ones; Encrypt for the
# encrypted Data Catalog's table entries (as the crawler's role)
OPTIMIZER_KEY_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]


def table_optimizer_role_policy(ctx: AwsContext, grant: TableOptimizerGrant) -> dict:
    """The inline policy of the table optimizers' role: the listed tables' objects (`<table>/` in their zone
    bucket) and catalog entries, the lake key only through S3 and Glue, the optimizers' own log groups."""
    if not grant.tables:
        raise ValueError(f"{grant.role_name}: a table optimizer grant names at least one table")
    by_bucket: dict[str, list[str]] = {}
    for t in grant.tables:
        by_bucket.setdefault(grant.buckets[t.zone], []).append(f"{t.table}/")
    by_bucket = {b: sorted(set(p)) for b, p in sorted(by_bucket.items())}
    zones = sorted({t.zone for t in grant.tables}, key=LAKE_ZONES.index)
    return document(
        {
            "Sid": "RewriteTableObjects",
            "Effect": "Allow",
            "Action": OPTIMIZER_OBJECT_ACTIONS,
            "Resource": _objects(ctx, by_bucket),
        },
        *_list_statements(ctx, by_bucket),
        {
            "Sid": "UpdateOptimizedTables",
            "Effect": "Allow",
            "Action": OPTIMIZER_CATALOG_ACTIONS,
            "Resource": [ctx.arn("glue", "catalog")]
            + [ctx.arn("glue", f"database/{grant.databases[z]}") for z in zones]
            + sorted(ctx.arn("glue", f"table/{grant.databases[t.zone]}/{t.table}") for t in grant.tables),
        },
        {
            "Sid": "UseLakeKey",
            "Effect": "Allow",
            "Action": OPTIMIZER_KEY_ACTIONS,
            **lake_key_through(ctx, grant.key_alias, LAKE_KEY_SERVICES),
        },
        {
            "Sid": "WriteOptimizerLogGroups",
            "Effect": "Allow",
            "Action": OPTIMIZER_LOG_ACTIONS,
            "Resource": [ctx.arn("logs", f"log-group:{g}:*") for g in grant.log_groups],
        },
    )
