"""PipelineStateMachine: a pipeline run by a Step Functions state machine instead of a Glue workflow
(pipeline declaration `orchestrator: step_functions`).

- the definition comes from lakehouse.model.state_machine.definition (the crawler, then the DAG's
  waves of glue:startJobRun.sync tasks, Parallel states for fan-out, retries with backoff, a catch
  publishing to the alerts topic); built from names, so it is known at preview;
- type STANDARD (runs up to a year, exactly-once task starts: EXPRESS is for short, at-least-once work);
- logging to its own log group (/aws/vendedlogs/states/<name>), KMS-encrypted with the lake key, level
  ALL without execution data (inputs and outputs can carry data; the alert carries the input); X-Ray
  tracing on; the state machine's definition and execution history encrypted with the lake key;
- its own role (lakehouse.model.iam.state_machine_role_policy): exactly its jobs and crawler, the
  alerts topic, the key through Step Functions and SNS, log delivery and X-Ray as AWS requires;
- start: ON_DEMAND stacks start executions by hand (StartExecution); SCHEDULED stacks by an EventBridge
  schedule rule, EVENT stacks by a rule on raw-zone Object Created under the pipeline's raw prefixes;
  either through a role allowed states:StartExecution on this state machine only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from lakehouse.model.config import WorkflowSettings
from lakehouse.model.errors import Problems
from lakehouse.model.iam import (
    StateMachineGrant,
    eventbridge_trust_policy,
    start_state_machine_policy,
    state_machine_role_policy,
    states_trust_policy,
)
from lakehouse.model.names import AwsContext, OrchestrationNames
from lakehouse.model.pipelines import PipelineSpec
from lakehouse.model.state_machine import definition

from .glue_workflow import object_created_pattern, raw_prefixes

TYPE = "glue-lakehouse:components:PipelineStateMachine"
LOG_LEVEL = "ALL"
LOG_LEVELS = ("ALL", "ERROR")  # what the policy pack accepts: FATAL and OFF hide failed states
DATA_KEY_REUSE_SECONDS = 300  # how long Step Functions reuses a data key (60-900): fewer KMS calls


@dataclass(frozen=True)
class PipelineStateMachineArgs:
    pipeline: PipelineSpec
    names: OrchestrationNames
    aws: AwsContext
    job_names: Mapping[str, str]  # job name in the pipeline -> Glue job name (known: names.job(cfg, job).job)
    alerts_topic_arn: str  # by name (known at preview)
    kms_key_arn: pulumi.Input[str]
    key_alias: str
    log_retention_days: int
    settings: WorkflowSettings  # start mode and schedule, as a Glue workflow's
    tags: Mapping[str, str]
    crawler_name: Optional[str] = None  # the pipeline's crawler (GlueCrawler), run first
    raw_bucket: Optional[str] = None  # EVENT mode: bucket whose objects start executions
    log_level: str = LOG_LEVEL
    protect: bool = False  # prod: log group deletion protection


def validate_state_machine(args: PipelineStateMachineArgs) -> dict:
    """Check the inputs before any resource exists; return the definition."""
    p = Problems()
    where = f"PipelineStateMachine {args.names.state_machine}"
    if args.pipeline.orchestrator != "step_functions":
        p.add(f"{args.pipeline.source}: orchestrator", args.pipeline.orchestrator,
              "step_functions for a pipeline run by a state machine")
    if args.log_level not in LOG_LEVELS:
        p.add(f"{where}: log_level", args.log_level, " | ".join(LOG_LEVELS))
    if args.settings.start_mode == "EVENT" and not args.raw_bucket:
        p.add(f"{where}: raw_bucket", args.raw_bucket, "the raw bucket when workflowStartMode is EVENT")
    missing = sorted(j.name for j in args.pipeline.jobs if j.name not in args.job_names)
    if missing:
        p.add(f"{where}: job_names", sorted(args.job_names), f"a Glue job name for every job, missing {missing}")
    if (args.pipeline.crawler is None) != (args.crawler_name is None):
        p.add(f"{where}: crawler_name", args.crawler_name,
              f"the crawler's name exactly when the pipeline declares a crawler "
              f"(declared: {args.pipeline.crawler is not None})")
    p.raise_if_any()
    return definition(args.pipeline, args.job_names, args.alerts_topic_arn, args.crawler_name)


def grant(args: PipelineStateMachineArgs) -> StateMachineGrant:
    return StateMachineGrant(state_machine=args.names.state_machine,
                             jobs=tuple(args.job_names[j.name] for j in args.pipeline.jobs),
                             crawler=args.crawler_name, alerts_topic_arn=args.alerts_topic_arn,
                             key_alias=args.key_alias)


class PipelineStateMachine(pulumi.ComponentResource):
    state_machine: aws.sfn.StateMachine
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: PipelineStateMachineArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        document = validate_state_machine(args)
        n, ctx = args.names, args.aws
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.role = aws.iam.Role(
            f"{name}-role", name=n.state_machine_role, description=f"Step Functions state machine {n.state_machine}",
            assume_role_policy=json.dumps(states_trust_policy(ctx, n.state_machine)), tags=tags, opts=child)
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=json.dumps(state_machine_role_policy(ctx, grant(args))),
            opts=child)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=n.state_machine_log_group, retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn, deletion_protection_enabled=args.protect, tags=tags, opts=child)
        self.state_machine = aws.sfn.StateMachine(
            name,
            name=n.state_machine,
            type="STANDARD",
            role_arn=self.role.arn,
            definition=json.dumps(document),
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                # Step Functions wants the group's ARN with ':*'; from its name, known at preview
                log_destination=ctx.arn("logs", f"log-group:{n.state_machine_log_group}:*"),
                level=args.log_level, include_execution_data=False),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=True),
            encryption_configuration=aws.sfn.StateMachineEncryptionConfigurationArgs(
                type="CUSTOMER_MANAGED_KMS_KEY", kms_key_id=args.kms_key_arn,
                kms_data_key_reuse_period_seconds=DATA_KEY_REUSE_SECONDS),
            tags=tags,
            # runnable once its permissions and log group exist
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.log_group]),
        )
        self.start_rule: Optional[aws.cloudwatch.EventRule] = None
        self.start_role: Optional[aws.iam.Role] = None
        if args.settings.start_mode in ("SCHEDULED", "EVENT"):
            self._start(name, args, tags)
        self.name = self.state_machine.name
        self.arn = self.state_machine.arn
        self.register_outputs({"name": self.name, "arn": self.arn, "roleArn": self.role.arn,
                               "logGroup": self.log_group.name})

    def _start(self, name: str, args: PipelineStateMachineArgs, tags: dict) -> None:
        """An EventBridge rule (schedule, or raw-zone Object Created) starting this state machine through a
        role allowed states:StartExecution on it only."""
        n, ctx, s = args.names, args.aws, args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.start_role = aws.iam.Role(
            f"{name}-start", name=n.start_role, description=f"EventBridge starts state machine {n.state_machine}",
            assume_role_policy=json.dumps(eventbridge_trust_policy(ctx.account_id, ctx.dns_suffix)), tags=tags,
            opts=child)
        start_policy = aws.iam.RolePolicy(
            f"{name}-start", role=self.start_role.id,
            policy=json.dumps(start_state_machine_policy(ctx, n.state_machine, args.key_alias)), opts=child)
        if s.start_mode == "SCHEDULED":
            rule_args: dict = {"schedule_expression": s.schedule,
                               "description": f"Starts {n.state_machine} on {s.schedule}"}
        else:
            prefixes = raw_prefixes(args.pipeline)
            rule_args = {"event_pattern": json.dumps(object_created_pattern(str(args.raw_bucket), prefixes)),
                         "description": f"Objects created in the raw zone under {list(prefixes) or 'any key'} "
                                        f"start {n.state_machine}"}
        self.start_rule = aws.cloudwatch.EventRule(f"{name}-start", name=n.schedule_rule, state="ENABLED",
                                                   tags=tags, opts=child, **rule_args)
        aws.cloudwatch.EventTarget(
            f"{name}-start", rule=self.start_rule.name, target_id="state-machine", arn=self.state_machine.arn,
            role_arn=self.start_role.arn, opts=pulumi.ResourceOptions(parent=self, depends_on=[start_policy]))
