"""Every EventBridge target that EventBridge can invoke only through an IAM role names one in `roleArn`: a
Glue workflow, a Step Functions state machine, a Kinesis or Firehose stream, an ECS cluster (task), a
CodeBuild project, a CodePipeline pipeline or a Batch job queue, known by its ARN or, while the ARN is
unknown, by the resource its `arn` depends on.

Without the role the rule fires and every invocation fails (FailedInvocations), silently: a Glue
workflow with an EVENT trigger would never start. Targets with resource-based policies (SNS, SQS,
Lambda, CloudWatch Logs) need none. A target whose ARN is not known yet and depends on nothing is
not judged.
"""

from __future__ import annotations

from typing import Any, Optional

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, stack_policy
from .._stack import StackIndex, get, is_set

# the target's kind by resource type, and by (service, resource type prefix) of its ARN
ROLE_TARGET_TYPES = {
    T.GLUE_WORKFLOW: "a Glue workflow",
    T.SFN_STATE_MACHINE: "a Step Functions state machine",
    T.KINESIS_STREAM: "a Kinesis stream",
    T.FIREHOSE_DELIVERY_STREAM: "a Firehose stream",
    T.ECS_CLUSTER: "an ECS cluster",
    T.CODEBUILD_PROJECT: "a CodeBuild project",
    T.CODEPIPELINE: "a CodePipeline pipeline",
    T.BATCH_JOB_QUEUE: "a Batch job queue",
}
ROLE_TARGET_ARNS = {
    ("glue", "workflow/"): "a Glue workflow",
    ("states", "stateMachine:"): "a Step Functions state machine",
    ("kinesis", "stream/"): "a Kinesis stream",
    ("firehose", "deliverystream/"): "a Firehose stream",
    ("ecs", "cluster/"): "an ECS cluster",
    ("codebuild", "project/"): "a CodeBuild project",
    ("codepipeline", ""): "a CodePipeline pipeline",
    ("batch", "job-queue/"): "a Batch job queue",
}


def _needs_role(s: StackIndex, target: Any) -> Optional[str]:
    """What kind of role-only target the target invokes, or None."""
    for dep in (target.property_dependencies or {}).get("arn") or []:
        if dep.resource_type in ROLE_TARGET_TYPES:
            return ROLE_TARGET_TYPES[dep.resource_type]
    arn = get(target.props, "arn")
    if isinstance(arn, str):
        for urn in s.by_value.get(arn, ()):
            if s.by_urn[urn].resource_type in ROLE_TARGET_TYPES:
                return ROLE_TARGET_TYPES[s.by_urn[urn].resource_type]
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[0] == "arn":
            for (service, prefix), kind in ROLE_TARGET_ARNS.items():
                if parts[2] == service and parts[5].startswith(prefix):
                    return kind
    return None


def _check_target_roles(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    for target in s.of(T.EVENT_TARGET):
        kind = _needs_role(s, target)
        if kind and not is_set(target, "roleArn"):
            rule = get(target.props, "rule")
            of_rule = f" of rule '{rule}'" if isinstance(rule, str) and rule else ""
            report(f"event target '{target.name}'{of_rule} invokes {kind} without a role; expected roleArn naming a "
                   "role that events.amazonaws.com assumes, allowed to invoke that target only", target.urn)


POLICY = stack_policy(
    name="aws-eventbridge-target-require-role",
    description="EventBridge targets that can only be invoked through a role (a Glue workflow among them) name one.",
    severity=Severity.MEDIUM,
    remediation="Pass role_arn to the aws.cloudwatch.EventTarget: a role trusting events.amazonaws.com (with "
                "aws:SourceAccount) allowed the one action on the one target, as GlueWorkflow's EVENT start does "
                "(glue:notifyEvent on its workflow).",
    check=_check_target_roles,
    frameworks=(),
    tags=["operations", "eventbridge"],
)
