"""GlueWorkflow: one Glue workflow per pipeline, its triggers built from the pipeline's job DAG.

The trigger shape comes from `lakehouse.model.workflow_plan.trigger_plan` (shared with the ops
tool): a start trigger, then one CONDITIONAL trigger per distinct set of upstream jobs that
fires when all of them SUCCEEDED (explicit AND); with a crawler, the start trigger starts the
crawler and an `after-crawler` trigger starts the root jobs on its crawl SUCCEEDED. Known traps handled here:
- `logical` is always set, also for one condition (aws-cdk#34652);
- no job is both predicate and action of one trigger (terraform-provider-aws#39571);
- triggers of one workflow are created one after another (explicit depends_on), because
  Glue rejects concurrent changes to a workflow ("workflow was modified");
- an ON_DEMAND start trigger is created with enabled=False: the provider calls StartTrigger
  on create when enabled (terraform-provider-aws#38222), which would run the pipeline; an
  EVENT start trigger too, since Glue refuses to start or stop one (#49407); SCHEDULED and
  CONDITIONAL triggers are created activated (start_on_creation).

Start modes: ON_DEMAND, SCHEDULED (cron) and EVENT (S3 Object Created in the raw zone via
EventBridge, batched). Failure alerts: EventBridge has no Glue *workflow* run events (only
job, crawler and catalog events), so the per-job failure rules of GlueJob cover every job a
workflow runs; this component adds no alert rule of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from lakehouse.model.config import WorkflowSettings
from lakehouse.model.iam import eventbridge_trust_policy, notify_workflow_policy
from lakehouse.model.names import IAM_ROLE_NAME_MAX, AwsContext
from lakehouse.model.pipelines import PipelineSpec, dag_problems
from lakehouse.model.workflow_plan import TriggerPlan, trigger_plan

TYPE = "glue-lakehouse:components:GlueWorkflow"
GLUE_NAME_MAX = 255


@dataclass(frozen=True)
class GlueWorkflowArgs:
    pipeline: PipelineSpec
    workflow_name: str  # physical name, cfg.resource_name(pipeline.name)
    job_names: Mapping[str, pulumi.Input[str]]  # job name in the pipeline -> Glue job name
    settings: WorkflowSettings
    tags: Mapping[str, str]
    account_id: pulumi.Input[str] = ""  # EVENT mode: aws:SourceAccount of the EventBridge role
    raw_bucket: Optional[pulumi.Input[str]] = None  # EVENT mode: bucket whose objects start runs
    run_properties: Mapping[str, str] = field(default_factory=dict)  # extra default run properties
    description: str = ""
    dns_suffix: str = AwsContext.dns_suffix  # the partition's: the EventBridge service principal
    crawler_name: Optional[pulumi.Input[str]] = None  # the pipeline's crawler (GlueCrawler): started first


def validate_workflow(args: GlueWorkflowArgs) -> tuple[TriggerPlan, ...]:
    """Check the DAG and the inputs before any resource exists; return the trigger plan."""
    p = args.pipeline
    problems = dag_problems(p.name, p.jobs, p.source)
    problems.raise_if_any()  # a broken DAG makes the rest meaningless
    missing = sorted(j.name for j in p.jobs if j.name not in args.job_names)
    if missing:
        problems.add(f"GlueWorkflow {args.workflow_name}: job_names", sorted(args.job_names),
                     f"a Glue job name for every job of pipeline {p.name!r}, missing {missing}")
    mode = args.settings.start_mode  # one of config.START_MODES: validated with the stack config
    if mode == "EVENT" and (args.raw_bucket is None or not args.account_id):
        problems.add(f"GlueWorkflow {args.workflow_name}: raw_bucket/account_id", args.raw_bucket,
                     "the raw bucket and the account id when workflowStartMode is EVENT")
    if (p.crawler is None) != (args.crawler_name is None):
        problems.add(f"GlueWorkflow {args.workflow_name}: crawler_name", args.crawler_name,
                     f"the crawler's name exactly when pipeline {p.name!r} declares a crawler "
                     f"(declared: {p.crawler is not None})")
    plans = trigger_plan(p)
    suffixes = [plan.suffix for plan in plans]
    for dup in sorted({x for x in suffixes if suffixes.count(x) > 1}):
        problems.add(f"{p.source}: trigger {dup}", dup, "trigger names used once per workflow (rename the job)")
    for plan in plans:
        name = f"{args.workflow_name}-{plan.suffix}"
        if len(name) > GLUE_NAME_MAX:
            problems.add(f"{p.source}: trigger name", name, f"at most {GLUE_NAME_MAX} characters (shorten job names)")
        both = sorted(set(plan.actions) & set(plan.conditions))
        if both:
            problems.add(f"{p.source}: trigger {plan.suffix}", both, "no job both waited on and started by one trigger")
    if mode == "EVENT" and len(f"{args.workflow_name}-events") > IAM_ROLE_NAME_MAX:
        problems.add("glue-lakehouse:namePrefix", args.workflow_name,
                     f"a shorter prefix: the EventBridge role name must fit {IAM_ROLE_NAME_MAX} characters")
    problems.raise_if_any()
    return plans


def raw_prefixes(pipeline: PipelineSpec) -> tuple[str, ...]:
    """Raw-zone prefixes the pipeline reads: new objects there start an EVENT workflow."""
    return tuple(sorted({pre for j in pipeline.jobs for a in j.reads if a.zone == "raw" for pre in a.prefixes}))


def object_created_pattern(bucket: str, prefixes: Sequence[str]) -> dict:
    """EventBridge pattern: S3 Object Created in `bucket`, under one of `prefixes` (all keys if none)."""
    detail: dict = {"bucket": {"name": [bucket]}}
    if prefixes:
        detail["object"] = {"key": [{"prefix": p} for p in prefixes]}
    return {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail}


def start_trigger_args(settings: WorkflowSettings) -> dict:
    """Type and start options of the start trigger for a start mode."""
    if settings.start_mode == "ON_DEMAND":
        # enabled=True would make the provider call StartTrigger on create and run the pipeline.
        return {"type": "ON_DEMAND", "enabled": False, "start_on_creation": False}
    if settings.start_mode == "SCHEDULED":
        return {"type": "SCHEDULED", "schedule": settings.schedule, "enabled": True, "start_on_creation": True}
    # EVENT triggers stay in state CREATED for life (EventBridge invokes them); Glue refuses
    # StartTrigger and StopTrigger on them, so enabled=False keeps the provider from ever calling
    # either (terraform-provider-aws#49407).
    return {
        "type": "EVENT",
        "enabled": False,
        "event_batching_conditions": [{
            "batch_size": settings.event_batch_size,
            "batch_window": settings.event_batch_window_seconds,
        }],
    }


def enable_raw_eventbridge(name: str, raw_bucket: pulumi.Input[str],
                           opts: Optional[pulumi.ResourceOptions] = None) -> aws.s3.BucketNotification:
    """Turn on EventBridge delivery for the raw bucket (once per stack, for EVENT workflows).

    A bucket has a single notification configuration, so this is created once by the program,
    not by each workflow.
    """
    return aws.s3.BucketNotification(name, bucket=raw_bucket, eventbridge=True, opts=opts)


class GlueWorkflow(pulumi.ComponentResource):
    """A Glue workflow running one pipeline's jobs in DAG order, started on demand, by schedule or by S3 events."""

    workflow: aws.glue.Workflow
    triggers: list[aws.glue.Trigger]
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    trigger_names: list[str]

    def __init__(self, name: str, args: GlueWorkflowArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        plans = validate_workflow(args)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        s = args.settings

        self.workflow = aws.glue.Workflow(
            name,
            name=args.workflow_name,
            description=args.description or args.pipeline.description,
            max_concurrent_runs=s.max_concurrent_runs,
            default_run_properties={"pipeline": args.pipeline.name, **args.run_properties},
            tags=tags,
            opts=child,
        )

        self.triggers = []
        self.trigger_names = []
        previous: Optional[aws.glue.Trigger] = None
        for plan in plans:
            trigger_name = f"{args.workflow_name}-{plan.suffix}"
            if plan.kind == "START":
                kind_args = start_trigger_args(s)
            else:
                crawled = ([{"crawler_name": args.crawler_name, "crawl_state": "SUCCEEDED",
                             "logical_operator": "EQUALS"}] if plan.after_crawler else [])
                kind_args = {
                    "type": "CONDITIONAL",
                    "enabled": True,
                    "start_on_creation": True,  # activates the trigger; it fires only on its predicate
                    "predicate": {
                        "logical": "AND",
                        "conditions": crawled + [
                            {"job_name": args.job_names[j], "state": "SUCCEEDED", "logical_operator": "EQUALS"}
                            for j in plan.conditions
                        ],
                    },
                }
            trigger = aws.glue.Trigger(
                f"{name}-{plan.suffix}",
                name=trigger_name,
                workflow_name=self.workflow.name,
                actions=([{"crawler_name": args.crawler_name}] if plan.starts_crawler else [])
                + [{"job_name": args.job_names[j]} for j in plan.actions],
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous] if previous else []),
                **kind_args,
            )
            self.triggers.append(trigger)
            self.trigger_names.append(trigger_name)
            previous = trigger

        self.events_rule: Optional[aws.cloudwatch.EventRule] = None
        self.events_role: Optional[aws.iam.Role] = None
        if s.start_mode == "EVENT":
            self._event_start(name, args, tags)

        self.name = self.workflow.name
        self.arn = self.workflow.arn
        self.register_outputs({
            "name": self.workflow.name,
            "arn": self.workflow.arn,
            "triggerNames": self.trigger_names,
        })

    def _event_start(self, name: str, args: GlueWorkflowArgs, tags: dict) -> None:
        """EventBridge rule on raw-zone Object Created -> this workflow, through a role allowed
        notifyEvent on it only."""
        child = pulumi.ResourceOptions(parent=self)
        prefixes = raw_prefixes(args.pipeline)
        self.events_role = aws.iam.Role(
            f"{name}-events",
            name=f"{args.workflow_name}-events",
            description=f"EventBridge starts Glue workflow {args.workflow_name} on raw-zone objects",
            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: json.dumps(eventbridge_trust_policy(account, args.dns_suffix))),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-events-notify",
            role=self.events_role.id,
            policy=self.workflow.arn.apply(lambda arn: json.dumps(notify_workflow_policy(arn))),
            opts=child,
        )
        self.events_rule = aws.cloudwatch.EventRule(
            f"{name}-raw-created",
            name=f"{args.workflow_name}-raw-created",
            description=(f"Objects created in the raw zone under {list(prefixes) or 'any key'} "
                         f"start {args.workflow_name}"),
            event_pattern=pulumi.Output.from_input(args.raw_bucket).apply(
                lambda bucket: json.dumps(object_created_pattern(bucket, prefixes))),
            tags=tags,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-raw-created",
            rule=self.events_rule.name,
            target_id="glue-workflow",
            arn=self.workflow.arn,
            role_arn=self.events_role.arn,
            opts=child,
        )
