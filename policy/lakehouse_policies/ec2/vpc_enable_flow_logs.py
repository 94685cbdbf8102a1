"""Every VPC of the stack has a flow log (`FlowLog` whose `vpcId` names it) recording `trafficType` ALL into a
CloudWatch log group of the stack (`logDestinationType` cloud-watch-logs, `logDestination` the group's ARN),
delivered through a role (`iamRoleArn`). That the group is encrypted with a customer key and expires its
logs is judged, as for every log group, by aws-cloudwatch-log-group-enable-kms and -configure-retention.

Flow logs are the one record of who talked to what inside the VPC (the database, the endpoints,
the Glue ENIs): without them an incident cannot be traced. Resources are correlated by property
dependencies first (ids are unknown at preview), then by ids, ARNs and names; a destination not
known yet is not judged.
"""

from __future__ import annotations

from typing import Any, Optional

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, stack_policy
from .._stack import StackIndex, get, is_set, is_unknown

CLOUDWATCH = "cloud-watch-logs"
EXPECTED = "expected a FlowLog with trafficType ALL into a CloudWatch log group of the stack, through an iamRoleArn"


def _log_group(s: StackIndex, flow: Any) -> tuple[Optional[Any], str]:
    """(the stack's log group the flow log delivers to, else None; the destination as written)."""
    for ref in s.refs(flow, "logDestination", {T.LOG_GROUP}):
        if ref in s.by_urn:
            return s.by_urn[ref], s.by_urn[ref].name
        name = ref.split(":log-group:", 1)[1] if ":log-group:" in ref else ref
        name = name[:-2] if name.endswith(":*") else name
        for group in s.of(T.LOG_GROUP):
            if get(group.props, "name") == name:
                return group, group.name
        return None, ref
    return None, ""


def _problem(s: StackIndex, flow: Any) -> Optional[str]:
    """None when the flow log is what the policy expects (or not known yet), else what is wrong."""
    traffic = get(flow.props, "trafficType")
    if traffic != "ALL" and not is_unknown(flow, "trafficType"):
        return f"flow log '{flow.name}' records {traffic or 'no'} traffic only"
    kind = get(flow.props, "logDestinationType") or CLOUDWATCH
    if kind != CLOUDWATCH:
        return f"flow log '{flow.name}' delivers to {kind}, not a CloudWatch log group"
    if is_unknown(flow, "logDestination") and not (flow.property_dependencies or {}).get("logDestination"):
        return None
    group, written = _log_group(s, flow)
    if group is None:
        return (f"flow log '{flow.name}' delivers to {written!r}, not a log group of this stack" if written
                else f"flow log '{flow.name}' names no logDestination")
    if not is_set(flow, "iamRoleArn"):
        return f"flow log '{flow.name}' has no iamRoleArn to deliver to CloudWatch Logs with"
    return None


def _check_flow_logs(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    flows = s.of(T.EC2_FLOW_LOG)
    for vpc in s.of(T.EC2_VPC):
        mine = [f for f in flows if s.points_at(f, "vpcId", vpc)]
        if not mine:
            report(f"VPC '{vpc.name}' has no flow log; {EXPECTED}", vpc.urn)
            continue
        problems = [(f, _problem(s, f)) for f in mine]
        if all(p for _, p in problems):
            flow, problem = problems[0]
            report(f"VPC '{vpc.name}': {problem}; {EXPECTED}", flow.urn)


POLICY = stack_policy(
    name="aws-ec2-vpc-enable-flow-logs",
    description="Every VPC of the stack logs all its traffic to an encrypted CloudWatch log group with retention.",
    severity=Severity.MEDIUM,
    remediation="Add an aws.ec2.FlowLog per VPC with traffic_type='ALL', log_destination=<an aws.cloudwatch.LogGroup "
                "with kms_key_id and retention_in_days>.arn and iam_role_arn=<a role trusted by "
                "vpc-flow-logs.amazonaws.com> (GlueRdsConnection does for the VPC it creates).",
    check=_check_flow_logs,
    frameworks=("AWS FSBP EC2.6",),
    tags=["logging", "network", "ec2"],
)
