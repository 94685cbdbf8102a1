"""Every VPC of the stack has its default security group adopted (`DefaultSecurityGroup` whose `vpcId` names
it) with no `ingress` and no `egress` rules, and no rule resource (`SecurityGroupRule`,
`SecurityGroupIngressRule`, `SecurityGroupEgressRule`) adds one to it.

AWS gives every new VPC a default group admitting all traffic from its members and allowing all
egress; whatever is launched without a group lands in it. Adopted with no rules, nothing can use it
by accident.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, stack_policy
from .._stack import StackIndex, get, items

RULE_TYPES = (T.EC2_SECURITY_GROUP_RULE, T.VPC_SECURITY_GROUP_INGRESS_RULE, T.VPC_SECURITY_GROUP_EGRESS_RULE)
EXPECTED = "expected an aws.ec2.DefaultSecurityGroup with no ingress and no egress rules"


def _check_default_group(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    defaults = s.of(T.EC2_DEFAULT_SECURITY_GROUP)
    for vpc in s.of(T.EC2_VPC):
        if not any(s.points_at(g, "vpcId", vpc) for g in defaults):
            report(f"VPC '{vpc.name}' leaves its default security group as AWS creates it (all traffic among its "
                   f"members, all egress); {EXPECTED}", vpc.urn)
    for group in defaults:
        for direction in ("ingress", "egress"):
            count = len(items(get(group.props, direction)))
            if count:
                report(f"default security group '{group.name}' has {count} {direction} rule"
                       f"{'s' if count > 1 else ''}; {EXPECTED}", group.urn)
        for rule in s.of(*RULE_TYPES):
            if s.points_at(rule, "securityGroupId", group):
                report(f"{rule.resource_type.rsplit(':', 1)[1]} '{rule.name}' adds a rule to default security group "
                       f"'{group.name}'; {EXPECTED}", rule.urn)


POLICY = stack_policy(
    name="aws-ec2-vpc-default-security-group-restrict-all",
    description="Every VPC's default security group is adopted by the stack with no rules at all.",
    severity=Severity.HIGH,
    remediation="Add aws.ec2.DefaultSecurityGroup(vpc_id=<the VPC>) without ingress or egress (GlueRdsConnection "
                "does) and put workloads in their own security groups.",
    check=_check_default_group,
    frameworks=("AWS FSBP EC2.2",),
    tags=["exposure", "network", "ec2"],
)
