"""Physical names of everything the program creates, derived once from the stack config.

Pure (no Pulumi): the program, the IAM/bucket policy builders and the tests all use the
same names, so a policy can name a bucket, a log group or a rule ARN before that resource
exists. Bucket names end with the account id because S3 names are global: two accounts
(or a stack re-created elsewhere) never collide. The longest possible name fits S3's
63 characters: namePrefix (<= 20) - stack (<= 20) - role (<= 7) - account (12).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .config import StackConfig
from .errors import Problems
from .pipelines import JobSpec
from .zones import BUCKET_ROLES, LAKE_ZONES

IAM_ROLE_NAME_MAX = 64
S3_BUCKET_NAME_MAX = 63
EVENT_RULE_NAME_MAX = 64
FAILURE_RULE_SUFFIX = "-failed"
DELAY_RULE_SUFFIX = "-late"
# The stack's own CloudWatch namespace for the jobs' custom metrics (lakehouse.model.monitoring): one
# per stack, so a job role of one stack cannot publish (or fake) another stack's figures.
METRICS_NAMESPACE_ROOT = "GlueLakehouse"
# a job's name is also its role's, and "<job>-failed" names its longest EventBridge rule: the rule binds
JOB_NAME_MAX = min(IAM_ROLE_NAME_MAX, EVENT_RULE_NAME_MAX - max(len(FAILURE_RULE_SUFFIX), len(DELAY_RULE_SUFFIX)))


def endpoint_service_name(region: str, service: str, dns_suffix: str = "amazonaws.com") -> str:
    """VPC endpoint service name: the partition's DNS suffix reversed, the region, the service
    (com.amazonaws.us-east-1.s3; cn.com.amazonaws.cn-north-1.s3 in China)."""
    return ".".join([*reversed(dns_suffix.split(".")), region, service])


@dataclass(frozen=True)
class AwsContext:
    """Where the stack deploys: the account, region and partition (from the provider)."""

    account_id: str
    region: str
    partition: str = "aws"
    dns_suffix: str = "amazonaws.com"

    def service(self, name: str, regional: bool = False) -> str:
        """Service principal, e.g. glue.amazonaws.com or logs.us-east-1.amazonaws.com."""
        return f"{name}.{self.region}.{self.dns_suffix}" if regional else f"{name}.{self.dns_suffix}"

    def endpoint_service(self, name: str) -> str:
        """VPC endpoint service name, e.g. com.amazonaws.us-east-1.s3."""
        return endpoint_service_name(self.region, name, self.dns_suffix)

    def s3_arn(self, bucket: str, key: str | None = None) -> str:
        return f"arn:{self.partition}:s3:::{bucket}" + (f"/{key}" if key is not None else "")

    def arn(self, service: str, resource: str) -> str:
        """Regional ARN in this account: arn:<p>:<service>:<region>:<account>:<resource>."""
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"

    @property
    def root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"


@dataclass(frozen=True)
class JobNames:
    """Names of one Glue job and what belongs to it alone."""

    job: str  # Glue job name, cfg.resource_name(pipeline, job)
    role: str  # its IAM role (same name: one role per job)
    # /aws-glue/jobs/<job>: Glue 4.0's continuous-logging group; Glue 5.0's --custom-logGroup-prefix
    # (its groups are <log_group>/error and /output). lakehouse.model.iam.job_log_groups names them.
    log_group: str
    failure_rule: str  # EventBridge rule sending FAILED/TIMEOUT/ERROR/STOPPED to the alert topic
    delay_rule: str  # EventBridge rule sending the run-delay notice (notifyDelayMinutes) to the alert topic
    temp_prefix: str  # its --TempDir prefix in the temp bucket
    spark_ui_prefix: str  # its Spark UI event logs prefix in the logs bucket
    # The stack's lake key, by its alias: the job's policy names the key by alias (kms:ResourceAliases),
    # because the key's ARN carries an id AWS assigns on creation, unknown before (at preview).
    lake_key_alias: str
    metrics_namespace: str = ""  # the stack's custom-metrics namespace (--metrics_namespace)
    metrics_stack: str = ""  # the Stack dimension of its metrics (--metrics_stack)


@dataclass(frozen=True)
class LakeNames:
    """Names shared by the whole stack."""

    base: str  # <namePrefix>-<stack>
    buckets: Mapping[str, str]  # role (raw, bronze, ..., logs) -> bucket name
    databases: Mapping[str, str]  # lake zone -> Glue database
    key_alias: str
    security_configuration: str
    alerts_topic: str
    log_group_prefix: str  # every job log group name starts with it (/aws-glue/jobs/<base>-)
    workgroup: str = ""  # the stack's Athena workgroup
    analyst_role: str = ""  # read-only access to gold through Athena
    athena_results_prefix: str = "athena-results/"  # in the temp bucket
    metrics_namespace: str = ""  # the jobs' custom metrics (metrics_namespace())
    dashboard: str = ""  # the stack's CloudWatch dashboard

    def job(self, cfg: StackConfig, job: JobSpec) -> JobNames:
        return job_names(cfg, job)


def lake_key_alias(cfg: StackConfig) -> str:
    """Alias of the stack's lake key: alias/<namePrefix>-<stack>-lake (known before the key exists)."""
    return f"alias/{cfg.resource_name()}-lake"


def metrics_namespace(cfg: StackConfig) -> str:
    """GlueLakehouse/<namePrefix>-<stack>: the jobs' custom metrics, and all their role may publish besides Glue's."""
    return f"{METRICS_NAMESPACE_ROOT}/{cfg.resource_name()}"


def job_names(cfg: StackConfig, job: JobSpec) -> JobNames:
    """Names of one job and what belongs to it alone; they need no account id."""
    name = cfg.resource_name(job.pipeline, job.name)
    return JobNames(
        job=name,
        role=name,
        log_group=f"/aws-glue/jobs/{name}",
        failure_rule=f"{name}{FAILURE_RULE_SUFFIX}",
        delay_rule=f"{name}{DELAY_RULE_SUFFIX}",
        temp_prefix=f"{name}/",
        spark_ui_prefix=f"spark-ui/{name}/",
        lake_key_alias=lake_key_alias(cfg),
        metrics_namespace=metrics_namespace(cfg),
        metrics_stack=cfg.stack,
    )


def lake_names(cfg: StackConfig, account_id: str) -> LakeNames:
    base = cfg.resource_name()
    return LakeNames(
        base=base,
        buckets={role: f"{cfg.resource_name(role)}-{account_id}" for role in BUCKET_ROLES},
        databases={zone: cfg.database_name(zone) for zone in LAKE_ZONES},
        key_alias=lake_key_alias(cfg),
        security_configuration=f"{base}-jobs",
        alerts_topic=f"{base}-alerts",
        log_group_prefix=f"/aws-glue/jobs/{base}-",
        workgroup=f"{base}-analytics",
        analyst_role=f"{base}-analyst",
        metrics_namespace=metrics_namespace(cfg),
        dashboard=f"{base}-lake",
    )


def name_problems(cfg: StackConfig, names: LakeNames) -> Problems:
    """Names AWS would refuse, found before any resource is registered."""
    p = Problems()
    for role, bucket in names.buckets.items():
        if len(bucket) > S3_BUCKET_NAME_MAX:
            p.add(f"bucket name ({role})", bucket, f"at most {S3_BUCKET_NAME_MAX} characters (shorten namePrefix)")
    for pipeline in cfg.pipelines:
        for job in pipeline.jobs:
            role = names.job(cfg, job).role
            if len(role) > JOB_NAME_MAX:
                p.add(f"{pipeline.source}: jobs.{job.name}", role,
                      f"a job name of at most {JOB_NAME_MAX} characters with prefix and stack (it names the job's "
                      f"IAM role, at most {IAM_ROLE_NAME_MAX}, and with '{FAILURE_RULE_SUFFIX}' its EventBridge "
                      f"failure rule, at most {EVENT_RULE_NAME_MAX}): shorten namePrefix, the stack, the pipeline "
                      "or the job name")
    return p


STATE_MACHINE_NAME_MAX = 80
SFN_ROLE_SUFFIX = "-sfn"
START_ROLE_SUFFIX = "-start"


@dataclass(frozen=True)
class OrchestrationNames:
    """Names of what runs one pipeline besides its jobs: its crawler and its state machine (either may be unused)."""

    raw_database: str  # the raw zone's Glue database: the crawler's tables
    crawler: str  # Glue crawler, <prefix>-<stack>-<pipeline>-crawler
    crawler_role: str  # its IAM role (same name)
    # With a security configuration that encrypts CloudWatch logs, Glue writes a crawler's logs to
    # /aws-glue/crawlers-role/<role>-<security configuration> (the stream is the crawler's name), not to the
    # account-wide /aws-glue/crawlers: a group of this crawler's role alone.
    crawler_log_group: str
    state_machine: str  # Step Functions state machine, <prefix>-<stack>-<pipeline> (the workflow's name)
    state_machine_role: str
    # /aws/vendedlogs/ is the prefix the Step Functions developer guide recommends for its log groups:
    # CloudWatch Logs then needs no resource policy per group (whose size is limited).
    state_machine_log_group: str
    schedule_rule: str  # EventBridge rule starting the state machine (SCHEDULED / EVENT stacks)
    start_role: str  # the role that rule uses: states:StartExecution on the state machine only


def orchestration_names(cfg: StackConfig, pipeline: str, security_configuration: str) -> OrchestrationNames:
    crawler = cfg.resource_name(pipeline, "crawler")
    machine = cfg.resource_name(pipeline)
    return OrchestrationNames(
        raw_database=cfg.database_name("raw"),
        crawler=crawler,
        crawler_role=crawler,
        crawler_log_group=f"/aws-glue/crawlers-role/{crawler}-{security_configuration}",
        state_machine=machine,
        state_machine_role=f"{machine}{SFN_ROLE_SUFFIX}",
        state_machine_log_group=f"/aws/vendedlogs/states/{machine}",
        schedule_rule=f"{machine}-start",
        start_role=f"{machine}{START_ROLE_SUFFIX}",
    )


def orchestration_name_problems(cfg: StackConfig, security_configuration: str) -> Problems:
    """Crawler, state machine, role and rule names AWS would refuse, for the pipelines that use them."""
    p = Problems()
    for pipeline in cfg.pipelines:
        n = orchestration_names(cfg, pipeline.name, security_configuration)
        limits = []
        if pipeline.crawler is not None:
            limits.append(("crawler role", n.crawler_role, IAM_ROLE_NAME_MAX))
        if pipeline.orchestrator == "step_functions":
            limits += [("state machine", n.state_machine, STATE_MACHINE_NAME_MAX),
                       ("state machine role", n.state_machine_role, IAM_ROLE_NAME_MAX),
                       ("start rule", n.schedule_rule, EVENT_RULE_NAME_MAX),
                       ("start role", n.start_role, IAM_ROLE_NAME_MAX)]
        for what, name, most in limits:
            if len(name) > most:
                p.add(f"{pipeline.source}: name", name,
                      f"a {what} name of at most {most} characters: shorten namePrefix, the stack or the pipeline name")
    return p
