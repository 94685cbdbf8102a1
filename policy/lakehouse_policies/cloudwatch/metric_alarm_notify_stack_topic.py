"""Every CloudWatch metric alarm notifies an SNS topic of the stack, when it fires and when it recovers:
`actionsEnabled` not false, `alarmActions` and `okActions` each naming a topic the stack creates (by
property dependency while its ARN is unknown, else by ARN).

An alarm without actions only changes colour on a dashboard nobody watches; one pointing at a topic of
another stack (or a typo) alerts nobody who owns it. The stack's topic is KMS-encrypted and its policy
admits the stack's alarms (aws-sns-topic-enable-kms, the topic policy's CloudWatch statement).
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from .. import types as T
from .._common import Settings, stack_policy
from .._stack import StackIndex, get

ACTIONS = {"alarmActions": "when it fires", "okActions": "when it recovers"}


def _check(args: StackValidationArgs, report: ReportViolation, _: Settings) -> None:
    s = StackIndex(args.resources)
    topics = {t.urn for t in s.of(T.SNS_TOPIC)}
    for alarm in s.of(T.METRIC_ALARM):
        name = s.name_of(alarm, "name")
        if get(alarm.props, "actionsEnabled") is False:
            report(f"alarm '{name}' has its actions disabled (actionsEnabled: false); expected actionsEnabled "
                   "true so that it notifies the stack's alerts topic", alarm.urn)
            continue
        for prop, when in ACTIONS.items():
            named = s.refs(alarm, prop, {T.SNS_TOPIC})
            if not named & topics:
                shown = sorted(named) or "nothing"
                report(f"alarm '{name}' notifies {shown} {when} ({prop}); expected an SNS topic of this stack "
                       "(the alerts topic)", alarm.urn)


POLICY = stack_policy(
    name="aws-cloudwatch-metric-alarm-notify-stack-topic",
    description="CloudWatch metric alarms notify an SNS topic of the stack when they fire and when they recover.",
    severity=Severity.MEDIUM,
    remediation="Pass alarm_actions=[alerts.topic_arn] and ok_actions=[alerts.topic_arn] (LakeMonitoring does) and "
                "leave actions_enabled true.",
    check=_check,
    frameworks=(),
    tags=["monitoring", "alerting"],
)
