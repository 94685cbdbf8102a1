"""GlueJob: one Glue Spark job (5.0, or 4.0), its own least-privilege role, logs and failure alerts.

What the component creates for a job declared in pipelines/<name>.yaml:
- an IAM role only Glue (for this account) can assume, with one inline policy generated
  by lakehouse.model.iam.job_role_policy from what the job declares it reads and writes,
  built from names only (the lake key by its alias), so `pulumi preview` knows it and the
  policy pack judges it there;
- its script in the scripts bucket under a key carrying the script's content hash;
- its CloudWatch log groups, exactly those its Glue version writes
  (lakehouse.model.iam.job_log_groups), created up front with the lake key and the stack's
  retention so that Glue never creates one without them. Glue 5.0: <prefix>/error and
  <prefix>/output, the prefix being the job's --custom-logGroup-prefix. Glue 4.0: the
  continuous-logging group, the same name suffixed with the security configuration (Glue
  writes there when the configuration encrypts CloudWatch logs), and the job's output/error
  groups under a CloudWatch-encrypting security configuration
  (/aws-glue/jobs/<configuration>-role/<role>/{output,error});
- the job itself: the stack's security configuration, the platform's default arguments
  (`default_arguments`), sizes from lakehouse.model.config JobSettings, and tags stating what it
  declares writing (lakehouse.model.pipelines.declared_write_tags: `lakehouse:writes`), which the
  policy pack holds its role's write statements to;
- EventBridge rules sending the job's FAILED / TIMEOUT / ERROR / STOPPED events, and its run-delay
  notice (a run still going notifyDelayMinutes after it started), to the alert topic.

Jobs declaring `connection: true` get `connections`, --connection_name and the connection's
extra IAM statements from the program (GlueRdsConnection), and the RDS CA bundle (CaBundle:
--extra-files, --jdbc_ca_file, read access to exactly that object); without them the job is refused.
Those statements are built from names too (resources with AWS-assigned ids are named by their
tags), so they join the job's one policy and the pack judges them at preview.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from lakehouse.model.config import JobSettings
from lakehouse.model.errors import Problems
from lakehouse.model.iam import JobGrant, glue_trust_policy, job_log_groups, job_role_policy
from lakehouse.model.names import AwsContext, JobNames
from lakehouse.model.packaging import script_key
from lakehouse.model.pipelines import GLUE_SCRIPTS_DIR, JobSpec, declared_write_tags
from lakehouse.model.platform import REAL_TIME_LOG_GROUPS, deployed_arguments, logs_in_real_time

TYPE = "glue-lakehouse:components:GlueJob"
FAILURE_STATES = ("FAILED", "TIMEOUT", "ERROR", "STOPPED")  # STOPPED: a run someone or something cut short
# Glue sends "Glue Job Run Status" when a run passes its notifyDelayAfter (notifyDelayMinutes)
DELAY_DETAIL_TYPE = "Glue Job Run Status"
# Logical-name suffixes of the job's log groups, in lakehouse.model.iam.job_log_groups order:
# Glue 4.0 (continuous logging) and Glue 5.0 (real-time logging, <prefix>/error and <prefix>/output).
LOG_GROUP_SUFFIXES = ("logs", "logs-secured", "logs-output", "logs-error")
REAL_TIME_LOG_GROUP_SUFFIXES = tuple(f"logs-{stream}" for stream in REAL_TIME_LOG_GROUPS)


def delay_event_pattern(job_name: str) -> dict:
    return {"source": ["aws.glue"], "detail-type": [DELAY_DETAIL_TYPE], "detail": {"jobName": [job_name]}}


def failure_event_pattern(job_name: str) -> dict:
    return {
        "source": ["aws.glue"],
        "detail-type": ["Glue Job State Change"],
        "detail": {"jobName": [job_name], "state": list(FAILURE_STATES)},
    }


@dataclass(frozen=True)
class GlueJobArgs:
    job: JobSpec
    settings: JobSettings
    names: JobNames
    aws: AwsContext
    buckets: Mapping[str, str]  # role -> bucket name (zones, scripts, temp, logs)
    databases: Mapping[str, str]  # lake zone -> Glue database
    kms_key_arn: pulumi.Input[str]
    security_configuration: str
    library_key: str  # in the scripts bucket (GlueLibrary)
    library_uri: str
    alerts_topic_arn: pulumi.Input[str]
    log_retention_days: int
    script_path: Optional[Path] = None  # default glue_scripts/<job.script>
    connections: Sequence[pulumi.Input[str]] = ()  # Glue connection names (jobs with connection: true)
    ca_bundle_key: Optional[str] = None  # the RDS CA bundle in the scripts bucket (CaBundle), with connections
    ca_bundle_uri: Optional[str] = None
    extra_statements: Sequence[dict] = ()  # IAM statements the connection needs (known at preview)
    protect: bool = False  # prod: log group deletion protection


def validate_job(args: GlueJobArgs) -> Path:
    p = Problems()
    path = args.script_path or GLUE_SCRIPTS_DIR / args.job.script
    if not path.is_file():
        p.add(f"{args.job.key}: script", str(path), "an existing Glue script file")
    if args.job.connection and not args.connections:
        p.add(f"{args.job.key}: connection", True, "a Glue connection from the program (GlueRdsConnection) "
              "for a job declaring connection: true")
    if not args.job.connection and args.connections:
        p.add(f"{args.job.key}: connections", list(args.connections), "none: the job does not declare connection: true")
    if args.connections and not (args.ca_bundle_key and args.ca_bundle_uri):
        p.add(f"{args.job.key}: ca_bundle", args.ca_bundle_uri, "the RDS CA bundle from the program (CaBundle) for a "
              "job on a connection: it verifies the database's certificate")
    if not args.connections and (args.ca_bundle_key or args.ca_bundle_uri):
        p.add(f"{args.job.key}: ca_bundle", args.ca_bundle_uri, "none: the job has no connection")
    p.raise_if_any()
    return path


def job_grant(args: GlueJobArgs, script: str) -> JobGrant:
    n = args.names
    return JobGrant(
        role_name=n.role,
        reads=args.job.reads,
        writes=args.job.writes,
        buckets=args.buckets,
        databases=args.databases,
        script_key=script,
        library_key=args.library_key,
        temp_prefix=n.temp_prefix,
        spark_ui_prefix=n.spark_ui_prefix if args.settings.spark_ui else None,
        log_groups=log_groups(args),
        key_alias=n.lake_key_alias,
        ca_bundle_key=args.ca_bundle_key if args.connections else None,
        metrics_namespace=n.metrics_namespace or None,
    )


def log_groups(args: GlueJobArgs) -> tuple[str, ...]:
    """The log groups the job's Glue version writes: the component creates them, the role may write them."""
    n = args.names
    return job_log_groups(n.log_group, args.security_configuration, n.role, args.settings.glue_version)


def role_policy_json(args: GlueJobArgs, script: str) -> str:
    """The job's policy: names only, known at preview."""
    return json.dumps(job_role_policy(args.aws, job_grant(args, script), *args.extra_statements))


class GlueJob(pulumi.ComponentResource):
    job: aws.glue.Job
    role: aws.iam.Role
    log_groups: list[aws.cloudwatch.LogGroup]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: GlueJobArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        path = validate_job(args)
        n, s, job = args.names, args.settings, args.job
        key = script_key(job.pipeline, job.script, path.read_bytes())
        self._role(name, args, key)
        self.script = aws.s3.BucketObjectv2(
            f"{name}-script", bucket=args.buckets["scripts"], key=key, source=pulumi.FileAsset(str(path)),
            content_type="text/x-python", server_side_encryption="aws:kms", kms_key_id=args.kms_key_arn,
            bucket_key_enabled=True, opts=pulumi.ResourceOptions(parent=self))
        self._log_groups(name, args)
        self.job = aws.glue.Job(
            name,
            name=n.job,
            description=job.description,
            role_arn=self.role.arn,
            glue_version=s.glue_version,
            command=aws.glue.JobCommandArgs(name="glueetl", python_version="3",
                                            script_location=f"s3://{args.buckets['scripts']}/{key}"),
            default_arguments=self._arguments(args),
            worker_type=s.worker_type,
            number_of_workers=s.number_of_workers,
            timeout=s.timeout_minutes,
            max_retries=s.max_retries,
            execution_class=s.execution_class,
            execution_property=aws.glue.JobExecutionPropertyArgs(max_concurrent_runs=s.max_concurrent_runs),
            notification_property=aws.glue.JobNotificationPropertyArgs(notify_delay_after=s.notify_delay_minutes),
            job_run_queuing_enabled=s.job_run_queuing,
            security_configuration=args.security_configuration,
            connections=list(args.connections) or None,
            # what it declares writing, for the policy pack to hold its role to (the stack's tags join them)
            tags=declared_write_tags(job),
            # runnable once its permissions, script and log groups exist
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.script, *self.log_groups]),
        )
        self._failure_alert(name, args)
        self.name = self.job.name
        self.register_outputs({"name": self.name, "roleArn": self.role.arn, "logGroup": self.log_group.name,
                               "scriptKey": key})

    @staticmethod
    def _arguments(args: GlueJobArgs) -> pulumi.Input[dict]:
        defaults = partial(deployed_arguments, args.job, args.settings, args.names, args.buckets, args.databases,
                           args.library_uri)
        if not args.connections:
            return defaults()
        return pulumi.Output.from_input(args.connections[0]).apply(
            lambda name: defaults(connection_name=name, ca_bundle_uri=args.ca_bundle_uri))

    def _role(self, name: str, args: GlueJobArgs, script: str) -> None:
        """The job's own role: Glue-only trust, one inline policy from what the job declares and uses."""
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(f"{name}-role", name=args.names.role, description=f"Glue job {args.names.job}",
                                 assume_role_policy=json.dumps(glue_trust_policy(args.aws)), opts=child)
        self.policy = aws.iam.RolePolicy(f"{name}-policy", role=self.role.id, policy=role_policy_json(args, script),
                                         opts=child)

    def _log_groups(self, name: str, args: GlueJobArgs) -> None:
        suffixes = (REAL_TIME_LOG_GROUP_SUFFIXES if logs_in_real_time(args.settings.glue_version)
                    else LOG_GROUP_SUFFIXES)
        self.log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-{suffix}", name=group, retention_in_days=args.log_retention_days,
                kms_key_id=args.kms_key_arn, deletion_protection_enabled=args.protect,
                opts=pulumi.ResourceOptions(parent=self))
            for suffix, group in zip(suffixes, log_groups(args), strict=True)
        ]
        # Glue 4.0: the continuous-logging group named in the arguments; Glue 5.0: <prefix>/error
        # (system, Spark and GlueLogger logs)
        self.log_group = self.log_groups[0]

    def _failure_alert(self, name: str, args: GlueJobArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        self.failure_rule = aws.cloudwatch.EventRule(
            f"{name}-failed", name=args.names.failure_rule,
            description=f"{args.names.job} ended {'/'.join(FAILURE_STATES)}",
            event_pattern=json.dumps(failure_event_pattern(args.names.job)), state="ENABLED", opts=child)
        aws.cloudwatch.EventTarget(f"{name}-failed", rule=self.failure_rule.name, arn=args.alerts_topic_arn,
                                   target_id="job-alerts", opts=child)
        self.delay_rule = aws.cloudwatch.EventRule(
            f"{name}-late", name=args.names.delay_rule,
            description=f"{args.names.job} still running {args.settings.notify_delay_minutes} minutes after it started",
            event_pattern=json.dumps(delay_event_pattern(args.names.job)), state="ENABLED", opts=child)
        aws.cloudwatch.EventTarget(f"{name}-late", rule=self.delay_rule.name, arn=args.alerts_topic_arn,
                                   target_id="job-alerts", opts=child)
